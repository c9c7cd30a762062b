"""Validate a manifest against the InferenceService schema the KServe SDK ships.

The SDK's models (`kserve.models`, generated from KServe's OpenAPI definitions, and
the Kubernetes models they refer to) list every field with its type and JSON name.
A manifest passes when every key is a field of its object, every value has the
field's type, and each object builds with the SDK's own client-side validation
(required fields, enumerations).
"""

from __future__ import annotations

import re
from typing import Any

PRIMITIVES = {"str": str, "int": int, "bool": bool, "float": (int, float)}


def _model(name: str):
    import kserve.models
    from kubernetes.client import models as kubernetes_models

    return getattr(kserve.models, name, None) or getattr(kubernetes_models, name, None)


def problems(value: Any, type_name: str = "V1beta1InferenceService", where: str = "") -> list[str]:
    found: list[str] = []
    listed = re.fullmatch(r"list\[(.+)\]", type_name)
    mapped = re.fullmatch(r"dict\(str, (.+)\)", type_name)
    if listed:
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {value!r}"]
        for index, item in enumerate(value):
            found += problems(item, listed.group(1), f"{where}[{index}]")
        return found
    if mapped:
        if not isinstance(value, dict):
            return [f"{where}: expected a mapping, got {value!r}"]
        for key, item in value.items():
            found += problems(item, mapped.group(1), f"{where}.{key}")
        return found
    if type_name in PRIMITIVES:
        wanted = PRIMITIVES[type_name]
        if (isinstance(value, bool) and type_name != "bool") or not isinstance(value, wanted):
            found.append(f"{where}: expected {type_name}, got {value!r}")
        return found
    model = _model(type_name)
    if model is None:  # free-form (object, ResourceQuantity, ...)
        return found
    if not isinstance(value, dict):
        return [f"{where}: expected a {type_name} object, got {value!r}"]
    by_json = {json_name: attr for attr, json_name in model.attribute_map.items()}
    for key, item in value.items():
        if key not in by_json:
            found.append(f"{where}.{key}: not a field of {type_name}")
            continue
        found += problems(item, model.openapi_types[by_json[key]], f"{where}.{key}")
    if not found:
        try:
            model(**{by_json[key]: item for key, item in value.items()})
        except ValueError as error:
            found.append(f"{where}: {error}")
    return found
