"""Markdown tables whose cells cannot break the table."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def cell(text: Any) -> str:
    """Text safe inside a markdown table cell: no line breaks, no unescaped pipes."""
    return str(text).replace("\r", " ").replace("\n", " ").replace("|", "\\|")


def code(text: Any) -> str:
    """Inline code that survives a table cell (a backtick inside would end the span)."""
    return "`" + str(text).replace("`", "'") + "`"


def table(
    header: Sequence[Any], rows: Iterable[Sequence[Any]], align: Sequence[str] | None = None
) -> str:
    """A table with every cell escaped; `align` holds `---`, `---:` or `:---:` per column."""
    lines = [
        [cell(text) for text in header],
        list(align or ["---"] * len(header)),
        *([cell(text) for text in row] for row in rows),
    ]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)
