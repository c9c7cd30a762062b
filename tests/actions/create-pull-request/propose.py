"""Commit the run's changes to a branch, push it, open or update its pull request, as
peter-evans/create-pull-request does (against the GitHub API stub and the test's origin)."""

import json
import os
import subprocess
import sys
import urllib.request


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"error: git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def api(method: str, path: str, payload: dict | None = None):
    url = f"{os.environ['GITHUB_API_URL']}/repos/{os.environ['GITHUB_REPOSITORY']}/{path}"
    request = urllib.request.Request(
        url,
        data=None if payload is None else json.dumps(payload).encode(),
        method=method,
        headers={"Authorization": f"token {os.environ['TOKEN']}",
                 "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def output(**values: str) -> None:
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
        out.writelines(f"{key}={value}\n" for key, value in values.items())


branch = os.environ["BRANCH"]
base = os.environ["BASE"] or git("rev-parse", "--abbrev-ref", "HEAD")
paths = os.environ["ADD_PATHS"].split() or ["-A"]
git("add", *paths)
if not git("status", "--porcelain", "--untracked-files=no"):
    print(f"Branch '{branch}' has no changes against '{base}': no pull request")
    output(**{"pull-request-operation": "none"})
    sys.exit(0)
git("checkout", "-q", "-B", branch)
git("commit", "-q", "-m", os.environ["COMMIT_MESSAGE"])
git("push", "-q", "--force", "origin", f"HEAD:refs/heads/{branch}")
body = os.environ["BODY"]
if os.environ["BODY_PATH"]:
    with open(os.environ["BODY_PATH"], encoding="utf-8") as handle:
        body = handle.read()
owner = os.environ["GITHUB_REPOSITORY"].split("/")[0]
fields = {"title": os.environ["TITLE"], "body": body}
[*open_pulls] = api("GET", f"pulls?state=open&head={owner}:{branch}")
if open_pulls:
    pull, operation = api("PATCH", f"pulls/{open_pulls[0]['number']}", fields), "updated"
else:
    pull = api("POST", "pulls", {**fields, "head": branch, "base": base})
    operation = "created"
print(f"Pull request #{pull['number']} {operation}: {pull['html_url']}")
output(**{"pull-request-number": str(pull["number"]), "pull-request-operation": operation})
