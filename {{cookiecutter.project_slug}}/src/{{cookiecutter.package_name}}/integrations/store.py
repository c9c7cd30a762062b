"""Where MLflow records runs, worked out without importing MLflow.

The report names the store and the deploy checks it; importing mlflow for a string
would cost those commands a second or more.
"""

from __future__ import annotations

import os

from ..params import Params

TRACKING_ENV = "MLFLOW_TRACKING_URI"


def tracking_uri(params: Params) -> str:
    """MLFLOW_TRACKING_URI if set, else params.yaml's; a relative SQLite path is made absolute."""
    uri = os.environ.get(TRACKING_ENV) or params.mlflow.tracking_uri
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        uri = prefix + str(params.root / uri.removeprefix(prefix))
    return uri


def is_local_store(uri: str) -> bool:
    return uri.startswith("sqlite:")


def redact(uri: str) -> str:
    """The URI without credentials, for messages and tags."""
    if "@" in uri and "://" in uri:
        scheme, rest = uri.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return uri
