"""Measure the generated project's daily waits against floors that do the same work bare.

`make bench` bakes a project with the defaults, installs it, and prints a table
(also written to benchmarks/out/results.json). Each figure is the median of
several runs; each timing is paired with a floor measured in the same run, and
the ratio says how much the machinery around the work costs.

This is a benchmark, not a test: it asserts nothing and is not run by CI.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cookiecutter.main import cookiecutter
from timing import median_time

TEMPLATE = Path(__file__).resolve().parents[1]
OUT = TEMPLATE / "benchmarks" / "out"
QUIET_ENV = {
    "DVC_NO_ANALYTICS": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "UV_PYTHON_DOWNLOADS": "never",
    "UV_NO_PROGRESS": "1",
}


@dataclass
class Figure:
    name: str
    seconds: float | None = None
    floor_seconds: float | None = None
    floor: str = ""
    target: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.seconds is None or not self.floor_seconds:
            return None
        return self.seconds / self.floor_seconds


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class Project:
    """A baked, installed project and a way to run commands in its environment."""

    def __init__(self, root: Path, venv: Path):
        self.root = root
        self.venv = venv
        self.env = {
            **os.environ,
            **QUIET_ENV,
            "VIRTUAL_ENV": str(venv),
            "UV_PROJECT_ENVIRONMENT": str(venv),
            "UV_PYTHON": sys.executable,
            "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        }
        self.env.pop("MLFLOW_TRACKING_URI", None)

    def run(self, *command: str | os.PathLike, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(c) for c in command],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
        )

    def run_measured(self, *command: str | os.PathLike) -> tuple[float, int]:
        """Wall seconds and peak RSS (KiB) of one process (not its children)."""
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(c) for c in command],
            cwd=self.root,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{command} failed")
        return elapsed, usage.ru_maxrss

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def package(self) -> str:
        return next(p.name for p in (self.root / "src").iterdir() if p.is_dir())

    def clean_outputs(self) -> None:
        for relative in (
            "data/raw",
            "data/split",
            "data/features.json",
            "models",
            "reports",
            "metrics.json",
            "dvc.lock",
            "mlflow.db",
            "mlartifacts",
        ):
            target = self.root / relative
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
        shutil.rmtree(self.root / ".dvc" / "cache", ignore_errors=True)


def bench_bake(scratch: Path, repeat: int) -> Figure:
    counter = iter(range(10_000))

    def bake_once() -> None:
        cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(scratch / f"bake{next(counter)}"))

    def copy_once() -> None:
        shutil.copytree(
            TEMPLATE / "{{cookiecutter.project_slug}}", scratch / f"copy{next(counter)}"
        )

    return Figure(
        "bake (cookiecutter, defaults, git init)",
        median_time(bake_once, repeat),
        median_time(copy_once, repeat),
        "copy of the template folder",
    )


def bench_install(project_root: Path, scratch: Path, repeat: int) -> tuple[Figure, Project]:
    uv = shutil.which("uv")
    venvs = iter(range(10_000))
    requirements = scratch / "requirements.txt"
    subprocess.run(
        [uv, "export", "--locked", "--no-hashes", "--no-emit-project", "-o", str(requirements)],
        cwd=project_root,
        check=True,
        capture_output=True,
        env={**os.environ, **QUIET_ENV},
    )

    def sync_once() -> Path:
        venv = scratch / f"venv{next(venvs)}"
        Project(project_root, venv).run(uv, "sync", "--locked")
        return venv

    def floor_once() -> None:
        venv = scratch / f"floor{next(venvs)}"
        env = {**os.environ, **QUIET_ENV}
        subprocess.run([uv, "venv", "-q", "-p", sys.executable, str(venv)], check=True, env=env)
        subprocess.run(
            [
                uv,
                "pip",
                "install",
                "-q",
                "--python",
                str(venv / "bin" / "python"),
                "--no-deps",
                "--compile-bytecode",
                "-r",
                str(requirements),
            ],
            check=True,
            env=env,
        )

    sync_once()  # warm the cache
    seconds = median_time(sync_once, repeat)
    floor = median_time(floor_once, repeat)
    venv = sync_once()
    size = subprocess.run(["du", "-sm", str(venv)], capture_output=True, text=True, check=True)
    figure = Figure(
        "install from uv.lock (warm cache, bytecode compiled)",
        seconds,
        floor,
        "uv pip install of the same pinned set",
        extra={"venv_mb": int(size.stdout.split()[0])},
    )
    return figure, Project(project_root, venv)


def bench_repro(project: Project, repeat: int) -> list[Figure]:
    def scratch_run() -> None:
        project.clean_outputs()
        project.run("dvc", "repro")

    scratch_seconds = median_time(scratch_run, repeat)
    noop_seconds = median_time(lambda: project.run("dvc", "repro"), max(repeat, 5))
    status_floor = median_time(lambda: project.run("python", "-c", "pass"), max(repeat, 5))

    params = project.root / "params.yaml"
    original = params.read_text()
    reran: list[str] = []
    counter = iter(range(1, 10_000))

    def one_change() -> None:
        value = 1.0 + next(counter) / 100
        text = original.replace("C: 1.0", f"C: {value}").replace("alpha: 1.0", f"alpha: {value}")
        params.write_text(text)
        output = project.run("dvc", "repro").stdout
        reran[:] = [
            line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")
        ]

    change_seconds = median_time(one_change, repeat)
    params.write_text(original)
    project.run("dvc", "repro")
    floor = bench_floor(project, repeat)
    return [
        Figure(
            "dvc repro from scratch",
            scratch_seconds,
            floor,
            "bare pipeline in one process",
            target="within 3x the floor",
        ),
        Figure(
            "dvc repro, nothing changed",
            noop_seconds,
            status_floor,
            "python -c pass",
            target="under 1.5 s",
        ),
        Figure(
            "dvc repro after one hyperparameter change",
            change_seconds,
            floor,
            "bare pipeline in one process",
            extra={"stages_rerun": reran},
        ),
    ]


FLOOR_SCRIPT = textwrap.dedent("""
    import json, sys, yaml
    import numpy as np
    from sklearn import datasets, metrics
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    params = yaml.safe_load(open("params.yaml"))
    classification = params["task"] == "classification"
    loader = datasets.load_breast_cancer if classification else datasets.load_diabetes
    X, y = loader(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=params["split"]["test_size"], random_state=params["split"]["seed"],
        stratify=y if classification else None)
    hp = params["model"]["hyperparameters"][params["model"]["type"]]
    estimator = LogisticRegression(**hp) if classification else Ridge(**hp)
    numeric = Pipeline([("impute", SimpleImputer(strategy="median")),
                        ("scale", StandardScaler())])
    model = Pipeline([("pre", ColumnTransformer([("num", numeric, list(X.columns))])),
                      ("estimator", estimator)]).fit(X_train, y_train)
    predicted = model.predict(X_test)
    if classification:
        scores = {"accuracy": metrics.accuracy_score(y_test, predicted),
                  "roc_auc": metrics.roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])}
    else:
        scores = {"rmse": metrics.root_mean_squared_error(y_test, predicted)}
    json.dump(scores, sys.stdout)
