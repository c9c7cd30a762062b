"""KServe InferenceService manifests for the versions the release aliases point at.

Written from the registry, never by hand: `storageUri` is where the artifact store
holds the registered version's files (MLflow model format, served by KServe's MLflow
runtime with the v2 inference protocol), and annotations name the version and
commit. A cluster can read only an object store, so a version stored in a local
folder gets no manifest.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import yaml

from ..io import atomic_path
from ..params import Params

API_VERSION = "serving.kserve.io/v1beta1"
CLOUD_SCHEMES = ("s3", "gs", "azure", "https")
PROXIED_SCHEME = "mlflow-artifacts"


def storage_uri(artifact_location: str, artifacts_destination: str) -> str | None:
    """The object-store URL of a logged model's files, or None if it is not in one.

    A tracking server started with `--artifacts-destination` records proxied
    locations (`mlflow-artifacts:/<path>`): their bytes are at `<destination>/<path>`.
    """
    parsed = urlparse(artifact_location)
    if parsed.scheme == PROXIED_SCHEME:
        base = artifacts_destination.rstrip("/")
        if urlparse(base).scheme not in CLOUD_SCHEMES:
            return None
        return f"{base}/{parsed.path.lstrip('/')}"
    return artifact_location if parsed.scheme in CLOUD_SCHEMES else None


def service_name(model_name: str, alias: str) -> str:
    """A DNS-1035 label, as Kubernetes requires of a service name."""
    name = re.sub(r"[^a-z0-9-]+", "-", f"{model_name}-{alias}".lower()).strip("-")
    if not name[:1].isalpha():
        name = f"m-{name}"
    return name[:63].rstrip("-")


def manifest(
    model_name: str, alias: str, version: str, uri: str, tags: dict[str, str]
) -> dict[str, object]:
    annotations = {
        "mlops.registry/model": model_name,
        "mlops.registry/version": version,
        "mlops.registry/alias": alias,
    }
    for key in ("git_commit", "dvc_lock_md5", "model_md5"):
        if key in tags:
            annotations[f"mlops.registry/{key.replace('_', '-')}"] = tags[key]
    return {
        "apiVersion": API_VERSION,
        "kind": "InferenceService",
        "metadata": {
            "name": service_name(model_name, alias),
            "labels": {"app.kubernetes.io/name": service_name(model_name, ""), "alias": alias},
            "annotations": annotations,
        },
        "spec": {
            "predictor": {
                "model": {
                    "modelFormat": {"name": "mlflow"},
                    "protocolVersion": "v2",
                    "storageUri": uri,
                }
            }
        },
    }


def write(params: Params, registry, alias: str) -> str:
    """Write `<paths.kserve>/<alias>.yaml` for the version holding `alias`; say what happened."""
    holder = registry.holder(alias)
    target: Path = params.paths.kserve / f"{alias}.yaml"
    if holder is None:
        return f"no KServe manifest for '{alias}': no version holds it"
    location = registry.artifact_location(holder)
    uri = storage_uri(location, params.stack.artifacts_destination)
    if uri is None:
        return (
            f"no KServe manifest for '{alias}': version {holder.version} is stored at "
            f"{location}, which a cluster cannot read (storage=s3: README, Storage)"
        )
    document = manifest(registry.name, alias, str(holder.version), uri, dict(holder.tags))
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as staged:
        staged.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    shown = target.relative_to(params.root) if target.is_relative_to(params.root) else target
    return f"KServe manifest {shown}: version {holder.version} from {uri}"
