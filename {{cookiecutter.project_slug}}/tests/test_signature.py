"""The saved model takes the user's own frame: integer columns as `pd.read_csv` gives them,
through MLflow's pyfunc loader and through the REST scoring path alike."""

import json

import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.pyfunc.scoring_server import invocations
from sklearn.linear_model import LogisticRegression

from {{ cookiecutter.package_name }}.core.features import Features, model_inputs
from {{ cookiecutter.package_name }}.core.model import build_pipeline
from {{ cookiecutter.package_name }}.integrations.mlflow import save_model

FEATURES = Features("churned", ("age", "income"), ("plan",))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A model trained as `train` trains it, saved as `train` saves it, and its raw CSV rows."""
    rng = np.random.default_rng(3)
    rows = 80
    raw = pd.DataFrame(
        {
            "customer_id": np.arange(1000, 1000 + rows),
            "age": rng.integers(18, 80, rows),
            "income": rng.normal(50.0, 10.0, rows),
            "plan": rng.choice(["basic", "pro"], rows),
        }
    )
    raw["churned"] = ((raw["age"] > 45) | (raw["plan"] == "basic")).astype(int)
    csv = tmp_path_factory.mktemp("data") / "customers.csv"
    raw.to_csv(csv, index=False)
    inputs = model_inputs(raw, FEATURES)
    pipeline = build_pipeline(FEATURES, LogisticRegression()).fit(inputs, raw["churned"])
    folder = tmp_path_factory.mktemp("model") / "model"
    save_model(pipeline, inputs.head(5), folder)
    return folder, csv, pipeline.predict(inputs)


def test_pyfunc_predicts_on_the_csv_as_pandas_reads_it(saved):
    folder, csv, expected = saved
    frame = pd.read_csv(csv)  # age and customer_id are int64, the target is there too
    assert frame["age"].dtype == np.int64
    model = mlflow.pyfunc.load_model(str(folder))
    assert list(model.predict(frame)) == list(expected)


def test_rest_scoring_takes_integers_and_floats_alike(saved):
    folder, csv, expected = saved
    frame = pd.read_csv(csv).head(6)
    model = mlflow.pyfunc.load_model(str(folder))
    columns = ["age", "income", "plan"]
    body = {"dataframe_split": {"columns": columns, "data": frame[columns].values.tolist()}}
    answer = invocations(
        json.dumps(body), "application/json", model, model.metadata.get_input_schema()
    )
    assert answer.status == 200, answer.response
    assert json.loads(answer.response)["predictions"] == list(expected[:6])


def test_the_signature_still_refuses_what_the_model_cannot_take(saved):
    folder, csv, _ = saved
    model = mlflow.pyfunc.load_model(str(folder))
    frame = pd.read_csv(csv)
    with pytest.raises(MlflowException, match=r"missing inputs \['plan'\]"):
        model.predict(frame.drop(columns="plan"))
    # A category sent as a number would silently miss every learned category.
    with pytest.raises(MlflowException, match="column plan"):
        model.predict(frame.assign(plan=1))
    with pytest.raises(ValueError, match="could not convert string to float: 'old'"):
        model.predict(frame.assign(age=frame["age"].astype(str).where(frame.index > 0, "old")))
