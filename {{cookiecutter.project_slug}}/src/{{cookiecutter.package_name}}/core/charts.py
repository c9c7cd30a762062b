"""Charts of a metric comparison: Mermaid text for the comment, PNG files for the artifact.

GitHub renders Mermaid blocks inside comments, so the comment needs no image
upload. The PNGs are for the workflow artifact (and for CML to publish, only
when the user opts in); they are drawn into memory, and matplotlib is imported
only when they are.
"""

from __future__ import annotations

import io
import math
import re

from .gates import IMPROVED, REGRESSED, Comparison

BRANCH_COLORS = {IMPROVED: "#2ca02c", REGRESSED: "#d62728"}
NICE_BOUNDS = (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def improvement(comparison: Comparison) -> float | None:
    """Relative change in percent, signed so that above zero is better; None if unknown."""
    if comparison.rule is None or comparison.relative_delta is None:
        return None
    sign = 1 if comparison.rule.direction == "higher" else -1
    return round(100 * sign * comparison.relative_delta, 2)


def _label(text: str) -> str:
    """A string Mermaid accepts between double quotes."""
    return re.sub(r'["\\\[\]`<>]', "'", text)


def _bound(largest: float) -> float:
    return next((bound for bound in NICE_BOUNDS if largest <= bound), float(math.ceil(largest)))


def _number(value: float, decimals: int = 4) -> str:
    """Fixed-point text: Mermaid's grammar has no exponent notation (1e-05)."""
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def change_chart(comparisons: list[Comparison], baseline: str) -> str | None:
    """A Mermaid bar chart of each metric's change against the baseline, or None if flat."""
    points = [(c.name, value) for c in comparisons if (value := improvement(c)) is not None]
    if not points or all(value == 0 for _, value in points):
        return None
    bound = _bound(max(abs(value) for _, value in points))
    names = ", ".join(f'"{_label(name)}"' for name, _ in points)
    values = ", ".join(_number(value, 2) for _, value in points)
    return "\n".join(
        [
            "```mermaid",
            "xychart-beta",
            f'    title "Change against {_label(baseline)} (%, above 0 is better)"',
            f"    x-axis [{names}]",
            f'    y-axis "change (%)" {_number(-bound)} --> {_number(bound)}',
            f"    bar [{values}]",
            "```",
        ]
    )


def values_chart(comparisons: list[Comparison], baseline: str) -> str | None:
    """Baseline values as bars and the branch as a line, for metrics that are scores in [0, 1]."""
    pairs = [
        (c.name, c.baseline, c.candidate)
        for c in comparisons
        if c.baseline is not None
        and c.candidate is not None
        and 0 <= c.baseline <= 1
        and 0 <= c.candidate <= 1
    ]
    if len(pairs) < 2:
        return None
    low = min(min(base, branch) for _, base, branch in pairs)
    floor = max(0.0, math.floor(low * 10) / 10 - 0.1) if low > 0.2 else 0.0
    names = ", ".join(f'"{_label(name)}"' for name, _, _ in pairs)
    return "\n".join(
        [
            "```mermaid",
            "xychart-beta",
            f'    title "Scores: {_label(baseline)} (bars) and this branch (line)"',
            f"    x-axis [{names}]",
            f'    y-axis "score" {_number(floor)} --> 1',
            f"    bar [{', '.join(_number(base) for _, base, _ in pairs)}]",
            f"    line [{', '.join(_number(branch) for _, _, branch in pairs)}]",
            "```",
        ]
    )


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def draw_pngs(comparisons: list[Comparison], baseline: str) -> dict[str, bytes]:
    """metrics.png (both sides per metric) and, with a baseline, change.png, as PNG bytes."""
    from matplotlib.figure import Figure

    shown = [c for c in comparisons if c.candidate is not None or c.baseline is not None]
    drawn: dict[str, bytes] = {}
    if shown:
        figure = Figure(figsize=(2.2 * len(shown) + 1, 3.2), layout="constrained")
        axes = figure.subplots(1, len(shown), squeeze=False)[0]
        for ax, comparison in zip(axes, shown, strict=True):
            sides = [
                (label, value, color)
                for label, value, color in (
                    (baseline, comparison.baseline, "#9e9e9e"),
                    (
                        "branch",
                        comparison.candidate,
                        BRANCH_COLORS.get(comparison.verdict, "#1f77b4"),
                    ),
                )
                if value is not None
            ]
            bars = ax.bar([s[0] for s in sides], [s[1] for s in sides], color=[s[2] for s in sides])
            ax.bar_label(bars, labels=[_number(s[1]) for s in sides], fontsize=8)
            ax.set_title(comparison.name, fontsize=10)
            ax.margins(y=0.15)
            ax.tick_params(labelsize=8)
        figure.suptitle(f"Test-set metrics: {baseline} and this branch")
        drawn["metrics.png"] = _png(figure)

    points = [(c.name, value) for c in comparisons if (value := improvement(c)) is not None]
    if points:
        figure = Figure(figsize=(6, 0.5 * len(points) + 1.5), layout="constrained")
        ax = figure.subplots()
        values = [value for _, value in points]
        colors = ["#2ca02c" if value >= 0 else "#d62728" for value in values]
        ax.barh([name for name, _ in points], values, color=colors)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel(f"change against {baseline} (%, above 0 is better)")
        ax.invert_yaxis()
        drawn["change.png"] = _png(figure)
    return drawn
