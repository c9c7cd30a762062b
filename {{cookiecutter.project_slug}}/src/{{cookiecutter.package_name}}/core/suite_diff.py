"""What a branch changes in the data suite it is validated with, expectation by expectation.

A suite edit can switch off the data gate as quietly as a gate rule can switch off the
quality gate: a widened bound, a grown value set, a dropped null check. `diff_suites`
pairs the expectations of two suite documents (GX's JSON) by type and column and says
of each difference whether it was added, removed, loosened (accepts more data),
tightened (accepts less) or otherwise changed, so the report can flag the ones that
accept more.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from ..errors import DataError

ADDED = "added"
REMOVED = "removed"
LOOSENED = "loosened"
TIGHTENED = "tightened"
CHANGED = "changed"
# The kinds a reviewer must look at: the suite accepts data it used to refuse.
WEAKER = (REMOVED, LOOSENED)

LOOSER, TIGHTER, OTHER = 1, -1, 0
MAX_LISTED = 6

# Expectations whose `value_set` lists what is allowed (a bigger set accepts more) or
# what is refused (a bigger set accepts less); anything else is just "changed".
ALLOWED_SETS = ("expect_column_values_to_be_in_set", "expect_column_distinct_values_to_be_in_set")
REFUSED_SETS = ("expect_column_values_to_not_be_in_set",)


@dataclass(frozen=True)
class ExpectationChange:
    kind: str
    type: str
    column: str | None
    details: tuple[str, ...] = ()

    @property
    def weaker(self) -> bool:
        return self.kind in WEAKER


@dataclass(frozen=True)
class SuiteDiff:
    """The branch's suite file against the one the baseline validated with."""

    path: str
    baseline_path: str
    changes: tuple[ExpectationChange, ...]
    # The baseline has no such file (a new suite): every expectation is new, none listed.
    baseline_missing: bool = False

    @property
    def weaker(self) -> list[ExpectationChange]:
        return [change for change in self.changes if change.weaker]


def expectations_of(document: Any, source: str) -> list[dict[str, Any]]:
    """The expectations of a suite document; a document of another shape is named."""
    items = document.get("expectations") if isinstance(document, dict) else None
    if not isinstance(items, list) or not all(
        isinstance(item, dict)
        and isinstance(item.get("type"), str)
        and isinstance(item.get("kwargs", {}), dict)
        for item in items
    ):
        raise DataError(
            f"{source}: not an expectation suite; expected an object with a list of "
            "`expectations`, each with a `type` and `kwargs` (see `mlops suggest-suite`)"
        )
    return items


def _target(kwargs: dict[str, Any]) -> str | None:
    """The column (or columns) an expectation is about; None for the table."""
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_A" in kwargs or "column_B" in kwargs:
        return f"{kwargs.get('column_A')}, {kwargs.get('column_B')}"
    if isinstance(kwargs.get("column_list"), list):
        return ", ".join(map(str, kwargs["column_list"]))
    return None


def _shown(value: Any) -> str:
    if isinstance(value, list | set | tuple):
        values = sorted(value, key=str) if isinstance(value, set) else list(value)
        listed = ", ".join(_shown(item) for item in values[:MAX_LISTED])
        more = f" … and {len(values) - MAX_LISTED} more" if len(values) > MAX_LISTED else ""
        return f"[{listed}{more}]"
    if value is None:
        return "none"
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _bound(key: str, old: Any, new: Any) -> tuple[int, str]:
    """A min or max bound; none (absent) is unbounded."""
    lower = key == "min_value"
    text = f"{key} {_shown(old)} -> {_shown(new)}"
    if new is None:
        return LOOSER, f"{text} (no {'lower' if lower else 'upper'} bound)"
    if old is None:
        return TIGHTER, f"{text} (new bound)"
    if not (_is_number(old) and _is_number(new)):
        return OTHER, text
    wider = new < old if lower else new > old
    return (LOOSER, f"{text} (wider)") if wider else (TIGHTER, f"{text} (narrower)")


