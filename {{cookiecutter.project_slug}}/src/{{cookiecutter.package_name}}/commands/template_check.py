"""template-check: is the template this project follows ahead of it, up to date, or out of
reach from here?

`.cruft.json` records the template (a git URL or a local path) and the commit the project
was made from or last updated to. This asks the template's repository for its newest
commit with `git ls-remote` (the branch in `checkout`, else its default branch) and
compares. `cruft check` cannot tell a template that moved from one this machine cannot
reach (a bake from a local path, seen from a CI runner): both exit 1. Here they differ:

    ahead        the template has a newer commit: `cruft update` can take it
    current      the project is at the template's newest commit
    unreachable  the template cannot be read from here: nothing to update (one line says why)

Exits 0 in all three, with the answer as the step outputs `state` and `behind` under
GitHub Actions; exits 2 when `.cruft.json` is missing or malformed.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import ProjectError
from ..integrations.git import remote_commit
from ..integrations.github import write_outputs
from ..params import Params

STATE_FILE = ".cruft.json"
HOW_TO_FOLLOW = (
    "record the template's git URL in .cruft.json (`uv run cruft link <git URL>` or edit "
    '"template"), see README: Template updates'
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-file",
        default=STATE_FILE,
        type=Path,
        help="cruft's record of the template and its commit (default: %(default)s)",
    )


@dataclass(frozen=True)
class Options:
    state_file: Path = Path(STATE_FILE)


def recorded(path: Path) -> tuple[str, str, str | None]:
    """(template, commit, checkout) from cruft's state file."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProjectError(
            f"{path.name} is missing: this project records no template to follow; "
            f"to follow one, {HOW_TO_FOLLOW}"
        ) from None
    except (OSError, json.JSONDecodeError) as error:
        raise ProjectError(
            f"{path.name} is not readable JSON ({error}); restore it from git"
        ) from None
    template, commit = state.get("template"), state.get("commit")
    checkout = state.get("checkout")
    if not isinstance(template, str) or not template or not isinstance(commit, str):
        raise ProjectError(
            f'{path.name} needs "template" (a git URL or path) and "commit"; restore it from git'
        )
    return template, commit, checkout if isinstance(checkout, str) and checkout else None


def decide(template: str, commit: str, newest: str | None, reason: str) -> tuple[str, str]:
    """(state, the one line that says it)."""
    if newest is None:
        return "unreachable", (
            f"template-check: the template {template} cannot be reached from here ({reason}), "
            f"so there is nothing to update; to take its changes in CI, {HOW_TO_FOLLOW}"
        )
    if newest == commit:
        return "current", f"template-check: up to date with {template} at {commit[:12]}"
    return "ahead", (
        f"template-check: {template} moved from {commit[:12]} to {newest[:12]}; "
        "`uv run cruft update` takes its changes"
    )


def run(params: Params, options: Options) -> int:
    path = params.root / options.state_file
    template, commit, checkout = recorded(path)
    newest, reason = remote_commit(template, checkout)
    state, line = decide(template, commit, newest, reason)
    print(line)
    write_outputs({"state": state, "behind": str(state == "ahead").lower()})
    return 0
