"""Typed, validated access to params.yaml.

Every stage calls `load_params()` once and passes the result down, so a bad
value fails before any work starts, with the key and the fix in the message.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from .core.gates import DIRECTIONS, MetricRule
from .core.model import ESTIMATORS
from .errors import ParamsError

DEFAULT_PARAMS_FILE = "params.yaml"
TASKS = tuple(ESTIMATORS)
MODEL_TYPES = {task: tuple(types) for task, types in ESTIMATORS.items()}
# Stricter than MLflow (which only forbids '/' and ':'), so a name is also safe in
# registry filter strings, URIs (`models:/<name>@<alias>`) and shell commands.
MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
ALIAS_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
RESERVED_ALIAS_RE = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)
CORRECTIONS = ("benjamini-hochberg", "bonferroni")
POSTERS = ("cml", "builtin")
# A suite name is also its file name under gx/expectations/.
SUITE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class DataParams:
    source: str
    target: str
    numeric_features: tuple[str, ...] | None
    categorical_features: tuple[str, ...] | None
    # Columns kept as features although they look like identifiers or dates.
    keep_columns: tuple[str, ...] = ()
    # The label binary metrics score as positive; None: the label that sorts last.
    positive_class: str | int | float | bool | None = None


@dataclass(frozen=True)
class SplitParams:
    test_size: float
    seed: int
    stratify: bool


@dataclass(frozen=True)
class ModelParams:
    type: str
    hyperparameters: dict[str, Any]


@dataclass(frozen=True)
class SuggestParams:
    """How `mlops suggest-suite` drafts a suite from reference data."""

    margin: float
    max_categories: int
    row_count_margin: float


@dataclass(frozen=True)
class ValidationParams:
    suite: str
    suggest: SuggestParams


@dataclass(frozen=True)
class MlflowParams:
    experiment: str
    tracking_uri: str


@dataclass(frozen=True)
class MonitoringParams:
    """Thresholds of `mlops monitor`; see the `monitoring:` section of params.yaml."""

    batch: Path
    alpha: float
    correction: str
    psi_threshold: float
    psi_bins: int
    drift_share: float
    # One drifted feature whose PSI passes this alarms alone, whatever the share.
    psi_alarm: float = 0.5


@dataclass(frozen=True)
class RegistryParams:
    model_name: str
    alias: str
    previous_alias: str
    staging_alias: str
    serve_timeout: float
    latency_budget_ms: float
    latency_requests: int
    metrics_tolerance: float


@dataclass(frozen=True)
class StackParams:
    """The local MLflow server of `mlops stack up` and the artifact store it writes to."""

    port: int
    artifacts_destination: str


@dataclass(frozen=True)
class Paths:
    """Where each stage writes (`paths:`); every field is a key there."""

    raw: Path
    gx: Path
    validation: Path
    validation_summary: Path
    features: Path
    train: Path
    test: Path
    model: Path
    train_run: Path
    metrics: Path
    plots: Path
    drift: Path
    drift_summary: Path
    report: Path
    report_plots: Path
    kserve: Path


PATH_KEYS = tuple(item.name for item in fields(Paths))


@dataclass(frozen=True)
class ReportParams:
    baseline: str
    poster: str
    publish_images: bool


@dataclass(frozen=True)
class Params:
    root: Path
    task: str
    data: DataParams
    split: SplitParams
    model: ModelParams
    validation: ValidationParams
    mlflow: MlflowParams
    registry: RegistryParams
    stack: StackParams
    paths: Paths
    gates: dict[str, MetricRule]
    monitoring: MonitoringParams
    report: ReportParams
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def suite_path(self) -> Path:
        """The GX suite file: the file store of the context in paths.gx keeps suites here."""
        return self.paths.gx / "expectations" / f"{self.validation.suite}.json"


class _AnyKey:
    """A mapping whose keys are names the user chooses (metrics); each value follows `value`."""

    def __init__(self, value: Any):
        self.value = value


GATE_RULE_KEYS = ("direction", "abs_tolerance", "rel_tolerance", "gate", "min", "max")
ALL_MODEL_TYPES = tuple(dict.fromkeys(name for types in MODEL_TYPES.values() for name in types))
# Every key params.yaml may hold: a dict lists the keys of a section, None is a value
# whose content the section's reader checks (hyperparameter names are checked against
# the estimator at train time).
SCHEMA: dict[str, Any] = {
    "task": None,
    "data": dict.fromkeys(
        (
            "source",
            "target",
            "numeric_features",
            "categorical_features",
            "keep_columns",
            "positive_class",
        )
    ),
    "split": dict.fromkeys(("test_size", "seed", "stratify")),
    "model": {"type": None, "hyperparameters": dict.fromkeys(ALL_MODEL_TYPES)},
    "gates": _AnyKey(dict.fromkeys(GATE_RULE_KEYS)),
    "monitoring": dict.fromkeys(
        (
            "batch",
            "alpha",
            "correction",
            "psi_threshold",
            "psi_bins",
            "drift_share",
            "psi_alarm",
        )
    ),
    "report": dict.fromkeys(("baseline", "poster", "publish_images")),
    "validation": {
        "suite": None,
        "suggest": dict.fromkeys(("margin", "max_categories", "row_count_margin")),
    },
    "mlflow": dict.fromkeys(("experiment", "tracking_uri")),
    "registry": dict.fromkeys(
        (
            "model_name",
            "alias",
            "previous_alias",
            "staging_alias",
            "serve_timeout",
            "latency_budget_ms",
            "latency_requests",
            "metrics_tolerance",
        )
    ),
    "stack": dict.fromkeys(("port", "artifacts_destination")),
    "paths": dict.fromkeys(PATH_KEYS),
    # Only in projects made with orchestrator=kubeflow (read by `mlops kfp` alone).
    "kubeflow": {"image": None, "resources": _AnyKey(dict.fromkeys(("cpu", "memory")))},
}


def _unknown_key(node: Any, schema: Any, where: tuple[str, ...] = ()) -> tuple[str, ...] | None:
    """The path of the first key of `node` that `schema` does not know, if any."""
    if not isinstance(node, dict):
        return None
    for key, value in node.items():
        if isinstance(schema, _AnyKey):
            inner = schema.value
        elif isinstance(schema, dict):
            if key not in schema:
                return (*where, str(key))
            inner = schema[key]
        else:
            return None
        found = _unknown_key(value, inner, (*where, str(key)))
        if found:
            return found
    return None


def _line_of(text: str, keys: tuple[str, ...]) -> int | None:
    """The line of a key in the YAML text (1-based), by walking the composed document."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    line = None
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            return line
        match = next((pair for pair in node.value if str(pair[0].value) == key), None)
        if match is None:
            return line
        line = match[0].start_mark.line + 1
        node = match[1]
    return line