def _members(key: str, old: Any, new: Any, larger_is_looser: bool) -> tuple[int, str]:
    before = set(map(_hashable, old or []))
    after = set(map(_hashable, new or []))
    grown, shrunk = after - before, before - after
    parts = []
    if grown:
        parts.append(f"adds {_shown(grown)}")
    if shrunk:
        parts.append(f"drops {_shown(shrunk)}")
    text = f"{key} {' and '.join(parts) or 'reordered'}"
    if grown and not shrunk:
        return (LOOSER if larger_is_looser else TIGHTER), text
    if shrunk and not grown:
        return (TIGHTER if larger_is_looser else LOOSER), text
    return (LOOSER if grown else OTHER), text


def _hashable(value: Any) -> Any:
    return (
        json.dumps(value, sort_keys=True, default=str) if isinstance(value, dict | list) else value
    )


def _step(kind: str, key: str, old: Any, new: Any) -> tuple[int, str]:
    """How one argument's change moves the expectation, and the words for it."""
    if key in ("min_value", "max_value"):
        return _bound(key, old, new)
    if key == "mostly":
        before = 1.0 if old is None else old
        after = 1.0 if new is None else new
        text = f"mostly {_shown(before)} -> {_shown(after)}"
        if _is_number(before) and _is_number(after) and before != after:
            return (LOOSER if after < before else TIGHTER), text
        return OTHER, text
    if key in ("strict_min", "strict_max", "exact_match"):
        text = f"{key} {_shown(old)} -> {_shown(new)}"
        if bool(old) != bool(new):
            return (LOOSER if bool(old) else TIGHTER), text
        return OTHER, text
    if key == "value_set" and kind in ALLOWED_SETS + REFUSED_SETS:
        return _members(key, old, new, larger_is_looser=kind in ALLOWED_SETS)
    if key == "type_list":
        return _members(key, old, new, larger_is_looser=True)
    if key == "column_set":
        # With or without exact_match, another column set is neither wider nor narrower.
        return OTHER, _members(key, old, new, larger_is_looser=False)[1]
    return OTHER, f"{key} {_shown(old)} -> {_shown(new)}"


def compare_expectation(
    kind: str, old: dict[str, Any], new: dict[str, Any]
) -> tuple[str, tuple[str, ...]]:
    """(loosened | tightened | changed, what changed) for one expectation's kwargs."""
    steps = [
        _step(kind, key, old.get(key), new.get(key))
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]
    moves = {move for move, _ in steps}
    verdict = LOOSENED if LOOSER in moves else TIGHTENED if TIGHTER in moves else CHANGED
    return verdict, tuple(text for _, text in steps)


def _summary(change: str, kind: str, kwargs: dict[str, Any]) -> tuple[str, ...]:
    """What an added or removed expectation checks, in a few words."""
    if kind == "expect_column_values_to_not_be_null" and change == REMOVED:
        return ("the column may now be null",)
    shown = [
        f"{key} {_shown(value)}"
        for key, value in sorted(kwargs.items())
        if key not in ("column", "column_A", "column_B", "column_list")
    ]
    return tuple(shown)


def diff_suites(old: Any, new: Any, old_source: str, new_source: str) -> list[ExpectationChange]:
    """Every expectation the new suite adds, removes or edits against the old one.

    Expectations pair up by type and column; identical ones are dropped first, so two
    expectations of one type on one column pair up in order only when both changed.
    """
    before: dict[tuple[str, str | None], list[dict]] = defaultdict(list)
    after: dict[tuple[str, str | None], list[dict]] = defaultdict(list)
    for items, side in (
        (expectations_of(old, old_source), before),
        (expectations_of(new, new_source), after),
    ):
        for item in items:
            kwargs = item.get("kwargs") or {}
            side[(item["type"], _target(kwargs))].append(kwargs)
    changes = []
    for key in [*before, *(key for key in after if key not in before)]:
        kind, column = key
        olds, news = list(before.get(key, [])), list(after.get(key, []))
        for kwargs in list(olds):
            if kwargs in news:
                olds.remove(kwargs)
                news.remove(kwargs)
        for old_kwargs, new_kwargs in zip(olds, news, strict=False):
            verdict, details = compare_expectation(kind, old_kwargs, new_kwargs)
            changes.append(ExpectationChange(verdict, kind, column, details))
        for kwargs in olds[len(news) :]:
            changes.append(
                ExpectationChange(REMOVED, kind, column, _summary(REMOVED, kind, kwargs))
            )
        for kwargs in news[len(olds) :]:
            changes.append(ExpectationChange(ADDED, kind, column, _summary(ADDED, kind, kwargs)))
    return changes
