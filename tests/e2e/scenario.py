"""The one scenario the end-to-end tests share: a baked, installed project with a git
history, the commands a user types in it, and the servers a release talks to.

`scenario(**answers)` (the fixture in conftest.py) bakes and installs a project; the
release, S3 and new-data-set tests drive it through `mlops`, `git`, `commit`,
`repro` and read it back with `registry` and `lock_md5`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import textwrap
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from ..conftest import ProjectEnv

MODEL = "my-ml-project"
STARTUP_SECONDS = 180

# Reads the registry the way a user would, from inside the project's environment.
INSPECT_REGISTRY = textwrap.dedent("""
    import json, sys
    from mlflow import MlflowClient
    client = MlflowClient(sys.argv[1])
    found = client.search_registered_models(filter_string=f"name = '{sys.argv[2]}'")
    versions = client.search_model_versions(f"name = '{sys.argv[2]}'") if found else []
    print(json.dumps({
        "aliases": {k: str(v) for k, v in found[0].aliases.items()} if found else {},
        "versions": {str(v.version): {"tags": v.tags, "run_id": v.run_id} for v in versions},
    }))
""")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


class Server:
    """A process in its own session, stopped with everything it started."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path, ready_url: str):
        self.log = log
        with log.open("w") as sink:
            self.process = subprocess.Popen(
                command, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        while not answers(ready_url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"{command[:4]} did not start:\n{log.read_text()[-4000:]}")
            time.sleep(0.5)

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                continue
        # Children left behind by a leader that exited first.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


def mlflow_server(project_env, home: Path) -> tuple[Server, str]:
    """`mlflow server` from the project's environment, with a SQLite backend and proxied
    local artifacts under `home`, on a free loopback port; returns it and its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        str(project_env.venv / "bin" / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{home / 'server.db'}",
        "--artifacts-destination",
        str(home / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    # The server's background job runner (a pool of worker processes) is not needed here.
    env = {**project_env.env, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    return Server(command, env, home / "server.log", f"{url}/health"), url


@dataclass
class Scenario:
    """A baked, installed project and the commands run in it, with `env` (the tracking
    server, CI) set for every one of them."""

    project: Path
    project_env: ProjectEnv
    env: dict[str, str] = field(default_factory=dict)

    def sh(
        self, *command: str, check: bool = True, cwd: Path | None = None, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        return self.project_env.run(
            list(command), cwd=cwd or self.project, check=check, **{**self.env, **extra}
        )

    def mlops(self, *args: str, check: bool = True, cwd: Path | None = None, **extra: str):
        return self.sh("mlops", *args, check=check, cwd=cwd, **extra)

    def git(self, *args: str, cwd: Path | None = None) -> str:
        return self.sh("git", *args, cwd=cwd).stdout.strip()

    def commit(self, message: str) -> str:
        """Commit every change as a test author; the new commit."""
        self.git("add", "--all")
        self.git("-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", message)
        return self.git("rev-parse", "HEAD")

    def repro(self) -> subprocess.CompletedProcess[str]:
        return self.sh("dvc", "repro")

    def repro_and_commit(self, message: str) -> str:
        self.repro()
        return self.commit(message)

    def set_param(self, key: str, old: str, new: str) -> None:
        """Replace `key: old` by `key: new`, once, in params.yaml."""
        path = self.project / "params.yaml"
        text = path.read_text()
        assert f"{key}: {old}" in text
        path.write_text(text.replace(f"{key}: {old}", f"{key}: {new}", 1))

    def lock_md5(self, path: str) -> str:
        """The md5 dvc.lock records for the output at `path`."""
        lock = yaml.safe_load((self.project / "dvc.lock").read_text())
        return next(
            out["md5"]
            for stage in lock["stages"].values()
            for out in stage.get("outs", [])
            if out["path"] == path
        )

    def registry(self, uri: str | None = None) -> dict:
        """Aliases and versions (tags, run) of the model, read as a user would."""
        uri = uri or self.env["MLFLOW_TRACKING_URI"]
        shown = self.project_env.run(
            ["python", "-c", INSPECT_REGISTRY, uri, MODEL], cwd=self.project
        )
        return json.loads(shown.stdout)
