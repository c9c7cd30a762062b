"""stack: a production-like release stack on this machine, without Docker.

`mlops stack up` starts, on 127.0.0.1, an MLflow tracking server with a SQLite
backend (under .stack/) whose model artifacts go to `stack.artifacts_destination`
(params.yaml): an S3 bucket, or a folder. With `--local-s3` an S3-compatible
server (moto) runs beside it, holds the buckets of that destination and of the
DVC remote, and DVC is pointed at it in .dvc/config.local. The addresses the
project needs are written to .stack.env (load it with `set -a; . ./.stack.env;
set +a`). `mlops stack down` stops what `up` started.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from ..errors import ProjectError
from ..integrations.dvc import dvc
from ..integrations.serving import LOOPBACK, free_port
from ..params import Params

STATE = ".stack"
ENV_FILE = ".stack.env"
START_SECONDS = 120
# moto accepts any credentials; these only keep boto3 from looking for real ones.
LOCAL_S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local-stack",
    "AWS_SECRET_ACCESS_KEY": "local-stack",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass(frozen=True)
class Options:
    action: str
    local_s3: bool = False
    port: int | None = None


class StackError(ProjectError):
    """The local stack could not start or stop."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("up", "down"), help="start or stop the stack")
    parser.add_argument(
        "--local-s3",
        action="store_true",
        help="also run an S3-compatible server (moto, in memory) for the buckets: no AWS needed",
    )
    parser.add_argument(
        "--port",
        type=_port,
        help="the MLflow server's port (default: stack.port in params.yaml; 0: any free port)",
    )