def check_keys(path: Path, document: dict[str, Any], text: str) -> None:
    """Refuse a key params.yaml does not use: a typo would otherwise be silently ignored."""
    unknown = _unknown_key(document, SCHEMA)
    if unknown is None:
        return
    *parents, key = unknown
    schema: Any = SCHEMA
    for part in parents:
        schema = schema.value if isinstance(schema, _AnyKey) else schema[part]
    valid = list(schema)
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    hint = f"did you mean `{close[0]}`?" if close else "remove it or fix its name;"
    where = f"under `{'.'.join(parents)}`" if parents else "at the top level"
    line = _line_of(text, tuple(unknown))
    at = f" (line {line})" if line else ""
    raise ParamsError(
        f"{path}: unknown key `{key}` {where}{at}; {hint} the keys there are {', '.join(valid)}"
    )


class _Reader:
    """Reads keys from one parsed params file and names the file and key on failure."""

    def __init__(self, source: Path, document: dict[str, Any]):
        self.source = source
        self.document = document

    def fail(self, key: str, problem: str, fix: str) -> ParamsError:
        return ParamsError(f"{self.source}: `{key}` {problem}; {fix}.")

    def get(self, key: str) -> Any:
        node: Any = self.document
        walked = []
        for part in key.split("."):
            walked.append(part)
            if not isinstance(node, dict) or part not in node:
                raise self.fail(".".join(walked), "is missing", "add it (see the README)")
            node = node[part]
        return node

    def optional(self, key: str) -> Any:
        """The value of a key that may be left out (None then)."""
        section, _, name = key.rpartition(".")
        node = self.get(section) if section else self.document
        return node.get(name) if isinstance(node, dict) else None

    def text(self, key: str) -> str:
        value = self.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"must be a non-empty string, got {value!r}", "set a value")
        return value

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self.get(key)
        if value not in allowed:
            raise self.fail(
                key, f"is {value!r}, which is not known", f"use one of {', '.join(allowed)}"
            )
        return value

    def number(self, key: str, low: float, high: float, *, include_low: bool = False) -> float:
        value = self.get(key)
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        in_range = is_number and (low <= value if include_low else low < value) and value < high
        if not in_range:
            bounds = f"at least {low} and below" if include_low else f"between {low} and"
            raise self.fail(
                key, f"must be a number {bounds} {high}, got {value!r}", "fix the value"
            )
        return float(value)

    def integer(self, key: str, low: int = 0) -> int:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            kind = "a non-negative integer" if low == 0 else f"an integer >= {low}"
            raise self.fail(key, f"must be {kind}, got {value!r}", "fix the value")
        return value

    def boolean(self, key: str) -> bool:
        value = self.get(key)
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {value!r}", "fix the value")
        return value

    def names(self, key: str) -> tuple[str, ...] | None:
        value = self.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(
                key, f"must be a list of column names or null, got {value!r}", "fix the value"
            )
        return tuple(value)


