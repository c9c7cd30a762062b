"""sp-repo-review (the Scientific-Python checks) on baked projects: each failure is explained."""

from __future__ import annotations

import json
import re
import shutil
import tomllib

import pytest

from tests.conftest import TEMPLATE, bake, choice_options, cycled_variants, run, variant_id

VARIANTS = cycled_variants(choice_options())
SECTION = "## The Scientific-Python checks this repository does not pass, and why"
CHECK_ID = re.compile(r"`([A-Z]+\d+)`")


def documented_failures(decisions: str) -> set[str]:
    """Check ids in the first column of the table under SECTION in docs/decisions.md."""
    assert SECTION in decisions
    section = decisions.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {check for first_column in rows for check in CHECK_ID.findall(first_column)}


@pytest.mark.parametrize("variant", VARIANTS, ids=[variant_id(v) for v in VARIANTS])
def test_every_failed_check_is_listed_with_its_reason(tmp_path, variant):
    project = bake(tmp_path, **variant)
    executable = shutil.which("repo-review")
    if executable is None:
        pytest.fail("repo-review is not on PATH: run the tests with `make test`, which installs it")
    result = run([executable, ".", "--format", "json"], cwd=project, check=False)
    checks = json.loads(result.stdout)["checks"]
    assert {"PP302", "PP304", "PP305", "PP306", "MY100", "RF002"} <= set(checks)
    failed = {check for check, outcome in checks.items() if outcome["result"] is False}
    passed = {check for check, outcome in checks.items() if outcome["result"] is True}
    # Strict pytest settings and the type checker's configuration pass outright.
    assert {"PP302", "PP304", "PP305", "PP306", "MY100", "MY103", "MY104", "MY105"} <= passed
    listed = documented_failures((project / "docs" / "decisions.md").read_text(encoding="utf-8"))
    assert failed - listed == set(), "failed, with no reason in docs/decisions.md"
    assert listed - failed == set(), "listed in docs/decisions.md, but now passing"


def test_the_pytest_markers_name_real_make_targets():
    """The template's own marker help (`pytest --markers`) names targets the Makefile has."""
    config = tomllib.loads((TEMPLATE / "pyproject.toml").read_text(encoding="utf-8"))
    markers = config["tool"]["pytest"]["ini_options"]["markers"]
    makefile = (TEMPLATE / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.MULTILINE))
    named = {target for text in markers for target in re.findall(r"`make ([a-z-]+)`", text)}
    assert named >= {"test", "test-fast"}
    assert named <= targets, f"not targets of the Makefile: {sorted(named - targets)}"
