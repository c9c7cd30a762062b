"""Fail unless every needed job succeeded, as re-actors/alls-green decides."""

import json
import os
import re
import sys


def names(variable: str) -> set[str]:
    return set(re.split(r"[\s,]+", os.environ.get(variable, "").strip())) - {""}


jobs = json.loads(os.environ["JOBS"])
failures, skips = names("ALLOWED_FAILURES"), names("ALLOWED_SKIPS")
bad = {
    name: job["result"]
    for name, job in jobs.items()
    if not (
        job["result"] == "success"
        or (job["result"] == "skipped" and name in skips)
        or (job["result"] in ("failure", "cancelled") and name in failures)
    )
}
for name, job in jobs.items():
    print(f"{name}: {job['result']}")
with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
    out.write(f"result={'failure' if bad or not jobs else 'success'}\n")
if bad or not jobs:
    print(f"error: not all green: {bad or 'no jobs'}", file=sys.stderr)
    sys.exit(1)