""")


def bench_floor(project: Project, repeat: int) -> float:
    script = project.root / ".floor.py"
    script.write_text(FLOOR_SCRIPT)
    try:
        return median_time(lambda: project.run("python", str(script)), repeat)
    finally:
        script.unlink()


# Runs one stage as `python -m PACKAGE STAGE` would and writes the names of every
# module it loaded (lazy imports included), in the order they were loaded.
RECORD_IMPORTS = textwrap.dedent("""
    import json, runpy, sys
    package, stage, out = sys.argv[1:4]
    sys.argv = [package, stage]
    try:
        runpy.run_module(package, run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        if stop.code:
            raise
    with open(out, "w") as handle:
        json.dump(list(sys.modules), handle)
""")

# Imports the recorded modules in the same order and does nothing else: the price of
# a stage's process start and imports, lazy ones included.
REPLAY_IMPORTS = textwrap.dedent("""
    import importlib, json, sys
    for name in json.load(open(sys.argv[1])):
        if name not in sys.modules and name != "__main__":
            try:
                importlib.import_module(name)
            except Exception:
                pass
""")


def stage_imports(project: Project, stage: str, scratch: Path, repeat: int) -> float:
    recorder, replayer = scratch / "record.py", scratch / "replay.py"
    recorder.write_text(RECORD_IMPORTS)
    replayer.write_text(REPLAY_IMPORTS)
    modules = scratch / f"{stage}-modules.json"
    project.run("python", str(recorder), project.package, stage, str(modules))
    return median_time(lambda: project.run("python", str(replayer), str(modules)), repeat)


def bench_stages(project: Project, scratch: Path, repeat: int) -> tuple[list[Figure], dict]:
    figures, peaks = [], {}
    startup = median_time(lambda: project.run("python", "-c", "pass"), repeat)
    for stage in ("ingest", "validate", "split", "train", "evaluate"):
        samples = [
            project.run_measured("python", "-m", project.package, stage) for _ in range(repeat)
        ]
        seconds = statistics.median(s for s, _ in samples)
        peaks[stage] = max(kib for _, kib in samples)
        imports = stage_imports(project, stage, scratch, repeat)
        figures.append(
            Figure(
                f"stage {stage}",
                seconds,
                imports,
                "process start + imports",
                extra={
                    "imports_s": round(imports, 3),
                    "startup_s": round(startup, 3),
                    "peak_rss_mb": round(peaks[stage] / 1024, 1),
                },
            )
        )
    project.run("dvc", "repro")
    return figures, peaks


def bench_report(project: Project, repeat: int) -> Figure:
    """`mlops report` on a branch against the baseline committed on main."""
    identity = ["-c", "user.name=Bench", "-c", "user.email=bench@example.com"]
    project.run("git", "add", "--all")
    project.run("git", *identity, "commit", "-qm", "Baseline")
    project.run("git", "switch", "-qc", "bench-branch")
    params = project.root / "params.yaml"
    params.write_text(
        params.read_text().replace("C: 1.0", "C: 0.5").replace("alpha: 1.0", "alpha: 0.5")
    )
    project.run("dvc", "repro")
    seconds = median_time(lambda: project.run("mlops", "report"), repeat)
    floor = median_time(lambda: project.run("git", "show", "main:metrics.json"), repeat)
    return Figure(
        "pull-request report against main",
        seconds,
        floor,
        "git show of the baseline",
        target="under 5 s",
    )


def bench_in_project(project: Project, rows: int, repeat: int) -> list[Figure]:
    script = Path(__file__).with_name("inproject.py")
    result = project.run("python", str(script), project.package, str(rows), str(repeat))
    out = json.loads(result.stdout.strip().splitlines()[-1])
    label = f"{rows:,} rows x {out['features']} columns"
    return [
        Figure(
            f"data validation (GX suite), {label}",
            out["validation_s"],
            out["validation_floor_s"],
            "the same checks in plain pandas",
            target="within 6x the floor, plus GX's import",
            extra={
                "gx_import_s": round(out["gx_import_s"], 2),
                "failing_s": round(out["validation_failing_s"], 3),
            },
        ),
        Figure(
            f"drift check, {label}",
            out["drift_s"],
            out["drift_floor_s"],
            "bare loop of scipy ks_2samp",
            target="no slower than the floor",
            extra={"reference_profile_s": round(out["drift_profile_s"], 2)},
        ),
        Figure(
            "serving, one row, p50 (200 requests)",
            out["serve_p50_s"],
            out["predict_p50_s"],
            "in-process predict p50",
            extra={
                "p95_s": round(out["serve_p95_s"], 4),
                "predict_p95_s": round(out["predict_p95_s"], 5),
            },
        ),
    ]


STAGES = ("ingest", "validate", "split", "train", "evaluate")


@dataclass
class ScaleRow:
    rows: int
    stages: dict[str, float]
    peaks_mb: dict[str, float]
    repro_s: float
    floor_s: float
    floor_peak_mb: float

    @property
    def pipeline_s(self) -> float:
        return sum(self.stages.values())


def bench_scale(project: Project, sizes: Sequence[int]) -> list[ScaleRow]:
    """The whole pipeline on a synthetic data set of each size, against one process doing it.

    Each stage runs as its own process (as under DVC) for its wall time and peak RSS;
    then `dvc repro` from scratch adds DVC's hashing and bookkeeping of the bigger files.
    """
    helper = Path(__file__).with_name("scale.py")
    params = project.root / "params.yaml"
    original = params.read_text()
    data = project.root / "data" / "input" / "scale.parquet"
    suite = project.root / "gx" / "expectations" / "scale.json"
    results = []
    try:
        source = f"source: {data.relative_to(project.root)}"
        text = re.sub(r"(?m)^(  )source: .*$", rf"\g<1>{source}", original)
        params.write_text(re.sub(r"(?m)^(  )suite: .*$", r"\g<1>suite: scale", text))
        for rows in sizes:
            log(f"scale: {rows:,} rows")
            project.run("python", str(helper), "make", str(rows), str(data))
            project.clean_outputs()
            project.run("python", "-m", project.package, "ingest")
            suite.unlink(missing_ok=True)
            project.run("mlops", "suggest-suite")
            project.clean_outputs()
            stages, peaks = {}, {}
            for stage in STAGES:
                seconds, kib = project.run_measured("python", "-m", project.package, stage)
                stages[stage], peaks[stage] = seconds, round(kib / 1024, 1)
            project.clean_outputs()
            started = time.perf_counter()
            project.run("dvc", "repro")
            repro = time.perf_counter() - started
            floor = json.loads(project.run("python", str(helper), "floor", str(data)).stdout)
            results.append(
                ScaleRow(
                    rows, stages, peaks, repro, floor["seconds"], round(floor["peak_rss_mb"], 1)
                )
            )
    finally:
        params.write_text(original)
        data.unlink(missing_ok=True)
        suite.unlink(missing_ok=True)
        project.clean_outputs()
    return results


def render_scale(rows: Sequence[ScaleRow]) -> str:
    stage_heads = " | ".join(STAGES)
    lines = [
        f"| rows | {stage_heads} | stages | dvc repro | floor | overhead"
        " | peak RSS (stage) | floor RSS |",
        "| ---: |" + " ---: |" * (len(STAGES) + 6) + " ",
    ]
    for r in rows:
        cells = " | ".join(f"{r.stages[s]:.2f} s" for s in STAGES)
        largest = max(r.peaks_mb, key=r.peaks_mb.get)
        overhead = r.repro_s - r.floor_s
        lines.append(
            f"| {r.rows:,} | {cells} | {r.pipeline_s:.2f} s | {r.repro_s:.2f} s | {r.floor_s:.2f} s"
            f" | {overhead:.1f} s ({r.repro_s / r.floor_s:.1f}x) | {r.peaks_mb[largest]:.0f} MB"
            f" ({largest}) | {r.floor_peak_mb:.0f} MB |"
        )
    lines[1] = lines[1].rstrip()
    return "\n".join(lines) + "\n"


def growth(rows: Sequence[ScaleRow]) -> dict[str, float | None]:
    """Per stage, how its cost above the smallest size grows with the rows above it.

    The exponent k in (t(n) - t(n0)) ~ (n - n0)^k between the two larger sizes: 1 is
    linear, 2 quadratic. None where the extra cost is not positive (lost in noise).
    """
    if len(rows) < 3:
        return {}
    small, middle, large = rows[0], rows[1], rows[-1]
    exponents: dict[str, float | None] = {}
    for stage in (*STAGES, "stages", "dvc repro", "floor"):
        first, second, third = (cost(r, stage) for r in (small, middle, large))
        if second <= first or third <= first:
            exponents[stage] = None
            continue
        spread = (large.rows - small.rows) / (middle.rows - small.rows)
        exponents[stage] = round(math.log((third - first) / (second - first), spread), 2)
    return exponents


def cost(row: ScaleRow, stage: str) -> float:
    special = {"stages": row.pipeline_s, "dvc repro": row.repro_s, "floor": row.floor_s}
    return special[stage] if stage in special else row.stages[stage]


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value >= 0.1 else f"{value * 1000:.1f} ms"


def render(figures: Sequence[Figure], machine: dict) -> str:
    lines = [
        f"Machine: {machine['cpus']} CPUs, {machine['platform']}, Python {machine['python']}; "
        f"{machine['date']}",
        "",
        "| figure | median | floor | floor is | ratio | target | notes |",
        "| --- | ---: | ---: | --- | ---: | --- | --- |",
    ]
    for f in figures:
        seconds = "n/a" if f.seconds is None else _seconds(f.seconds)
        floor = "n/a" if f.floor_seconds is None else _seconds(f.floor_seconds)
        ratio = "" if f.ratio is None else f"{f.ratio:.1f}x"
        notes = ", ".join(f"{k}={v}" for k, v in f.extra.items())
        lines.append(
            f"| {f.name} | {seconds} | {floor} | {f.floor} | {ratio} | {f.target} | {notes} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows for validation and drift")
    parser.add_argument(
        "--task", default="classification", choices=["classification", "regression"]
    )
    parser.add_argument(
        "--scale",
        default="10000,100000,1000000",
        help="row counts for the whole pipeline on synthetic data (comma-separated; '' skips)",
    )
    parser.add_argument(
        "--only-scale", action="store_true", help="bake, install, and run only the scale figures"
    )
    args = parser.parse_args()
    sizes = [int(n) for n in args.scale.split(",") if n.strip()]
    if shutil.which("uv") is None:
        sys.exit("uv is not on PATH: run `make bench`")
    OUT.mkdir(parents=True, exist_ok=True)
    machine = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    figures: list[Figure] = []
    scale: list[ScaleRow] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        scratch = Path(tmp)
        if not args.only_scale:
            log("bake")
            figures.append(bench_bake(scratch, args.repeat))
        root = Path(
            cookiecutter(
                str(TEMPLATE),
                no_input=True,
                output_dir=str(scratch / "project"),
                extra_context={"task": args.task},
            )
        )
        log("install")
        if args.only_scale:
            project = Project(root, scratch / "venv")
            project.run(shutil.which("uv") or "uv", "sync", "--locked")
        else:
            install, project = bench_install(root, scratch, args.repeat)
            figures.append(install)
            log("dvc repro")
            figures.extend(bench_repro(project, args.repeat))
            log("stages")
            stage_figures, peaks = bench_stages(project, scratch, args.repeat)
            figures.extend(stage_figures)
            # How much of a from-scratch run no stage can avoid: five processes' start and imports.
            from_scratch = next(f for f in figures if f.name == "dvc repro from scratch")
            from_scratch.extra["stage_imports_s"] = round(
                sum(f.extra["imports_s"] for f in stage_figures), 2
            )
        if sizes:
            scale = bench_scale(project, sizes)
        if not args.only_scale:
            log("report against main")
            figures.append(bench_report(project, args.repeat))
            log(f"validation, drift and serving on {args.rows:,} rows")
            figures.extend(bench_in_project(project, args.rows, args.repeat))
            largest = max(peaks, key=peaks.get)
            figures.append(
                Figure(
                    f"peak memory of the largest step ({largest})",
                    extra={"peak_rss_mb": round(peaks[largest] / 1024, 1)},
                )
            )
    table = render(figures, machine)
    if scale:
        table += "\nThe whole pipeline on synthetic data (one run per size):\n\n" + render_scale(
            scale
        )
        table += (
            "\nGrowth exponent k of the cost above the smallest size, (t - t0) ~ (n - n0)^k"
            f" (1 is linear): {growth(scale)}\n"
        )
    print(table)
    payload = {
        "machine": machine,
        "figures": [{**asdict(f), "ratio": f.ratio} for f in figures],
        "scale": [{**asdict(r), "pipeline_s": r.pipeline_s} for r in scale],
        "growth": growth(scale),
    }
    (OUT / "results.json").write_text(json.dumps(payload, indent=2) + "\n")
    (OUT / "results.md").write_text(table)
    log(f"wrote {OUT.relative_to(TEMPLATE)}/results.json and results.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
