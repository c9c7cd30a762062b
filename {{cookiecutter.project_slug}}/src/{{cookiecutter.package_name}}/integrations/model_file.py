"""A saved model read as data: the skops archive inside an MLflow model directory, loaded
with this checkout's list of trusted types, never the list the model directory carries.

The pull-request judge scores a branch's model with `main`'s code. MLflow's own loader
would trust whatever types the branch wrote into MLmodel (`skops_trusted_types`) and put
its `code` paths on sys.path; here only MLmodel's flavor fields are read, the archive
must hold nothing but the types skops trusts by default and SKOPS_TRUSTED_TYPES, and no
file of the branch is imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import DataError

# The types our own Pipelines hold that skops does not trust by default; MLflow saves
# them into MLmodel (see integrations.mlflow.save_model), and this checkout's list is the
# only one `load_as_data` accepts.
SKOPS_TRUSTED_TYPES = ["numpy.dtype", "sklearn.tree._tree.Tree"]


def load_as_data(model_dir: Path) -> Any:
    """The scikit-learn model in `model_dir`, refused when it needs anything untrusted."""
    mlmodel = model_dir / "MLmodel"
    if not mlmodel.is_file():
        raise DataError(f"{mlmodel} is missing; run `dvc repro train` (or `dvc pull`) first")
    try:
        document = yaml.safe_load(mlmodel.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise DataError(f"{mlmodel} is not valid YAML ({error}); run `dvc repro train`") from None
    flavors = document.get("flavors") if isinstance(document, dict) else None
    flavor = flavors.get("sklearn") if isinstance(flavors, dict) else None
    if not isinstance(flavor, dict) or flavor.get("serialization_format") != "skops":
        raise DataError(
            f"{mlmodel} does not describe a scikit-learn model saved with skops; only skops "
            "archives are loaded as data (pickle runs code): save it with `dvc repro train`"
        )
    name = flavor.get("pickled_model")
    if not isinstance(name, str) or Path(name).name != name:
        raise DataError(f"{mlmodel}: `pickled_model` must name a file in {model_dir}")
    archive = model_dir / name
    if not archive.is_file():
        raise DataError(f"{archive} is missing; run `dvc repro train` (or `dvc pull`)")
    import skops.io

    try:
        untrusted = skops.io.get_untrusted_types(file=archive)
    except Exception as error:  # skops raises several types for a damaged archive
        raise DataError(f"{archive} is not a readable skops archive ({error})") from None
    refused = sorted(set(untrusted) - set(SKOPS_TRUSTED_TYPES))
    if refused:
        raise DataError(
            f"{archive} holds types this checkout does not trust ({', '.join(refused)}); "
            "a model is judged only when it is made of trusted types: add a type to "
            "SKOPS_TRUSTED_TYPES on main after review"
        )
    return skops.io.load(archive, trusted=SKOPS_TRUSTED_TYPES)
