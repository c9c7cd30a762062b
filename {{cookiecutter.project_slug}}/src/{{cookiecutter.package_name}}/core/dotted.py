"""Nested documents (metrics.json, params.yaml) as flat dotted keys."""

from __future__ import annotations

from typing import Any


def flatten(document: Any, prefix: str = "") -> dict[str, Any]:
    """Leaves of nested mappings under dotted keys; lists and empty mappings stay values."""
    if isinstance(document, dict) and document:
        flat: dict[str, Any] = {}
        for key, value in document.items():
            flat.update(flatten(value, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): document} if prefix else {}


def numbers(document: Any) -> dict[str, float]:
    """The numeric leaves of a document (booleans are not numbers), as floats."""
    return {
        key: float(value)
        for key, value in flatten(document).items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
