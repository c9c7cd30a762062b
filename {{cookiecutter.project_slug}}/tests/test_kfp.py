"""The Kubeflow pipeline: its IR, wired as dvc.yaml wires the stages, and its submission."""

import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from kfp import components

from {{ cookiecutter.package_name }} import integrations
from {{ cookiecutter.package_name }}.catalog import STAGES
from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.integrations import kfp_step
from {{ cookiecutter.package_name }}.params import load_params

ROOT = Path(__file__).resolve().parents[1]
PATH_KEY = re.compile(r"^\$\{paths\.(\w+)\}$")


def kfp_compile(output, *extra) -> int:
    """`mlops kfp compile --output OUTPUT` on the project's params.yaml; its exit code."""
    return main(
        ["--params", str(ROOT / "params.yaml"), "kfp", "compile", "--output", str(output), *extra]
    )


def compiled(tmp_path, *extra) -> dict:
    output = tmp_path / "pipeline.yaml"
    assert kfp_compile(output, *extra) == 0
    return yaml.safe_load(output.read_text(encoding="utf-8")) | {"_file": output}


def dvc_graph() -> dict[str, dict]:
    """Per stage of dvc.yaml: the `paths:` keys it reads and writes, and its params keys."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]

    def keys(entries) -> set[str]:
        names = (next(iter(entry)) if isinstance(entry, dict) else entry for entry in entries)
        return {match[1] for name in names if (match := PATH_KEY.match(name))}

    return {
        name: {
            "reads": keys(stage["deps"]),
            "writes": keys(
                stage.get("outs", []) + stage.get("metrics", []) + stage.get("plots", [])
            ),
            "params": set(stage["params"]),
        }
        for name, stage in stages.items()
    }


def test_the_ir_loads_back_and_names_every_stage(tmp_path):
    spec = compiled(tmp_path)
    loaded = components.load_component_from_file(str(spec["_file"]))
    assert loaded.name == "my-ml-project"
    assert set(spec["root"]["dag"]["tasks"]) == set(STAGES) == set(dvc_graph())


def test_artifacts_and_parameters_are_wired_as_dvc_yaml_wires_them(tmp_path):
    tasks = compiled(tmp_path)["root"]["dag"]["tasks"]
    spec = compiled(tmp_path)
    graph = dvc_graph()
    writer = {key: stage for stage, wired in graph.items() for key in wired["writes"]}
    for stage, wired in graph.items():
        inputs = tasks[stage]["inputs"]
        artifacts = {
            name: (
                source["taskOutputArtifact"]["producerTask"],
                source["taskOutputArtifact"]["outputArtifactKey"],
            )
            for name, source in inputs.get("artifacts", {}).items()
        }
        # Every dependency another stage writes is an input artifact from that stage's output.
        assert artifacts == {key: (writer[key], key) for key in wired["reads"] if key in writer}, (
            stage
        )
        outputs = spec["components"][f"comp-{stage}"]["outputDefinitions"]["artifacts"]
        # evaluate also writes paths.train_run (the MLflow run's ids), which dvc.yaml
        # leaves out of its outs because the ids differ on every run (see dvc.yaml).
        unrecorded = {"train_run"} if stage == "evaluate" else set()
        assert set(outputs) == wired["writes"] | unrecorded, stage
        # Each params key the stage lists is a parameter, fed by the pipeline's of that name.
        parameters = {
            name: source["componentInputParameter"]
            for name, source in inputs.get("parameters", {}).items()
        }
        assert all(name == source for name, source in parameters.items()), stage
        keys = {name.removesuffix("_json").replace("_", ".") for name in parameters}
        assert keys == wired["params"], stage


def test_parameters_default_to_params_yaml_and_steps_get_their_image_and_requests(tmp_path):
    params = load_params(ROOT / "params.yaml")
    spec = compiled(tmp_path, "--image", "registry.invalid/team/project:abc123")
    defaults = {
        name: definition["defaultValue"]
        for name, definition in spec["root"]["inputDefinitions"]["parameters"].items()
    }
    assert json.loads(defaults["model_json"]) == params.raw["model"]
    assert json.loads(defaults["data_json"]) == params.raw["data"]
    assert json.loads(defaults["split_json"]) == params.raw["split"]
    assert defaults["split_seed"] == params.split.seed
    assert defaults["validation_suite"] == params.validation.suite
    assert defaults["task"] == params.task
    requested = params.raw["kubeflow"]["resources"]
    for stage in STAGES:
        container = spec["deploymentSpec"]["executors"][f"exec-{stage}"]["container"]
        assert container["image"] == "registry.invalid/team/project:abc123"
        assert container["resources"]["resourceCpuRequest"] == requested[stage]["cpu"]
        assert container["resources"]["resourceMemoryRequest"] == requested[stage]["memory"]


def test_a_bad_resource_request_is_one_error_line(tmp_path, capsys):
    text = (
        (ROOT / "params.yaml").read_text(encoding="utf-8").replace("memory: 2Gi", "memory: lots", 1)
    )
    params_file = tmp_path / "params.yaml"
    params_file.write_text(text, encoding="utf-8")
    assert (
        main(["--params", str(params_file), "kfp", "compile", "--output", str(tmp_path / "p.yaml")])
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ".memory` is 'lots'" in err


def test_without_the_sdk_the_command_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "kfp", None)
    monkeypatch.delitem(sys.modules, "{{ cookiecutter.package_name }}.integrations.kfp", raising=False)
    monkeypatch.delattr(integrations, "kfp", raising=False)
    assert kfp_compile(tmp_path / "p.yaml") == 2
    assert "uv sync --group kubeflow" in capsys.readouterr().err


def test_a_step_fails_with_the_cli_exit_code_and_one_error_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    data = json.dumps(
        {**load_params(ROOT / "params.yaml").raw["data"], "source": "data/input/missing.csv"}
    )

    class Out:
        def __init__(self, name):
            self.path = str(tmp_path / name)

    with pytest.raises(SystemExit) as exited:
        kfp_step.run_stage(
            "ingest", {"data": data}, {"raw": Out("raw"), "features": Out("features")}
        )
    assert exited.value.code == 2
    out = capsys.readouterr().out
    assert out.startswith("error: ") and out.count("\n") == 1 and "missing.csv" in out


class StubKfp(BaseHTTPRequestHandler):
    """The few KFP v2beta1 endpoints a submission uses; records what it was sent."""

    sent: list

    def _reply(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.sent.append(("GET", self.path.split("?")[0], None))
        self._reply({})  # healthz; and no experiment of that name yet

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.sent.append(("POST", self.path, body))
        if self.path.endswith("/experiments"):
            self._reply({"experiment_id": "exp-1", "display_name": body["display_name"]})
        else:
            self._reply({"run_id": "run-7", "display_name": body["display_name"]})

    def log_message(self, *args):
        pass


def test_run_submits_the_pipeline_and_its_parameters_and_prints_the_run_url(tmp_path, capsys):
    from {{ cookiecutter.package_name }}.integrations.git import git_state

    StubKfp.sent = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubKfp)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        status = main(
            [
                "--params",
                str(ROOT / "params.yaml"),
                "kfp",
                "run",
                "--host",
                host,
                "--output",
                str(tmp_path / "p.yaml"),
            ]
        )
    finally:
        server.shutdown()
        thread.join()
    assert status == 0
    posts = {path: body for method, path, body in StubKfp.sent if method == "POST"}
    assert posts["/apis/v2beta1/experiments"]["display_name"] == "my-ml-project"
    run = posts["/apis/v2beta1/runs"]
    assert run["experiment_id"] == "exp-1"
    commit, _ = git_state(ROOT)
    assert run["display_name"].startswith(f"my-ml-project@{(commit or 'uncommitted')[:12]}")
    assert set(run["pipeline_spec"]["root"]["dag"]["tasks"]) == set(STAGES)
    sent_parameters = run["runtime_config"]["parameters"]
    assert (
        json.loads(sent_parameters["model_json"]) == load_params(ROOT / "params.yaml").raw["model"]
    )
    assert set(sent_parameters) == set(
        run["pipeline_spec"]["root"]["inputDefinitions"]["parameters"]
    )
    assert f"{host}/#/runs/details/run-7" in capsys.readouterr().out


def test_an_unreachable_host_is_one_error_line(tmp_path, capsys):
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubKfp)
    port = server.server_address[1]
    server.server_close()  # nothing listens there now
    status = main(
        [
            "--params",
            str(ROOT / "params.yaml"),
            "kfp",
            "run",
            "--host",
            f"http://127.0.0.1:{port}",
            "--output",
            str(tmp_path / "p.yaml"),
        ]
    )
    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: could not submit to the KFP API at http://127.0.0.1:{port}")
    assert err.count("\n") == 1
