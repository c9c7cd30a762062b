"""The model: preprocessing and an estimator chosen in params.yaml, in one Pipeline."""

from __future__ import annotations

from typing import Any

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .data import Features
from .errors import ParamsError

ESTIMATORS: dict[str, dict[str, type]] = {
    "classification": {
        "logistic_regression": LogisticRegression,
        "random_forest": RandomForestClassifier,
        "gradient_boosting": GradientBoostingClassifier,
    },
    "regression": {
        "ridge": Ridge,
        "random_forest": RandomForestRegressor,
        "gradient_boosting": GradientBoostingRegressor,
    },
}


def make_estimator(task: str, model_type: str, hyperparameters: dict[str, Any], seed: int):
    estimator_class = ESTIMATORS[task][model_type]
    estimator = estimator_class()
    valid = estimator.get_params()
    unknown = sorted(set(hyperparameters) - set(valid))
    if unknown:
        raise ParamsError(
            f"params.yaml `model.hyperparameters.{model_type}`: {', '.join(unknown)} "
            f"{'is' if len(unknown) == 1 else 'are'} not a parameter of "
            f"{estimator_class.__name__}; valid ones are {', '.join(sorted(valid))}"
        )
    settings = dict(hyperparameters)
    if "random_state" in valid:
        settings.setdefault("random_state", seed)
    return estimator.set_params(**settings)


def build_pipeline(features: Features, estimator) -> Pipeline:
    transformers = []
    if features.numeric:
        numeric = Pipeline(
            [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
        )
        transformers.append(("numeric", numeric, list(features.numeric)))
    if features.categorical:
        categorical = Pipeline(
            [
                ("impute", SimpleImputer(strategy="most_frequent")),
                ("one_hot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
            ]
        )
        transformers.append(("categorical", categorical, list(features.categorical)))
    return Pipeline([("preprocess", ColumnTransformer(transformers)), ("estimator", estimator)])
