"""How often the pull-request gate fails a harmless change, and how often it catches a real one.

Usage: make bench-gate          (bakes a default project, installs it, runs this inside it)
       python benchmarks/gate_noise.py --inside PACKAGE [--rows N]   (in a baked project's env)

A benchmark, not a test: it measures and prints; nothing here asserts.

On a synthetic binary data set (10,000 rows by default, 20% test rows, as the
project splits), a random forest is the model on `main`. Then:

- 20 changes that do not change the model's quality: 10 other forest seeds and 10
  other orders of the training rows (same seed). A gate that fails one of them
  fails on noise.
- 20 planted regressions: 10 with a share of the training labels flipped, 10 with
  one informative feature dropped. A gate that passes one of them misses a real drop.

Each change is judged with the project's own rules (params.yaml `gates:`) by the
point rule (the change on all test rows against the tolerance) and by the interval
rule (the whole 95% paired-bootstrap interval below -tolerance), side by side; then
the paired bootstrap's time at 10k, 100k and 1M test rows.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE.parent
CHANGES = 20


def log(message: str) -> None:
    print(f"[bench-gate] {message}", file=sys.stderr, flush=True)


def bake_and_run(rows: str) -> int:
    """Bake a default project, install it from its lock, and run this file inside it."""
    from cookiecutter.main import cookiecutter

    uv = shutil.which("uv")
    if uv is None:
        sys.exit("uv is not on PATH: run `make bench-gate`")
    quiet = {"DVC_NO_ANALYTICS": "1", "MLFLOW_DISABLE_TELEMETRY": "true"}
    with tempfile.TemporaryDirectory(prefix="bench-gate-") as tmp:
        root = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=tmp))
        env = {**os.environ, **quiet, "UV_PYTHON": sys.executable}
        log("install the baked project")
        subprocess.run([uv, "sync", "--locked", "-q"], cwd=root, env=env, check=True)
        package = next(p.name for p in (root / "src").iterdir() if p.is_dir())
        command = [uv, "run", "--no-sync", "python", __file__, "--inside", package]
        return subprocess.run(
            [*command, "--rows", rows, "--params", str(root / "params.yaml")],
            cwd=root,
            env=env,
            check=False,
        ).returncode


def inside(package: str, rows: int, params_path: str, *, timings: bool) -> None:
    import numpy as np
    import yaml
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    paired = importlib.import_module(f"{package}.core.paired")
    gates = yaml.safe_load(Path(params_path).read_text(encoding="utf-8"))["gates"]

    informative = 6
    x, y = make_classification(
        n_samples=rows,
        n_features=12,
        n_informative=informative,
        n_redundant=0,
        flip_y=0.03,
        class_sep=0.9,
        shuffle=False,  # the informative features come first
        random_state=7,
    )
    order = np.random.default_rng(42).permutation(rows)
    cut = int(rows * 0.8)
    train, test = order[:cut], order[cut:]
    test_rows = paired.Rows("classification", y[test], (0, 1), 1)

    def fit(seed: int = 0, rows_seed: int | None = None, noise: float = 0.0, drop=None):
        features = [i for i in range(x.shape[1]) if i != drop]
        chosen = train.copy()
        labels = y.copy()
        if rows_seed is not None:
            chosen = np.random.default_rng(rows_seed).permutation(chosen)
        if noise:
            rng = np.random.default_rng(1000 + seed)
            flipped = rng.choice(chosen, size=int(noise * len(chosen)), replace=False)
            labels[flipped] = 1 - labels[flipped]
        model = RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1)
        model.fit(x[chosen][:, features], labels[chosen])
        return paired.Predictions(
            model.predict(x[test][:, features]), model.predict_proba(x[test][:, features])
        )

    def judge(candidate) -> dict[str, tuple[bool, float]]:
        """rule -> (fails, accuracy change): any gated metric regressed."""
        differences = paired.paired(test_rows, baseline, candidate)
        out = {}
        for decide in paired.DECISIONS:
            fails = False
            for name, rule in gates.items():
                verdict = paired.verdict(
                    differences[name],
                    direction=rule["direction"],
                    allowed_drop=float(rule.get("abs_tolerance", 0.0)),
                    gate=rule.get("gate", True),
                    decide=decide,
                )
                fails |= verdict == paired.REGRESSED
            out[decide] = (fails, differences["accuracy"].delta.point)
        return out

    log(f"{rows:,} rows, {len(test):,} test rows; fitting the baseline")
    baseline = fit()
    harmless = [("forest seed", lambda i: fit(seed=i + 1)) for _ in range(CHANGES // 2)] + [
        ("training-row order", lambda i: fit(rows_seed=i)) for _ in range(CHANGES // 2)
    ]
    noise_share = 0.30
    planted = [
        (f"{noise_share:.0%} of training labels flipped", lambda i: fit(seed=i, noise=noise_share))
        for _ in range(CHANGES // 2)
    ] + [
        ("an informative feature dropped", lambda i: fit(drop=i % informative))
        for _ in range(CHANGES // 2)
    ]
    results = {"harmless": [], "planted": []}
    for group, changes in (("harmless", harmless), ("planted", planted)):
        for index, (label, make) in enumerate(changes):
            judged = judge(make(index % (CHANGES // 2)))
            results[group].append((label, judged))
            log(f"{group} {index + 1}/{CHANGES}: {label}: {judged}")

    print(f"\nGate on {len(test):,} test rows ({rows:,} rows), rules from params.yaml `gates:`\n")
    print(
        "| changes | kind | accuracy change (min .. max) | point rule fails | interval rule fails |"
    )
    print("| --- | --- | --- | ---: | ---: |")
    for group in ("harmless", "planted"):
        for label in dict.fromkeys(label for label, _ in results[group]):
            rows_of = [judged for lab, judged in results[group] if lab == label]
            deltas = [judged["point"][1] for judged in rows_of]
            counts = {d: sum(judged[d][0] for judged in rows_of) for d in paired.DECISIONS}
            print(
                f"| {group} | {label} | {min(deltas):+.4f} .. {max(deltas):+.4f} | "
                f"{counts['point']}/{len(rows_of)} | {counts['interval']}/{len(rows_of)} |"
            )
    for decide in paired.DECISIONS:
        false_fails = sum(j[decide][0] for _, j in results["harmless"])
        detected = sum(j[decide][0] for _, j in results["planted"])
        print(
            f"\n{decide} rule: {false_fails} false fails in {CHANGES} harmless changes, "
            f"{detected} detections in {CHANGES} planted regressions"
        )

    if timings:
        bootstrap_times(paired)


def bootstrap_times(paired) -> None:
    import numpy as np

    print("\n| test rows | paired bootstrap, 1,000 resamples, 5 metrics x 2 models |")
    print("| ---: | ---: |")
    rng = np.random.default_rng(0)
    for count in (10_000, 100_000, 1_000_000):
        truth = rng.integers(0, 2, count)
        score = np.clip(truth * 0.3 + rng.random(count) * 0.7, 0, 1)
        probabilities = np.column_stack([1 - score, score])
        a = paired.Predictions((score > 0.5).astype(int), probabilities)
        b = paired.Predictions((score > 0.45).astype(int), probabilities)
        started = time.perf_counter()
        paired.paired(paired.Rows("classification", truth, (0, 1), 1), a, b)
        print(f"| {count:,} | {time.perf_counter() - started:.2f} s |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows",
        default="5000,10000",
        help="rows of the synthetic data set, comma-separated for several runs (each >= 5000)",
    )
    parser.add_argument("--inside", metavar="PACKAGE", help="run in a baked project's env")
    parser.add_argument("--params", default="params.yaml", help="the project's params.yaml")
    args = parser.parse_args()
    sizes = [int(part) for part in args.rows.split(",") if part.strip()]
    if not sizes or min(sizes) < 5_000:
        parser.error("--rows must be at least 5000: a smaller data set says little about noise")
    if args.inside:
        for index, rows in enumerate(sizes):
            inside(args.inside, rows, args.params, timings=index == len(sizes) - 1)
        return 0
    return bake_and_run(args.rows)


if __name__ == "__main__":
    sys.exit(main())
