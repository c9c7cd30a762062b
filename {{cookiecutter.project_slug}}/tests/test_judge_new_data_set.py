"""The judge on a new data set: `main`'s code scores the branch's model on the branch's own
test rows (main's rows lack its columns), says so, and `main`'s floors judge it."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

from {{ cookiecutter.package_name }}.commands.report import trusted_evaluation
from {{ cookiecutter.package_name }}.core.features import Features, model_inputs
from {{ cookiecutter.package_name }}.core.metrics import score
from {{ cookiecutter.package_name }}.core.model import build_pipeline
from {{ cookiecutter.package_name }}.core.report import Inputs, Snapshot, render, verdict
from {{ cookiecutter.package_name }}.integrations.mlflow import save_model
from {{ cookiecutter.package_name }}.io import write_features
from {{ cookiecutter.package_name }}.params import load_params

from .conftest import TASKS, fixture_params, merge

CHURN = Features("churned", ("tenure", "charges"), ("plan",))


def classification_params() -> dict:
    """The demo's classification settings, whatever task the project was made for: this
    judge's story is a classifier's (a churn data set after breast cancer)."""
    demo = TASKS["classification"]
    document = fixture_params()
    for section in ("task", "data", "gates"):
        document[section] = demo[section]
    return merge(document, {key: demo[key] for key in ("split", "model", "validation")})


def side(root, overrides, features, test_rows):
    root.mkdir()
    (root / "params.yaml").write_text(yaml.safe_dump(merge(classification_params(), overrides)))
    params = load_params(root / "params.yaml")
    params.paths.test.parent.mkdir(parents=True, exist_ok=True)
    test_rows.to_parquet(params.paths.test)
    params.paths.features.parent.mkdir(parents=True, exist_ok=True)
    write_features(features, params.paths.features)
    return params


def churn_rows(rows, seed):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "tenure": rng.integers(1, 72, rows).astype(float),
            "charges": rng.normal(70.0, 20.0, rows),
            "plan": rng.choice(["basic", "pro"], rows),
        }
    )
    rule = (frame["tenure"] < 24) & (frame["plan"] == "basic")
    frame["churned"] = (rule ^ (rng.random(rows) < 0.1)).astype(int)  # some label noise
    return frame


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    """Trained and saved once (saving a model costs seconds); the tests only read it."""
    tmp_path = tmp_path_factory.mktemp("judge")
    # main: the demo's columns; the branch: a churn data set of its own.
    demo_rows = pd.DataFrame({"mean_radius": [10.0, 20.0], "target": [0, 1]})
    main = side(tmp_path / "main", {}, Features("target", ("mean_radius",), ()), demo_rows)
    branch_test = churn_rows(120, seed=2)
    branch = side(tmp_path / "branch", {"data": {"target": "churned"}}, CHURN, branch_test)
    train = churn_rows(300, seed=1)
    model = build_pipeline(CHURN, LogisticRegression()).fit(
        model_inputs(train, CHURN), train["churned"]
    )
    save_model(model, model_inputs(train, CHURN).head(5), branch.paths.model)
    own = {"roc_auc": 0.5, "f1": 0.1, "accuracy": 0.5}  # what the branch's own code claimed
    inputs = Inputs(
        baseline=Snapshot("main", "a" * 40, {"roc_auc": 0.99, "f1": 0.95}, main.raw),
        branch=Snapshot("branch", "b" * 40, own, branch.raw),
        rules=main.gates,
        data_path="data/raw/data.parquet",
        data_set_changes=("target `target` -> `churned`",),
        baseline_rules=main.gates,
    )
    expected = score(
        model, model_inputs(branch_test, CHURN), branch_test["churned"], "classification"
    ).scores
    return main, branch, inputs, expected


def test_main_s_code_scores_a_new_data_set_on_the_branch_s_rows(judged):
    main, branch, inputs, expected = judged
    result = trusted_evaluation(main, branch, inputs)
    assert result.trusted is not None and result.trusted.on_branch_rows
    assert result.branch.metrics == expected
    markdown = render(result)
    assert "on the branch's test rows (a new data set cannot be scored on `main`'s)" in markdown
    assert "The test sets differ" not in markdown
    # The floors of main's gates judge the trusted figures, not the branch's own claim.
    passed, line = verdict(result)
    assert passed, line
    assert line.startswith("## ✅ Quality gate passed on a new data set: 2 metrics meet")
    assert "`main`'s code scored the model on the branch's own test rows" in markdown


def test_the_floors_fail_a_new_data_set_whose_trusted_scores_are_below_them(judged):
    main, branch, inputs, _ = judged
    raised = {name: {"min": 0.999} for name in ("roc_auc", "f1")}
    # main's settings with higher floors, its test rows where they were.
    document = merge(classification_params(), {"gates": raised})
    document["paths"]["test"] = str(main.paths.test)
    document["paths"]["features"] = str(main.paths.features)
    strict = load_params(_rewrite(main.root / "strict" / "params.yaml", document))
    result = trusted_evaluation(
        strict, branch, replace(inputs, rules=strict.gates, baseline_rules=strict.gates)
    )
    passed, line = verdict(result)
    assert not passed
    assert "below the floors of `main`'s `gates`" in line


def test_main_s_rows_cannot_score_the_new_data_set(judged):
    """Why the branch's rows are used: main's test rows lack the branch's columns."""
    main, branch, inputs, _ = judged
    with pytest.raises(ValueError, match="columns are missing"):
        trusted_evaluation(main, branch, replace(inputs, data_set_changes=()))


def _rewrite(path, document):
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(document))
    return path
