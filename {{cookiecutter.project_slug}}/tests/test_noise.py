"""The noise-aware gate: per-row outcomes, paired verdicts, slices and an owned override."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.commands.report import override_of
from {{ cookiecutter.package_name }}.core.gates import MetricRule, RuleChange
from {{ cookiecutter.package_name }}.core.noise import Override, measure
from {{ cookiecutter.package_name }}.core.outcomes import (
    Outcomes,
    from_frame,
    row_keys,
    to_frame,
    unpaired_reason,
)
from {{ cookiecutter.package_name }}.core.paired import Predictions, Rows
from {{ cookiecutter.package_name }}.core.report import Inputs, Snapshot, render, verdict
from {{ cookiecutter.package_name }}.errors import ParamsError
from {{ cookiecutter.package_name }}.io import read_outcomes, write_outcomes
from {{ cookiecutter.package_name }}.params import load_params

ROWS = 114  # the default data set's test rows: one row is 0.0088 of accuracy


def outcomes(correct: np.ndarray, seed: int = 0) -> Outcomes:
    """A binary classifier's outcomes: right on the rows where `correct` is true."""
    rng = np.random.default_rng(seed)
    truth = np.arange(len(correct)) % 2
    predicted = np.where(correct, truth, 1 - truth)
    confidence = rng.uniform(0.6, 0.99, len(correct))
    positive = np.where(predicted == 1, confidence, 1 - confidence)
    keys = np.array([f"{i:016x}" for i in range(len(correct))], dtype=object)
    rows = Rows("classification", truth, (0, 1), 1)
    return Outcomes(keys, rows, Predictions(predicted, np.column_stack([1 - positive, positive])))


def main_and(branch_wrong: list[int], main_wrong=range(5, 10)):
    correct = np.ones(ROWS, bool)
    correct[list(main_wrong)] = False
    base = outcomes(correct)
    mine = correct.copy()
    mine[branch_wrong] = False
    return base, outcomes(mine, seed=1)


def inputs_for(base: Outcomes, branch: Outcomes, rule: MetricRule, **extra) -> Inputs:
    noise = measure(branch, base, **extra)
    difference = noise.differences["accuracy"]
    return Inputs(
        baseline=Snapshot("main", "a" * 40, {"accuracy": difference.baseline}, {}),
        branch=Snapshot("branch", "b" * 40, {"accuracy": difference.candidate}, {}),
        rules={"accuracy": rule},
        data_path="data/raw/data.parquet",
        noise=noise,
    )


TOLERANT = MetricRule("higher", abs_tolerance=0.01)


def test_outcomes_survive_the_parquet_file_and_keys_follow_the_features(tmp_path):
    original = outcomes(np.arange(ROWS) % 7 != 0)
    write_outcomes(*to_frame(original), tmp_path / "outcomes.parquet")
    back = from_frame(*read_outcomes(tmp_path / "outcomes.parquet"))
    assert list(back.keys) == list(original.keys)
    assert np.array_equal(back.predictions.probabilities, original.predictions.probabilities)
    assert np.array_equal(back.rows.truth, original.rows.truth)
    assert (back.rows.task, back.rows.classes, back.rows.positive) == ("classification", (0, 1), 1)
    assert unpaired_reason(original, back) is None
    assert read_outcomes(tmp_path / "absent.parquet") is None

    features = pd.DataFrame({"b": [1.0, 2.0, 3.0], "a": ["x", "y", "x"]})
    keys = row_keys(features)
    assert list(keys) == list(row_keys(features[["a", "b"]]))  # column order does not matter
    assert list(row_keys(features.iloc[::-1])) == list(keys[::-1])
    assert len(set(keys)) == 3
    shuffled = Outcomes(original.keys[::-1], original.rows, original.predictions)
    assert (
        unpaired_reason(original, shuffled)
        == "they were scored on other rows (the row keys differ)"
    )


def test_a_no_op_change_is_within_noise_where_the_point_rule_fails():
    # Two more rows wrong: accuracy -0.0175, beyond the 0.01 tolerance on all rows.
    base, branch = main_and([20, 21])
    passed, line = verdict(inputs_for(base, branch, TOLERANT))
    assert passed, line
    markdown = render(inputs_for(base, branch, TOLERANT))
    assert "| accuracy |" in markdown and "🟡 within noise" in markdown
    assert "### Noise: 95% intervals" in markdown and "same 114 test rows" in markdown

    strict = MetricRule("higher", abs_tolerance=0.01, decide="point")
    passed, line = verdict(inputs_for(base, branch, strict))
    assert not passed
    assert line.startswith("## ❌ Quality gate failed: `accuracy` regressed")


def test_a_planted_regression_is_judged_regressed():
    base, branch = main_and(list(range(20, 45)))  # 25 more rows wrong: -0.22
    inputs = inputs_for(base, branch, TOLERANT)
    difference = inputs.noise.differences["accuracy"]
    assert difference.delta.high < -0.01
    passed, line = verdict(inputs)
    assert not passed
    assert "`accuracy` regressed" in line
    assert "🔴 regressed" in render(inputs)


