"""A stub of GitHub's REST API on 127.0.0.1, held in memory: the issues, labels, pull
requests and comments the baked workflows and their commands use, CML's image host, and
the repository over git's smart HTTP (`git http-backend` on the test's bare `origin`).

Plain HTTP, or HTTPS with a throwaway certificate (CML and gh always speak HTTPS to a host
that is not github.com). Paths may carry the `/api/v3` prefix GitHub Enterprise uses, which
is where gh and CML look on such a host. Every request is recorded; any other path is a 404.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import ssl
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import TEMPLATE

BOT = "github-actions[bot]"
PAGE_SIZE = 30  # GitHub's default page size; the stub ignores per_page to force paging
TOKEN = "test-token"


class StubGitHub(ThreadingHTTPServer):
    """One repository (`repo`): its issues, pull requests, labels and comments."""

    def __init__(self, tls: ssl.SSLContext | None = None, repo: str = "octo/model"):
        super().__init__(("127.0.0.1", 0), StubHandler)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        self.repo = repo
        self.tokens = {TOKEN}
        self.comments: list[dict] = []
        self.issues: list[dict] = []
        self.pulls: list[dict] = []
        self.labels: dict[str, dict] = {}
        # Issue events (`labeled`, ...), each with the number of its issue or pull request.
        self.events: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self.assets: list[bytes] = []
        self.read_only = False
        # The bare repository served at /OWNER/NAME.git (what `git ls-remote` of the
        # server's URL reads); None serves no git.
        self.git_dir: Path | None = None
        self.next_id = 1000
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server_address[1]}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def add(self, body: str, issue: int = 7, login: str = "octocat") -> dict:
        """A comment on issue or pull request number `issue`, written by `login`."""
        comment_id = self.new_id()
        user = {"login": login, "type": "Bot" if login.endswith("[bot]") else "User"}
        comment = {"id": comment_id, "body": body, "issue": issue, "user": user,
                   "html_url": f"{self.url}/c/{comment_id}"}  # fmt: skip
        self.comments.append(comment)
        return comment

    def label(self, number: int, name: str, login: str) -> None:
        """`login` applies label `name` to pull request `number` (an issue event)."""
        actor = {"login": login, "type": "User"}
        self.events.append({"id": self.new_id(), "issue": number, "event": "labeled",
                            "label": {"name": name}, "actor": actor})  # fmt: skip

    def comments_on(self, number: int) -> list[dict]:
        return [comment for comment in self.comments if comment["issue"] == number]

    def next_number(self) -> int:
        return 1 + max((item["number"] for item in [*self.issues, *self.pulls]), default=0)


@contextmanager
def serving(server: StubGitHub) -> Iterator[StubGitHub]:
    """Serve in a thread for the length of the block, then stop and close."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def issue_events(server: StubGitHub, number: int) -> list[dict]:
    """GET /repos/{owner}/{repo}/issues/{number}/events: one page, oldest first."""
    return [event for event in server.events if event["issue"] == number]