def _gates(read: _Reader) -> dict[str, MetricRule]:
    section = read.get("gates")
    if not isinstance(section, dict):
        raise read.fail("gates", "must map metric names to rules", "see the README")
    rules = {}
    for name, rule in section.items():
        key = f"gates.{name}"
        if not isinstance(rule, dict):
            raise read.fail(
                key,
                f"must be a mapping of direction, abs_tolerance, rel_tolerance, "
                f"gate, min and max, got {rule!r}",
                "fix the rule",
            )
        read.choice(f"{key}.direction", DIRECTIONS)
        tolerances = {}
        for tolerance in ("abs_tolerance", "rel_tolerance"):
            value = rule.get(tolerance, 0) or 0
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise read.fail(
                    f"{key}.{tolerance}", f"must be a number >= 0, got {value!r}", "fix the value"
                )
            tolerances[tolerance] = float(value)
        gate = rule.get("gate", True)
        if not isinstance(gate, bool):
            raise read.fail(f"{key}.gate", f"must be true or false, got {gate!r}", "fix the value")
        bounds: dict[str, float | None] = {}
        for bound, field_name in (("min", "minimum"), ("max", "maximum")):
            value = rule.get(bound)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise read.fail(
                    f"{key}.{bound}",
                    f"must be a number (the metric's absolute floor on a new data set), "
                    f"got {value!r}",
                    "fix the value or remove the key",
                )
            bounds[field_name] = None if value is None else float(value)
        low, high = bounds["minimum"], bounds["maximum"]
        if low is not None and high is not None and low > high:
            raise read.fail(
                f"{key}.min", "is above its max, so no value could pass", "fix the bounds"
            )
        rules[name] = MetricRule(
            direction=rule["direction"],
            gate=gate,
            abs_tolerance=tolerances["abs_tolerance"],
            rel_tolerance=tolerances["rel_tolerance"],
            minimum=low,
            maximum=high,
        )
    return rules


def _monitoring(read: _Reader, root: Path) -> MonitoringParams:
    share = read.get("monitoring.drift_share")
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
        raise read.fail(
            "monitoring.drift_share",
            f"must be a share in (0, 1], got {share!r}",
            "e.g. 0.1 flags the data set when a tenth of its features drift",
        )
    return MonitoringParams(
        batch=root / read.text("monitoring.batch"),
        alpha=read.number("monitoring.alpha", 0.0, 1.0),
        correction=read.choice("monitoring.correction", CORRECTIONS),
        psi_threshold=read.number("monitoring.psi_threshold", 0.0, float("inf")),
        psi_bins=read.integer("monitoring.psi_bins", low=2),
        drift_share=float(share),
        psi_alarm=read.number("monitoring.psi_alarm", 0.0, float("inf")),
    )


