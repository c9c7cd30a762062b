"""Serve a model with `mlflow models serve` and check that it answers like a model should.

The smoke test posts the input example MLflow saved beside the model to
`/invocations` and expects one prediction per row. Only the standard library is
used here: the check must be cheap to run against any serving URL.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from ..errors import ProjectError

INPUT_EXAMPLE = "serving_input_example.json"
LOOPBACK = "127.0.0.1"


class SmokeTestError(ProjectError):
    """The served model did not start, or did not answer the input example properly."""


def example_rows(payload: dict[str, Any]) -> int:
    """How many rows a serving payload holds, in any of MLflow's input formats."""
    if "dataframe_split" in payload:
        return len(payload["dataframe_split"]["data"])
    if "dataframe_records" in payload:
        return len(payload["dataframe_records"])
    for key in ("inputs", "instances"):
        if key in payload:
            value = payload[key]
            if isinstance(value, dict):
                return len(next(iter(value.values())))
            return len(value)
    raise SmokeTestError(
        f"the input example has none of MLflow's input keys (got {', '.join(payload)}); "
        "retrain so MLflow writes serving_input_example.json"
    )


def check_predictions(response: Any, rows: int) -> list:
    """The predictions of a response, if there is exactly one per input row."""
    predictions = response.get("predictions") if isinstance(response, dict) else None
    if not isinstance(predictions, list):
        raise SmokeTestError(
            f"the response has no list of predictions: {json.dumps(response)[:200]}"
        )
    if len(predictions) != rows:
        raise SmokeTestError(
            f"the model answered {len(predictions)} predictions for {rows} input rows"
        )
    return predictions


def load_example(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SmokeTestError(
            f"{path} is missing; the model directory must come from `dvc repro train` "
            "(or `dvc pull`), which saves it with its input example"
        ) from None


def smoke_test(url: str, example: Path, timeout: float = 30) -> list:
    """Post the input example to `<url>/invocations`; return the checked predictions."""
    if not url.startswith(("http://", "https://")):
        raise SmokeTestError(
            f"--url {url!r} is not an http:// or https:// address; "
            "give where the model is served, e.g. http://127.0.0.1:5000"
        )
    return predict(url, load_example(example), timeout)


def predict(url: str, payload: dict[str, Any], timeout: float = 30) -> list:
    """Post a serving payload to `<url>/invocations`; one prediction per row, or a
    SmokeTestError naming what went wrong."""
    rows = example_rows(payload)
    request = urllib.request.Request(
        url.rstrip("/") + "/invocations",
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            body = answer.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace")[:300]
        raise SmokeTestError(f"{url}/invocations answered HTTP {error.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as error:
        raise SmokeTestError(f"could not reach {url}/invocations: {error}") from None
    try:
        response = json.loads(body)
    except json.JSONDecodeError:
        raise SmokeTestError(f"{url}/invocations did not answer JSON: {body[:200]}") from None
    return check_predictions(response, rows)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def _answers_ping(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/ping", timeout=5) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


def stop(process: subprocess.Popen) -> None:
    """Stop a process started in its own session, and everything it started."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass
    # Workers may outlive a leader that exited on its own.
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def served(model_uri: str, timeout: float, env: dict[str, str] | None = None) -> Iterator[str]:
    """Serve `model_uri` on a free loopback port; yield its URL once it answers /ping."""
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    bin_dir = str(Path(sys.executable).parent)
    environment = {**os.environ, **(env or {})}
    # `mlflow models serve` starts uvicorn by name: it must be on PATH.
    environment["PATH"] = bin_dir + os.pathsep + environment.get("PATH", "")
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "models",
        "serve",
        "-m",
        model_uri,
        "--env-manager",
        "local",
        "-h",
        LOOPBACK,
        "-p",
        str(port),
        "-w",
        "1",
    ]
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=environment, start_new_session=True
        )
        try:
            deadline = time.monotonic() + timeout
            while not _answers_ping(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    tail = "\n".join(log.read().strip().splitlines()[-15:])
                    state = (
                        f"exited with {process.returncode}"
                        if process.poll() is not None
                        else f"did not answer {url}/ping within {timeout:g} s"
                    )
                    raise SmokeTestError(
                        f"`mlflow models serve -m {model_uri}` {state}; its last output:\n{tail}"
                    )
                time.sleep(0.5)
            yield url
        finally:
            stop(process)
