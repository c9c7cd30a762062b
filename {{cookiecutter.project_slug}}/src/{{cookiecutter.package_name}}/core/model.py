"""The model: preprocessing and an estimator chosen in params.yaml, in one Pipeline.

The estimators are named as import paths (in vocabulary.py) and imported when a model is built,
so params.py can list the valid `model.type` values without importing scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..errors import ParamsError
from ..vocabulary import ESTIMATORS

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from .features import Features


def estimator_class(task: str, model_type: str) -> type:
    module, _, name = ESTIMATORS[task][model_type].rpartition(".")
    return getattr(importlib.import_module(module), name)


def make_estimator(task: str, model_type: str, hyperparameters: dict[str, Any], seed: int):
    """The estimator with its hyperparameters; unknown ones are named with the valid ones."""
    cls = estimator_class(task, model_type)
    estimator = cls()
    valid = estimator.get_params()
    unknown = sorted(set(hyperparameters) - set(valid))
    if unknown:
        raise ParamsError(
            f"params.yaml `model.hyperparameters.{model_type}`: {', '.join(unknown)} "
            f"{'is' if len(unknown) == 1 else 'are'} not a parameter of "
            f"{cls.__name__}; valid ones are {', '.join(sorted(valid))}"
        )
    settings = dict(hyperparameters)
    if "random_state" in valid:
        settings.setdefault("random_state", seed)
    return estimator.set_params(**settings)


def build_pipeline(features: Features, estimator) -> Pipeline:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

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


def fit(pipeline: Pipeline, inputs, target, model_type: str) -> Pipeline:
    """Fit; a hyperparameter scikit-learn rejects only at fit time is named as a params error."""
    from sklearn.utils._param_validation import InvalidParameterError

    try:
        return pipeline.fit(inputs, target)
    except InvalidParameterError as error:
        raise ParamsError(f"params.yaml `model.hyperparameters.{model_type}`: {error}") from None