def _registry(read: _Reader) -> RegistryParams:
    name = read.text("registry.model_name")
    if not MODEL_NAME_RE.match(name):
        raise read.fail(
            "registry.model_name",
            f"is {name!r}, which is not a usable registry name",
            "use letters, digits, '.', '_' and '-', starting with a letter or digit",
        )
    aliases = {}
    for key in ("alias", "previous_alias", "staging_alias"):
        alias = read.text(f"registry.{key}")
        if not ALIAS_RE.match(alias) or RESERVED_ALIAS_RE.match(alias):
            raise read.fail(
                f"registry.{key}",
                f"is {alias!r}, which MLflow cannot use as an alias",
                "use letters, digits, '_' and '-' (not 'latest' nor v<number>)",
            )
        aliases[key] = alias
    for key in ("previous_alias", "staging_alias"):
        if aliases["alias"] == aliases[key]:
            raise read.fail(f"registry.{key}", "equals registry.alias", "give it another name")
    if aliases["previous_alias"] == aliases["staging_alias"]:
        raise read.fail(
            "registry.staging_alias", "equals registry.previous_alias", "give it another name"
        )
    return RegistryParams(
        model_name=name,
        serve_timeout=read.number("registry.serve_timeout", 0, 3600),
        latency_budget_ms=read.number("registry.latency_budget_ms", 0, 600_000, include_low=True),
        latency_requests=read.integer("registry.latency_requests", 1),
        metrics_tolerance=read.number("registry.metrics_tolerance", 0, 1, include_low=True),
        **aliases,
    )


def _stack(read: _Reader) -> StackParams:
    port = read.integer("stack.port", 1)
    if port > 65535:
        raise read.fail("stack.port", f"is {port}", "use a TCP port from 1 to 65535")
    return StackParams(port=port, artifacts_destination=read.text("stack.artifacts_destination"))


def _validation(read: _Reader) -> ValidationParams:
    suite = read.text("validation.suite")
    if not SUITE_NAME_RE.fullmatch(suite):
        raise read.fail(
            "validation.suite",
            f"is {suite!r}, which cannot be a file name",
            "use letters, digits, '_' and '-' only (no extension), e.g. customers",
        )
    return ValidationParams(
        suite=suite,
        suggest=SuggestParams(
            margin=read.number("validation.suggest.margin", 0.0, 10.0, include_low=True),
            max_categories=read.integer("validation.suggest.max_categories"),
            row_count_margin=read.number(
                "validation.suggest.row_count_margin", 0.0, 1.0, include_low=True
            ),
        ),
    )


def _positive_class(read: _Reader, task: str) -> str | int | float | bool | None:
    value = read.optional("data.positive_class")
    if value is None:
        return None
    if task != "classification":
        raise read.fail(
            "data.positive_class",
            f"is {value!r} but the task is {task}",
            "set it to null (it names the positive label of a classification target)",
        )
    if not isinstance(value, str | int | float | bool) or value == "":
        raise read.fail(
            "data.positive_class",
            f"must be one label of the target, got {value!r}",
            "write the label, quoted if it is text (e.g. 'yes')",
        )
    return value


def _data(read: _Reader, task: str) -> DataParams:
    data = DataParams(
        source=read.text("data.source"),
        target=read.text("data.target"),
        numeric_features=read.names("data.numeric_features"),
        categorical_features=read.names("data.categorical_features"),
        keep_columns=(
            read.names("data.keep_columns") or ()
            if read.optional("data.keep_columns") is not None
            else ()
        ),
        positive_class=_positive_class(read, task),
    )
    if (data.numeric_features is None) != (data.categorical_features is None):
        raise read.fail(
            "data.numeric_features",
            "is set while data.categorical_features is not (or the reverse)",
            "give both lists (one may be []) or set both to null to infer them",
        )
    overlap = set(data.numeric_features or ()) & set(data.categorical_features or ())
    if overlap:
        raise read.fail(
            "data.categorical_features",
            f"repeats numeric features {sorted(overlap)}",
            "list each column once",
        )
    if data.target in (data.numeric_features or ()) + (data.categorical_features or ()):
        raise read.fail(
            "data.target",
            f"{data.target!r} is also listed as a feature",
            "remove it from the feature lists",
        )
    return data


def _split(read: _Reader) -> SplitParams:
    return SplitParams(
        test_size=read.number("split.test_size", 0.0, 1.0),
        seed=read.integer("split.seed"),
        stratify=read.boolean("split.stratify"),
    )


def _model(read: _Reader, task: str) -> ModelParams:
    model_type = read.choice("model.type", MODEL_TYPES[task])
    all_hyperparameters = read.get("model.hyperparameters")
    if not isinstance(all_hyperparameters, dict):
        raise read.fail(
            "model.hyperparameters", "must be a mapping per model type", "fix the value"
        )
    hyperparameters = all_hyperparameters.get(model_type) or {}
    if not isinstance(hyperparameters, dict):
        raise read.fail(
            f"model.hyperparameters.{model_type}",
            f"must be a mapping, got {hyperparameters!r}",
            "write `name: value` pairs",
        )
    return ModelParams(type=model_type, hyperparameters=dict(hyperparameters))


