"""Which data set a model learns from: the task, the target, the data suite and the features.

Metrics compare only on the same data set. New rows keep the data set; another target,
suite or set of feature columns makes a new one, and then the pull-request gate and the
deploy judge the model by the absolute floors of `gates` (README: Moving to a new data set).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

MAX_NAMES = 5


@dataclass(frozen=True)
class DataSet:
    task: str | None
    target: str | None
    suite: str | None
    # None when the feature columns are not known (no features.json on that side).
    numeric: tuple[str, ...] | None
    categorical: tuple[str, ...] | None

    @classmethod
    def from_documents(cls, params: Any, features: Any) -> DataSet:
        """From a parsed params.yaml and a parsed features.json (either may be None)."""
        params = params if isinstance(params, dict) else {}
        data = params.get("data") if isinstance(params.get("data"), dict) else {}
        validation = params.get("validation")
        suite = validation.get("suite") if isinstance(validation, dict) else None
        columns: dict[str, tuple[str, ...] | None] = {"numeric": None, "categorical": None}
        if isinstance(features, dict):
            for kind in columns:
                names = features.get(kind)
                if isinstance(names, list):
                    columns[kind] = tuple(sorted(str(name) for name in names))
        target = features.get("target") if isinstance(features, dict) else None
        return cls(
            task=params.get("task"),
            target=target or data.get("target"),
            suite=suite,
            **columns,
        )

    @property
    def features(self) -> int | None:
        if self.numeric is None or self.categorical is None:
            return None
        return len(self.numeric) + len(self.categorical)

    def describe(self) -> str:
        """In words, for messages and the registry tag `data_set`."""
        count = "" if self.features is None else f", {self.features} features"
        return f"target {self.target} ({self.task}), suite {self.suite}{count}"

    def digest(self) -> str:
        """A short fingerprint of the whole schema, kept on each registry version."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _names(names: list[str]) -> str:
    shown = ", ".join(f"`{name}`" for name in names[:MAX_NAMES])
    more = len(names) - MAX_NAMES
    return shown + (f" and {more} more" if more > 0 else "")


def _kinds(data_set: DataSet) -> dict[str, str] | None:
    """Each feature column and its kind, when the data set's features are known."""
    if data_set.numeric is None or data_set.categorical is None:
        return None
    return {
        **dict.fromkeys(data_set.numeric, "numeric"),
        **dict.fromkeys(data_set.categorical, "categorical"),
    }


def differences(old: DataSet, new: DataSet) -> tuple[str, ...]:
    """One phrase per way `new` is another data set than `old`; empty when it is the same.

    Feature columns are compared only when both sides know them."""
    found = []
    for label, before, after in (
        ("task", old.task, new.task),
        ("target", old.target, new.target),
        ("data suite", old.suite, new.suite),
    ):
        if before != after:
            found.append(f"{label} `{before}` -> `{after}`")
    old_kinds, new_kinds = _kinds(old), _kinds(new)
    if old_kinds is not None and new_kinds is not None:
        added = sorted(set(new_kinds) - set(old_kinds))
        removed = sorted(set(old_kinds) - set(new_kinds))
        kind = sorted(
            name for name in set(old_kinds) & set(new_kinds) if old_kinds[name] != new_kinds[name]
        )
        if added:
            found.append(f"features added: {_names(added)}")
        if removed:
            found.append(f"features removed: {_names(removed)}")
        if kind:
            found.append(f"features of another kind: {_names(kind)}")
    return tuple(found)
