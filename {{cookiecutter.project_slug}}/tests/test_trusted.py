"""The judge's side of a pull request: a model read as data, and what the report says
about the code and rows that scored it."""

import pytest
import skops.io
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from {{ cookiecutter.package_name }}.core.gates import MetricRule
from {{ cookiecutter.package_name }}.core.report import Inputs, Snapshot, Trusted, render
from {{ cookiecutter.package_name }}.errors import DataError
from {{ cookiecutter.package_name }}.integrations.model_file import load_as_data


def model_dir(tmp_path, model, serialization_format="skops"):
    folder = tmp_path / "model"
    folder.mkdir()
    skops.io.dump(model, folder / "model.skops")
    flavor = {"pickled_model": "model.skops", "serialization_format": serialization_format}
    # What the branch claims is safe is not read: only this checkout's list counts.
    flavor["skops_trusted_types"] = ["builtins.print", "posix.system"]
    (folder / "MLmodel").write_text(yaml.safe_dump({"flavors": {"sklearn": flavor}}))
    return folder


def test_a_model_of_trusted_types_loads_and_predicts(tmp_path):
    fitted = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    loaded = load_as_data(model_dir(tmp_path, fitted))
    assert list(loaded.predict([[0.0], [3.0]])) == [0, 1]


def test_a_model_holding_an_untrusted_type_is_refused(tmp_path):
    hostile = Pipeline([("run", FunctionTransformer(print)), ("model", LogisticRegression())])
    with pytest.raises(DataError, match=r"holds types this checkout does not trust \(builtins"):
        load_as_data(model_dir(tmp_path, hostile))


def test_a_pickled_model_is_refused(tmp_path):
    fitted = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    with pytest.raises(DataError, match="only skops archives are loaded as data"):
        load_as_data(model_dir(tmp_path, fitted, serialization_format="cloudpickle"))


def test_a_model_file_outside_the_model_directory_is_refused(tmp_path):
    folder = model_dir(tmp_path, LogisticRegression())
    document = yaml.safe_load((folder / "MLmodel").read_text())
    document["flavors"]["sklearn"]["pickled_model"] = "../elsewhere.skops"
    (folder / "MLmodel").write_text(yaml.safe_dump(document))
    with pytest.raises(DataError, match="must name a file in"):
        load_as_data(folder)


def judged(trusted_scores, own_scores, **extra):
    rule = MetricRule("higher", abs_tolerance=0.01)
    return Inputs(
        baseline=Snapshot("main", "a" * 40, {"accuracy": 0.97}, {}),
        branch=Snapshot("branch", "b" * 40, trusted_scores, {}),
        rules={"accuracy": rule},
        data_path="data/raw/data.parquet",
        trusted=Trusted("main", "a" * 40, own_scores, **extra),
    )


def test_the_report_shows_both_evaluations_and_judges_the_trusted_one():
    markdown = render(judged({"accuracy": 0.95}, {"accuracy": 0.965}))
    first = markdown.splitlines()[0]
    assert first.startswith("## ❌ Quality gate failed: `accuracy` regressed")
    assert "| accuracy | 0.9500 | 0.9650 | +0.0150 |" in markdown
    assert "its evaluation code differs from the baseline's" in markdown
    assert "The test sets differ" not in markdown


def test_other_test_rows_are_named_and_main_s_are_used():
    markdown = render(judged({"accuracy": 0.97}, {"accuracy": 0.99}, test_sets_differ=True))
    assert "The test sets differ" in markdown
    assert "so the comparison uses `main`'s test rows" in markdown
    assert "its test rows differ" in markdown


def test_changed_judging_code_and_split_are_listed_under_the_verdict():
    inputs = judged({"accuracy": 0.97}, {"accuracy": 0.97})
    inputs = Inputs(
        **{
            **vars(inputs),
            "judging_changes": ("src/pkg/core/metrics.py",),
            "split_changes": (("split.seed", 42, 7),),
        }
    )
    lines = render(inputs).splitlines()
    assert lines[2] == "> [!IMPORTANT]"
    assert "> - `src/pkg/core/metrics.py`" in lines
    assert "> - `split.seed` in params.yaml: `42` → `7` (which rows are test rows)" in lines