class StubHandler(BaseHTTPRequestHandler):
    server: StubGitHub

    def log_message(self, *args):
        pass

    def reply(self, status: int, payload, headers: dict | None = None):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def authorised(self) -> bool:
        self.server.requests.append((self.command, self.path))
        header = self.headers.get("Authorization", "")
        if header.split(" ", 1)[-1] not in self.server.tokens:
            self.reply(401, {"message": "Bad credentials"})
            return False
        return True

    def payload(self) -> dict:
        return json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")

    def route(self) -> tuple[str, dict[str, list[str]]] | None:
        """The path inside the repository (`issues/7/comments`), or None for another one."""
        url = urlsplit(self.path)
        path = url.path.removeprefix("/api/v3")
        if path.startswith("/users/"):
            return path, {}
        prefix = f"/repos/{self.server.repo}/"
        if not path.startswith(prefix):
            return None
        return path.removeprefix(prefix).rstrip("/"), parse_qs(url.query)

    def refused(self) -> bool:
        if self.server.read_only:
            self.reply(403, {"message": "Resource not accessible by integration"})
        return self.server.read_only

    def served_git(self) -> bool:
        """Git's smart HTTP for `/OWNER/NAME.git/...`: `git http-backend` (CGI) on `git_dir`.
        Answers without checking credentials (git sends them only after a 401)."""
        url = urlsplit(self.path)
        prefix = f"/{self.server.repo}.git/"
        git_dir = self.server.git_dir
        if git_dir is None or not url.path.startswith(prefix):
            return False
        self.server.requests.append((self.command, self.path))
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        cgi = {
            "PATH": os.environ["PATH"],
            "GIT_PROJECT_ROOT": str(git_dir.parent),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": f"/{git_dir.name}/{url.path.removeprefix(prefix)}",
            "REQUEST_METHOD": self.command,
            "QUERY_STRING": url.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "HTTP_GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_USER": "x-access-token",
        }
        done = subprocess.run(["git", "http-backend"], input=body, env=cgi,
                              capture_output=True, check=False)  # fmt: skip
        end = b"\r\n\r\n" if b"\r\n\r\n" in done.stdout else b"\n\n"
        head, _, content = done.stdout.partition(end)
        status, headers = 200, []
        for line in head.decode().splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                headers.append((key, value.strip()))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)
        return True

    def do_GET(self):
        if self.served_git():
            return None
        if not self.authorised():
            return None
        if urlsplit(self.path).path.removeprefix("/api/v3") == "/user":
            # As GitHub answers an installation token (the workflow's GITHUB_TOKEN).
            return self.reply(403, {"message": "Resource not accessible by integration"})
        routed = self.route()
        if routed is None:
            return self.reply(404, {"message": "Not Found"})
        path, query = routed
        server = self.server
        if path.startswith("/users/"):
            return self.reply(200, {"login": path.rsplit("/", 1)[1], "id": 1, "type": "Bot"})
        if match := re.fullmatch(r"issues/(\d+)/comments", path):
            comments = server.comments_on(int(match[1]))
            page = int(query.get("page", ["1"])[0])
            start = (page - 1) * PAGE_SIZE
            headers = {}
            if start + PAGE_SIZE < len(comments):
                link = f"{server.url}{urlsplit(self.path).path}?page={page + 1}"
                headers["Link"] = f'<{link}>; rel="next"'
            return self.reply(200, comments[start : start + PAGE_SIZE], headers)
        if match := re.fullmatch(r"issues/(\d+)/events", path):
            return self.reply(200, issue_events(server, int(match[1])))
        if match := re.fullmatch(r"commits/([0-9a-f]{40})/pulls", path):
            # The pull requests that merged this commit (GitHub also lists open ones holding it).
            merged = [pull for pull in server.pulls if pull.get("merge_commit_sha") == match[1]]
            return self.reply(200, merged)
        if path == "issues":
            state = query.get("state", ["open"])[0]
            wanted = set(query.get("labels", [""])[0].split(",")) - {""}
            found = [
                issue for issue in server.issues
                if state in ("all", issue["state"])
                and wanted <= {label["name"] for label in issue["labels"]}
            ]  # fmt: skip
            return self.reply(200, found)
        if path == "pulls":
            head = query.get("head", [""])[0].split(":")[-1]
            state = query.get("state", ["open"])[0]
            found = [
                pull for pull in server.pulls
                if state in ("all", pull["state"]) and head in ("", pull["head"]["ref"])
            ]  # fmt: skip
            return self.reply(200, found)
        if path == "labels":
            return self.reply(200, list(server.labels.values()))
        if match := re.fullmatch(r"(issues|pulls)/(\d+)", path):
            items = server.issues if match[1] == "issues" else server.pulls
            for item in items:
                if item["number"] == int(match[2]):
                    return self.reply(200, item)
        return self.reply(404, {"message": "Not Found"})

    def do_POST(self):
        if self.served_git():
            return None
        if self.path == "/asset":  # CML's image host: no token, answers the image's URL
            self.server.assets.append(self.rfile.read(int(self.headers["Content-Length"])))
            data = f"{self.server.url}/assets/{len(self.server.assets)}.png".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return None
        if not self.authorised():
            return None
        if urlsplit(self.path).path.removeprefix("/api") == "/graphql":
            return self.answer_graphql()
        routed = self.route()
        if routed is None:
            return self.reply(404, {"message": "Not Found"})
        if self.refused():
            return None
        path, _ = routed
        server, body = self.server, self.payload()
        with server.lock:
            if match := re.fullmatch(r"issues/(\d+)/comments", path):
                # The workflow's token comments as the Actions bot.
                return self.reply(201, server.add(body["body"], int(match[1]), BOT))
            if path == "labels":
                if body["name"] in server.labels:
                    # As GitHub answers: gh's `label create --force` reads the field.
                    return self.reply(422, {"message": "Validation Failed",
                                            "errors": [{"resource": "Label", "field": "name",
                                                        "code": "already_exists"}]})  # fmt: skip
                server.labels[body["name"]] = {"id": server.new_id(), **body}
                return self.reply(201, server.labels[body["name"]])
            if path == "issues":
                number = server.next_number()
                issue = {"id": server.new_id(), "number": number, "state": "open",
                         "title": body.get("title", ""), "body": body.get("body", ""),
                         "labels": [{"name": name} for name in body.get("labels", [])],
                         "html_url": f"{server.url}/{server.repo}/issues/{number}"}  # fmt: skip
                server.issues.append(issue)
                return self.reply(201, issue)
            if path == "pulls":
                if any(p["head"]["ref"] == body["head"] and p["state"] == "open"
                       for p in server.pulls):  # fmt: skip
                    return self.reply(422, {"message": "A pull request already exists"})
                number = server.next_number()
                pull = {"id": server.new_id(), "number": number, "state": "open",
                        "title": body.get("title", ""), "body": body.get("body", ""),
                        "head": {"ref": body["head"]}, "base": {"ref": body.get("base", "main")},
                        "html_url": f"{server.url}/{server.repo}/pull/{number}"}  # fmt: skip
                server.pulls.append(pull)
                return self.reply(201, pull)
        return self.reply(404, {"message": "Not Found"})

    def do_PATCH(self):
        if not self.authorised():
            return None
        routed = self.route()
        if routed is None:
            return self.reply(404, {"message": "Not Found"})
        if self.refused():
            return None
        path, _ = routed
        server, body = self.server, self.payload()
        with server.lock:
            if match := re.fullmatch(r"issues/comments/(\d+)", path):
                for comment in server.comments:
                    if comment["id"] == int(match[1]):
                        comment["body"] = body["body"]
                        return self.reply(200, comment)
            if (match := re.fullmatch(r"labels/(.+)", path)) and match[1] in server.labels:
                server.labels[match[1]].update(body)
                return self.reply(200, server.labels[match[1]])
            if match := re.fullmatch(r"(issues|pulls)/(\d+)", path):
                items = server.issues if match[1] == "issues" else server.pulls
                for item in items:
                    if item["number"] == int(match[2]):
                        item.update({key: body[key] for key in ("title", "body", "state")
                                     if key in body})  # fmt: skip
                        return self.reply(200, item)
        return self.reply(404, {"message": "Not Found"})

    def answer_graphql(self):
        """gh's GraphQL calls (see `graphql` below); an unknown one is an error naming it."""
        request = self.payload()
        query, variables = request.get("query", ""), request.get("variables") or {}
        with self.server.lock:
            data = graphql(self.server, query, variables)
        if data is None:
            first = " ".join(query.split())[:300]
            return self.reply(200, {"data": None, "errors": [{"message": f"stub: {first}"}]})
        return self.reply(200, {"data": data})