def _report(read: _Reader) -> ReportParams:
    report = ReportParams(
        baseline=read.text("report.baseline"),
        poster=read.choice("report.poster", POSTERS),
        publish_images=read.boolean("report.publish_images"),
    )
    if report.publish_images and report.poster != "cml":
        raise read.fail(
            "report.publish_images",
            f"is true while report.poster is {report.poster!r}, which cannot upload images",
            "set report.poster: cml, or report.publish_images: false",
        )
    return report


def _mlflow(read: _Reader) -> MlflowParams:
    return MlflowParams(
        experiment=read.text("mlflow.experiment"),
        tracking_uri=read.text("mlflow.tracking_uri"),
    )


def _paths(read: _Reader, root: Path) -> Paths:
    return Paths(**{key: root / read.text(f"paths.{key}") for key in PATH_KEYS})


def _document(path: Path) -> tuple[dict[str, Any], str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError(
            f"{path}: file not found; run the command from the project root "
            "(where params.yaml is) or pass --params PATH"
        ) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ParamsError(f"{path}: not valid YAML{where}; fix the syntax ({error})") from None
    if not isinstance(document, dict):
        raise ParamsError(f"{path}: expected a mapping of keys at the top level; see the README")
    return document, text


def load_params(path: str | Path = DEFAULT_PARAMS_FILE) -> Params:
    """Parse and validate params.yaml; paths in it are taken relative to its folder."""
    path = Path(path)
    document, text = _document(path)
    check_keys(path, document, text)
    return params_from(document, path, path.resolve().parent)


def read_document(path: Path) -> dict[str, Any]:
    """params.yaml parsed and its keys checked, before the values are (a Kubeflow step
    points `paths:` at its artifacts first)."""
    document, text = _document(path)
    check_keys(path, document, text)
    return document


def params_from(document: dict[str, Any], source: Path, root: Path) -> Params:
    """Validate a parsed params document; `source` names it in errors, paths are under `root`."""
    read = _Reader(source, document)
    task = read.choice("task", TASKS)
    return Params(
        root=root,
        task=task,
        data=_data(read, task),
        split=_split(read),
        model=_model(read, task),
        validation=_validation(read),
        mlflow=_mlflow(read),
        registry=_registry(read),
        stack=_stack(read),
        paths=_paths(read, root),
        gates=_gates(read),
        monitoring=_monitoring(read, root),
        report=_report(read),
        raw=document,
    )


def read_gates(document: Any, source: str | Path) -> dict[str, MetricRule]:
    """The `gates:` of a parsed params document (another revision's, say), checked as
    `load_params` checks them; `source` names the document in the error."""
    if not isinstance(document, dict):
        raise ParamsError(f"{source}: expected a mapping of keys at the top level; see the README")
    return _gates(_Reader(Path(source), document))


@dataclass(frozen=True)
class StepResources:
    cpu: str
    memory: str


@dataclass(frozen=True)
class KubeflowParams:
    """The `kubeflow:` section: where the pipeline's steps run (`mlops kfp`)."""

    image: str
    resources: dict[str, StepResources]


# Kubernetes quantities: cores ("1", "0.5", "500m") and bytes ("512Mi", "2Gi", "1G").
CPU_RE = re.compile(r"^(\d+(\.\d+)?|\d+m)$")
MEMORY_RE = re.compile(r"^\d+(\.\d+)?([KMGTPE]i?)?$")


def kubeflow_params(params: Params, stages: tuple[str, ...]) -> KubeflowParams:
    """Read `kubeflow:`; only `mlops kfp` needs it, so no other command requires the section."""
    read = _Reader(params.root / DEFAULT_PARAMS_FILE, params.raw)
    image = read.text("kubeflow.image")
    resources = {}
    for stage in stages:
        key = f"kubeflow.resources.{stage}"
        cpu, memory = (str(read.get(f"{key}.{name}")) for name in ("cpu", "memory"))
        if not CPU_RE.match(cpu):
            raise read.fail(f"{key}.cpu", f"is {cpu!r}", 'give cores, e.g. "1", "0.5" or "500m"')
        if not MEMORY_RE.match(memory):
            raise read.fail(f"{key}.memory", f"is {memory!r}", "give bytes, e.g. 512Mi or 2Gi")
        resources[stage] = StepResources(cpu=cpu, memory=memory)
    return KubeflowParams(image=image, resources=resources)