def test_a_slice_below_slice_min_fails_the_gate_and_a_small_one_is_only_shown():
    # The branch is wrong on most rows of region "north"; "east" is tiny and all wrong.
    region = np.array(["north"] * 40 + ["south"] * 70 + ["east"] * 4, dtype=object)
    base, branch = main_and([*range(30), 110, 111, 112, 113], main_wrong=[])
    rule = MetricRule("higher", abs_tolerance=1.0, slice_min=0.5)
    inputs = inputs_for(base, branch, rule, columns={"region": region}, min_slice_rows=30)
    passed, line = verdict(inputs)
    assert not passed
    assert line.startswith("## ❌ Quality gate failed: 1 slice below `slice_min`")
    assert "`accuracy` on `region = north`" in line
    markdown = render(inputs)
    table = markdown.split("### Slices", 1)[1]
    rows = [row for row in table.splitlines() if row.startswith("| `region`")]
    assert [row.split("|")[2].strip() for row in rows] == ["east", "north", "south"]
    assert "4 (too few)" in rows[0] and "❌" not in rows[0]
    assert "❌" in rows[1]


def test_an_override_passes_a_failing_gate_and_is_recorded():
    base, branch = main_and(list(range(20, 45)))
    failing = inputs_for(base, branch, TOLERANT)
    held = Override("accept-regression", "alice")
    inputs = replace(failing, override=held)
    passed, line = verdict(inputs)
    assert passed
    assert line.startswith("## ✅ Quality gate overridden by @alice (`accept-regression`): ")
    assert "`accuracy` regressed" in line
    markdown = render(inputs)
    assert "Gate overridden: @alice applied the label `accept-regression`" in markdown

    unread = Override("accept-regression", None, "GITHUB_TOKEN is not set")
    passed, _ = verdict(replace(failing, override=unread))
    assert not passed
    # Numbers CI could not back are never overridden.
    forged = replace(failing, override=held, in_ci=True, committed_lock=True)
    assert not verdict(forged)[0]


def test_without_main_s_outcomes_the_branch_s_own_intervals_are_shown():
    _, branch = main_and([20, 21])
    noise = measure(branch, None, unpaired="`main` has no per-row outcomes")
    assert not noise.differences
    interval = noise.own["accuracy"]
    assert interval.low < interval.point < interval.high
    inputs = Inputs(
        baseline=Snapshot("main", "a" * 40, {"accuracy": 0.99}, {}),
        branch=Snapshot("branch", "b" * 40, {"accuracy": interval.point}, {}),
        rules={"accuracy": TOLERANT},
        data_path="data/raw/data.parquet",
        noise=noise,
    )
    markdown = render(inputs)
    assert "Not paired with `main`: `main` has no per-row outcomes" in markdown
    assert "🔴 regressed" in markdown  # the tolerance on the point judges without a pairing


class Events(BaseHTTPRequestHandler):
    """GitHub's issue events of pull request 7: a label applied, removed, applied again."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        assert self.path.startswith("/repos/octo/model/issues/7/events")
        assert self.headers["Authorization"] == "Bearer t0ken"
        events = [
            {"event": kind, "label": {"name": label}, "actor": {"login": login}}
            for kind, label, login in (
                ("labeled", "accept-regression", "mallory"),
                ("unlabeled", "accept-regression", "bob"),
                ("labeled", "other", "eve"),
                ("labeled", "accept-regression", "alice"),
            )
        ]
        data = json.dumps(events).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_the_override_names_who_applied_the_label(tmp_path, write_params):
    params = load_params(write_params())
    event = tmp_path / "event.json"
    labels = [{"name": "accept-regression"}]
    event.write_text(json.dumps({"pull_request": {"number": 7, "labels": labels}}))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Events)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    env = {
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": "octo/model",
        "GITHUB_API_URL": f"http://127.0.0.1:{server.server_address[1]}",
        "GITHUB_TOKEN": "t0ken",
    }
    try:
        assert override_of(params, env) == Override("accept-regression", "alice")
        unread = override_of(params, {**env, "GITHUB_TOKEN": ""})
        assert unread.by is None and "GITHUB_TOKEN is not set" in unread.problem
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    event.write_text(json.dumps({"pull_request": {"number": 7, "labels": [{"name": "x"}]}}))
    assert override_of(params, env) is None


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"decide": "median"}, "`gates.accuracy.decide` is 'median', which is not known; use one"),
        ({"slice_min": "high"}, "`gates.accuracy.slice_min` must be a number"),
    ],
)  # fmt: skip
def test_bad_decide_and_slice_min_are_named(write_params, rule, message):
    gates = {"accuracy": {"direction": "higher", **rule}}
    with pytest.raises(ParamsError, match=message):
        load_params(write_params(gates=gates))


def test_decide_and_slice_min_are_read(write_params):
    gates = {"accuracy": {"direction": "higher", "decide": "point", "slice_min": 0.8}}
    params = load_params(write_params(gates=gates))
    rule = params.gates["accuracy"]
    assert (rule.decide, rule.slice_min) == ("point", 0.8)
    assert rule.slice_fails(0.79) and not rule.slice_fails(0.8)
    assert params.report.override_label == "accept-regression"


def test_a_branch_that_reads_more_leniently_loosens_its_rule():
    strict = MetricRule("higher", abs_tolerance=0.01, decide="point", slice_min=0.8)
    assert RuleChange("f1", strict, replace(strict, decide="interval")).kind == "loosened"
    assert RuleChange("f1", strict, replace(strict, slice_min=0.7)).kind == "loosened"
    assert RuleChange("f1", strict, replace(strict, slice_min=None)).kind == "loosened"
    assert RuleChange("f1", strict, replace(strict, slice_min=0.9)).kind == "tightened"