# The real CML CLI: a ready build of 0.20.6 (see shared/tools/README.md) named by CML_TARBALL,
# or next to this checkout, or next to the checkout this one was cloned from (CI runs in a
# fresh clone); else a `cml` on PATH.
def find_cml_tarball() -> Path:
    if os.environ.get("CML_TARBALL"):
        return Path(os.environ["CML_TARBALL"])
    folders = [TEMPLATE.parent]
    origin = subprocess.run(
        ["git", "-C", str(TEMPLATE), "config", "--get", "remote.origin.url"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if origin and "://" not in origin and ":" not in origin.split("/")[0]:
        folders.append(Path(origin.removeprefix("file://")).resolve().parent)
    candidates = [folder / "shared" / "tools" / "cml-0.20.6.tgz" for folder in folders]
    return next((path for path in candidates if path.is_file()), candidates[0])


CML_TARBALL = find_cml_tarball()


def real_cml(folder: Path) -> Path:
    """A directory with an executable `cml`: the unpacked tarball, or the one on PATH."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True)
    if CML_TARBALL.is_file() and shutil.which("node"):
        with tarfile.open(CML_TARBALL) as archive:
            archive.extractall(folder, filter="data")
        script = bin_dir / "cml"
        entry = folder / "cml" / "bin" / "cml.js"
        script.write_text(f'#!/bin/sh\nexec node {shlex.quote(str(entry))} "$@"\n')
        script.chmod(0o755)
        return bin_dir
    found = shutil.which("cml")
    if found is None:
        pytest.skip(f"no CML: neither {CML_TARBALL} (with node on PATH) nor a `cml` on PATH")
    return Path(found).parent


def self_signed(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A throwaway certificate for 127.0.0.1, made with the openssl CLI."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl CLI to make the stub's throwaway TLS certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", key, "-out", cert],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert


# -- GraphQL: what gh (the alert job's `gh issue list/create/comment`) asks -----------------

ISSUE_FIELDS = ["id", "number", "title", "body", "state", "stateReason", "url", "labels",
                "author", "createdAt", "updatedAt", "closed", "comments"]  # fmt: skip


def graphql(server: StubGitHub, query: str, variables: dict) -> dict | None:
    """The answer to one of the GraphQL operations gh 2.x sends for issues, or None."""
    owner, name = server.repo.split("/")
    repository = {"id": "R_1", "name": name, "owner": {"login": owner},
                  "hasIssuesEnabled": True, "description": "", "hasWikiEnabled": False,
                  "viewerPermission": "WRITE", "defaultBranchRef": {"name": "main"},
                  "parent": None, "mergeCommitAllowed": True, "rebaseMergeAllowed": True,
                  "squashMergeAllowed": True}  # fmt: skip

    def node(issue: dict) -> dict:
        return {"__typename": "Issue", "id": f"I_{issue['number']}", "number": issue["number"],
                "title": issue["title"], "body": issue["body"], "url": issue["html_url"],
                "state": issue["state"].upper(),
                "labels": {"nodes": [{"name": label["name"]} for label in issue["labels"]],
                           "totalCount": len(issue["labels"])}}  # fmt: skip

    if '__type(name: "Issue")' in query:
        return {"Issue": {"fields": [{"name": field} for field in ISSUE_FIELDS]}}
    if "query RepositoryInfo" in query:
        return {"repository": repository}
    if "query IssueByNumber" in query:
        for issue in server.issues:
            if issue["number"] == variables["number"]:
                return {"repository": {"hasIssuesEnabled": True, "issue": node(issue)}}
        return {"repository": {"hasIssuesEnabled": True, "issue": None}}
    if "query IssueSearch" in query:  # `gh issue list --label`: a search
        terms = variables["query"].split()
        state = next((t.split(":", 1)[1] for t in terms if t.startswith("state:")), "open")
        wanted = {t.split(":", 1)[1].strip('"') for t in terms if t.startswith("label:")}
        found = [node(issue) for issue in server.issues if issue["state"] == state
                 and wanted <= {label["name"] for label in issue["labels"]}]  # fmt: skip
        found = found[: variables.get("limit") or len(found)]
        return {"repository": {"hasIssuesEnabled": True},
                "search": {"issueCount": len(found), "nodes": found,
                           "pageInfo": {"hasNextPage": False, "endCursor": None}}}  # fmt: skip
    if "query RepositoryResolveMetadataIDs" in query:  # label names to ids
        aliases = re.findall(r'(\w+): label\(name:"([^"]+)"\)', query)
        return {
            "repository": {
                alias: {"id": f"L_{label}", "name": label}
                for alias, label in aliases
                if label in server.labels
            }
        }
    if "mutation IssueCreate" in query:
        given = variables["input"]
        number = server.next_number()
        issue = {"id": server.new_id(), "number": number, "state": "open",
                 "title": given.get("title", ""), "body": given.get("body", ""),
                 "labels": [{"name": label.removeprefix("L_")}
                            for label in given.get("labelIds") or []],
                 "html_url": f"{server.url}/{server.repo}/issues/{number}"}  # fmt: skip
        server.issues.append(issue)
        return {"createIssue": {"issue": node(issue)}}
    if "mutation CommentCreate" in query:
        given = variables["input"]
        comment = server.add(given["body"], int(given["subjectId"].removeprefix("I_")), BOT)
        return {"addComment": {"commentEdge": {"node": {"url": comment["html_url"]}}}}
    return None