def _port(text: str) -> int:
    """A TCP port, or 0 for any free one."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a port: give 1 to 65535, or 0 for any free port"
        )
    return value


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status < 500
    except urllib.error.HTTPError as error:
        return error.code < 500
    except (urllib.error.URLError, OSError):
        return False


def _start(command: list[str], env: dict[str, str], log: Path, ready_url: str) -> int:
    """Start a server in its own session, detached from this command; wait until it answers."""
    with log.open("w") as sink:
        process = subprocess.Popen(
            command, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + START_SECONDS
    while not _answers(ready_url):
        if process.poll() is not None or time.monotonic() > deadline:
            _stop(process.pid)
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-10:])
            raise StackError(f"`{' '.join(command[:4])}` did not start; its log {log}:\n{tail}")
        time.sleep(0.3)
    return process.pid


def _stop(pid: int) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        for _ in range(50):
            try:
                os.killpg(pid, 0)
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(0.2)


def _buckets(params: Params) -> list[str]:
    """The buckets the project writes to: the artifact destination's and the DVC remote's."""
    names = []
    remote_url = dvc(params.root, "remote", "list").stdout.split()
    for url in [params.stack.artifacts_destination, *remote_url]:
        parsed = urlparse(url)
        if parsed.scheme == "s3" and parsed.netloc and parsed.netloc not in names:
            names.append(parsed.netloc)
    return names


def _default_remote(params: Params) -> str:
    return dvc(params.root, "remote", "default").stdout.strip()


# What `--local-s3` runs: the s3 dependency group (not installed with storage=local).
LOCAL_S3_MODULES = ("moto", "boto3")


def require_local_s3() -> None:
    missing = [name for name in LOCAL_S3_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise StackError(
            f"--local-s3 needs {' and '.join(missing)} (not installed): run "
            "`uv sync --group s3` (the s3 dependency group), then `mlops stack up --local-s3`"
        )


def _start_local_s3(
    params: Params, env: dict[str, str], state: Path, pids: dict[str, int]
) -> dict[str, str]:
    """Start moto with the project's buckets and point DVC's default remote at it; the
    environment that reaches it. Its process id goes into `pids` as soon as it runs."""
    s3_port = free_port()
    endpoint = f"http://{LOOPBACK}:{s3_port}"
    command = [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(s3_port)]
    pids["s3"] = _start(command, env, state / "s3.log", f"{endpoint}/moto-api/")
    s3_env = {**LOCAL_S3_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}
    s3_env["MLFLOW_S3_ENDPOINT_URL"] = endpoint
    _create_buckets(_buckets(params), endpoint)
    remote = _default_remote(params)
    if remote:
        for key, value in (("endpointurl", endpoint), ("region", "us-east-1")):
            dvc(params.root, "remote", "modify", "--local", remote, key, value)
        print(f"stack: DVC remote '{remote}' -> {endpoint} (.dvc/config.local)")
    print(f"stack: S3-compatible store (moto, in memory) at {endpoint}")
    return s3_env


def up(params: Params, options: Options) -> int:
    root = params.root
    state = root / STATE
    pids_file = state / "pids.json"
    if options.local_s3:
        require_local_s3()
    if pids_file.is_file():
        raise StackError(f"the stack is up already ({pids_file}); run `mlops stack down` first")
    state.mkdir(exist_ok=True)
    destination = params.stack.artifacts_destination
    if urlparse(destination).scheme not in ("s3", "gs", "azure", "https", "http"):
        destination = str((root / destination).resolve())
    env = {
        **os.environ,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    written: dict[str, str] = {}
    pids: dict[str, int] = {}
    try:
        if options.local_s3:
            s3_env = _start_local_s3(params, env, state, pids)
            env.update(s3_env)
            written.update(s3_env)
        port = free_port() if options.port == 0 else (options.port or params.stack.port)
        url = f"http://{LOOPBACK}:{port}"
        command = [
            *(sys.executable, "-m", "mlflow", "server"),
            *("--backend-store-uri", f"sqlite:///{(state / 'mlflow.db').resolve()}"),
            *("--artifacts-destination", destination),
            *("--host", LOOPBACK, "--port", str(port), "--workers", "1"),
        ]
        pids["mlflow"] = _start(command, env, state / "mlflow.log", f"{url}/health")
    except BaseException:
        for pid in pids.values():
            _stop(pid)
        raise
    written["MLFLOW_TRACKING_URI"] = url
    pids_file.write_text(json.dumps({**pids, "local_s3": options.local_s3}), encoding="utf-8")
    lines = [f"{key}={value}" for key, value in written.items()]
    (root / ENV_FILE).write_text(
        "# Written by `mlops stack up`; load with: set -a; . ./.stack.env; set +a\n"
        + "\n".join(lines)
        + "\n",
        encoding="utf-8",
    )
    print(f"stack: MLflow server at {url}, artifacts in {destination}")
    print(f"stack: wrote {ENV_FILE}; load it with `set -a; . ./{ENV_FILE}; set +a`")
    return 0


def _create_buckets(names: list[str], endpoint: str) -> None:
    try:
        import boto3
    except ImportError:
        raise StackError(
            "--local-s3 needs boto3 and moto: install the s3 group (`uv sync --group s3`)"
        ) from None
    client = boto3.client("s3", endpoint_url=endpoint, **_boto_credentials())
    for name in names:
        client.create_bucket(Bucket=name)
        print(f"stack: created bucket s3://{name}")


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": LOCAL_S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": LOCAL_S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": LOCAL_S3_CREDENTIALS["AWS_DEFAULT_REGION"],
    }


def down(params: Params) -> int:
    root = params.root
    pids_file = root / STATE / "pids.json"
    if not pids_file.is_file():
        print("stack: not running (no .stack/pids.json); nothing to stop")
        return 0
    started = json.loads(pids_file.read_text(encoding="utf-8"))
    for name in ("mlflow", "s3"):
        if name in started:
            _stop(int(started[name]))
            print(f"stack: stopped {name} (process group {started[name]})")
    pids_file.unlink()
    (root / ENV_FILE).unlink(missing_ok=True)
    if started.get("local_s3"):
        remote = _default_remote(params)
        if remote:
            for key in ("endpointurl", "region"):
                dvc(root, "remote", "modify", "--local", "--unset", remote, key)
        # The in-memory store is gone: a registry pointing at its objects would lie.
        shutil.rmtree(root / STATE, ignore_errors=True)
        print("stack: the in-memory S3 store is gone, and with it the registry under .stack/")
    return 0


def run(params: Params, options: Options) -> int:
    if options.action == "up":
        return up(params, options)
    return down(params)
