"""Typed, validated access to params.yaml, each key declared once.

Every stage calls `load_params()` once and passes the result down, so a bad
value fails before any work starts, with the key and the fix in the message.

A section of params.yaml is one frozen dataclass below; each of its fields is a
key, declared with `setting(...)`: what kind of value it takes and its own check.
The reader, the refusal of unknown keys and the printed schema (`mlops check
--schema`) all walk these declarations, so adding a setting is one new field.
Checks that tie several keys of a section together live in its `checked` method.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Self

import yaml

from .errors import ParamsError
from .vocabulary import CORRECTIONS, DECISIONS, DIRECTIONS, ESTIMATORS, POSTERS, MetricRule

DEFAULT_PARAMS_FILE = "params.yaml"
TASKS = tuple(ESTIMATORS)
MODEL_TYPES = {task: tuple(types) for task, types in ESTIMATORS.items()}
ALL_MODEL_TYPES = tuple(dict.fromkeys(name for types in MODEL_TYPES.values() for name in types))
# Stricter than MLflow (which only forbids '/' and ':'), so a name is also safe in
# registry filter strings, URIs (`models:/<name>@<alias>`) and shell commands.
MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
ALIAS_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
RESERVED_ALIAS_RE = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)
# A suite name is also its file name under gx/expectations/.
SUITE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
# Kubernetes quantities: cores ("1", "0.5", "500m") and bytes ("512Mi", "2Gi", "1G").
CPU_RE = re.compile(r"^(\d+(\.\d+)?|\d+m)$")
MEMORY_RE = re.compile(r"^\d+(\.\d+)?([KMGTPE]i?)?$")

# What a section's reader knows besides the section: `root` (paths are under it),
# `task` (read first), `stages` (for `kubeflow:`).
Context = dict[str, Any]
# A key's own check: None when the value is fine, else (problem, fix) for the message.
Check = Callable[[Any], "tuple[str, str] | None"]
ReadFunction = Callable[["_Reader", str, Context], Any]


class _AnyKey:
    """A mapping whose keys are names the user chooses (metrics); each value follows `value`."""

    def __init__(self, value: Any):
        self.value = value


@dataclass(frozen=True)
class Setting:
    """How one key is read: a kind (a method of `_Reader`, `section`, `path`, or a
    function), the kind's arguments, a check of its own, and what it holds when the
    value is free-form (`keys`, for the unknown-key check)."""

    kind: str | ReadFunction
    args: tuple[Any, ...] = ()
    check: Check | None = None
    optional: bool = False
    keys: Any = None
    about: str = ""

    def schema(self) -> Any:
        return schema_of(self.args[0]) if self.kind == "section" else self.keys

    def describe(self) -> str:
        kinds = {
            "text": lambda: "text",
            "choice": lambda: f"one of {', '.join(self.args[0])}",
            "number": lambda: _describe_number(*self.args),
            "integer": lambda: f"an integer >= {self.args[0] if self.args else 0}",
            "boolean": lambda: "true or false",
            "names": lambda: "a list of column names, or null",
            "path": lambda: "a path, relative to params.yaml",
        }
        describe = kinds.get(self.kind) if isinstance(self.kind, str) else None
        text = self.about or (describe() if describe else "")
        return f"{text} (optional)" if self.optional else text


def _describe_number(low: float, high: float, include_low: bool = False) -> str:
    return (
        f"a number at least {low} and below {high}"
        if include_low
        else (f"a number between {low} and {high}")
    )


def setting(
    kind: str | ReadFunction,
    *args: Any,
    check: Check | None = None,
    optional: bool = False,
    default: Any = MISSING,
    keys: Any = None,
    about: str = "",
) -> Any:
    """Declare a key of params.yaml as a dataclass field (see `Setting`)."""
    spec = Setting(kind, args, check, optional, keys, about)
    return field(default=default, metadata={"setting": spec})


def _internal(**options: Any) -> Any:
    """A field that is no key of params.yaml (filled by the loader)."""
    return field(metadata={"internal": True}, **options)


def _matches(pattern: re.Pattern[str], what: str, fix: str) -> Check:
    def check(value: str) -> tuple[str, str] | None:
        return None if pattern.fullmatch(value) else (f"is {value!r}, which {what}", fix)

    return check


def _alias(value: str) -> tuple[str, str] | None:
    if ALIAS_RE.match(value) and not RESERVED_ALIAS_RE.match(value):
        return None
    return (
        f"is {value!r}, which MLflow cannot use as an alias",
        "use letters, digits, '_' and '-' (not 'latest' nor v<number>)",
    )


class Section:
    """A section of params.yaml; `checked` adds the checks that tie its keys together."""

    def checked(self, read: _Reader, key: str) -> Self:
        return self


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

    def number(self, key: str, low: float, high: float, include_low: bool = False) -> float:
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

    def value(self, key: str, spec: Setting, context: Context) -> Any:
        """The value of one declared key, read and checked as its `Setting` says."""
        if callable(spec.kind):
            value = spec.kind(self, key, context)
        elif spec.kind == "section":
            value = read_section(self, spec.args[0], key, context)
        elif spec.kind == "path":
            value = context["root"] / self.text(key)
        else:
            value = getattr(self, spec.kind)(key, *spec.args)
        problem = spec.check(value) if spec.check else None
        if problem:
            raise self.fail(key, *problem)
        return value

    def quantity(self, key: str, pattern: re.Pattern[str], fix: str) -> str:
        value = str(self.get(key))
        if not pattern.match(value):
            raise self.fail(key, f"is {value!r}", fix)
        return value


def _gates(
    read: _Reader, key: str = "gates", context: Context | None = None
) -> dict[str, MetricRule]:
    section = read.get("gates")
    if not isinstance(section, dict):
        raise read.fail("gates", "must map metric names to rules", "see the README")
    return {name: _rule(read, f"gates.{name}", rule) for name, rule in section.items()}


def _rule(read: _Reader, key: str, rule: Any) -> MetricRule:
    """One metric's rule under `gates:`, each value checked."""
    if not isinstance(rule, dict):
        raise read.fail(
            key,
            f"must be a mapping of direction, abs_tolerance, rel_tolerance, "
            f"gate, min, max, decide and slice_min, got {rule!r}",
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
    low, high = _bounds(read, key, rule)
    decide = rule.get("decide", "interval")
    if decide not in DECISIONS:
        raise read.fail(
            f"{key}.decide",
            f"is {decide!r}, which is not known",
            f"use one of {', '.join(DECISIONS)}",
        )
    slice_min = _optional_number(
        read, f"{key}.slice_min", rule.get("slice_min"), "the worst value a slice may have"
    )
    return MetricRule(
        decide=decide,
        slice_min=slice_min,
        direction=rule["direction"],
        gate=gate,
        abs_tolerance=tolerances["abs_tolerance"],
        rel_tolerance=tolerances["rel_tolerance"],
        minimum=low,
        maximum=high,
    )


def _optional_number(read: _Reader, key: str, value: Any, meaning: str) -> float | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise read.fail(
            key, f"must be a number ({meaning}), got {value!r}", "fix the value or remove the key"
        )
    return None if value is None else float(value)


def _bounds(read: _Reader, key: str, rule: dict[str, Any]) -> tuple[float | None, float | None]:
    """A rule's `min` and `max`: the metric's absolute floor and ceiling."""
    meaning = "the metric's absolute floor on a new data set"
    low = _optional_number(read, f"{key}.min", rule.get("min"), meaning)
    high = _optional_number(read, f"{key}.max", rule.get("max"), meaning)
    if low is not None and high is not None and low > high:
        raise read.fail(f"{key}.min", "is above its max, so no value could pass", "fix the bounds")
    return low, high


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


def _positive_class(read: _Reader, key: str, context: Context) -> str | int | float | bool:
    value = read.get(key)
    task = context["task"]
    if task != "classification":
        raise read.fail(
            key,
            f"is {value!r} but the task is {task}",
            "set it to null (it names the positive label of a classification target)",
        )
    if not isinstance(value, str | int | float | bool) or value == "":
        raise read.fail(
            key,
            f"must be one label of the target, got {value!r}",
            "write the label, quoted if it is text (e.g. 'yes')",
        )
    return value


@dataclass(frozen=True)
class DataParams(Section):
    source: str = setting("text")
    target: str = setting("text")
    numeric_features: tuple[str, ...] | None = setting("names")
    categorical_features: tuple[str, ...] | None = setting("names")
    # Columns kept as features although they look like identifiers or dates.
    keep_columns: tuple[str, ...] = setting("names", optional=True, default=())
    # The label binary metrics score as positive; None: the label that sorts last.
    positive_class: str | int | float | bool | None = setting(
        _positive_class,
        optional=True,
        default=None,
        about="one label of the target (classification only), or null: the label that sorts last",
    )

    def checked(self, read: _Reader, key: str) -> Self:
        if (self.numeric_features is None) != (self.categorical_features is None):
            raise read.fail(
                "data.numeric_features",
                "is set while data.categorical_features is not (or the reverse)",
                "give both lists (one may be []) or set both to null to infer them",
            )
        overlap = set(self.numeric_features or ()) & set(self.categorical_features or ())
        if overlap:
            raise read.fail(
                "data.categorical_features",
                f"repeats numeric features {sorted(overlap)}",
                "list each column once",
            )
        if self.target in (self.numeric_features or ()) + (self.categorical_features or ()):
            raise read.fail(
                "data.target",
                f"{self.target!r} is also listed as a feature",
                "remove it from the feature lists",
            )
        return self


@dataclass(frozen=True)
class SplitParams(Section):
    test_size: float = setting("number", 0.0, 1.0)
    seed: int = setting("integer")
    stratify: bool = setting("boolean")


def _model_type(read: _Reader, key: str, context: Context) -> str:
    return read.choice(key, MODEL_TYPES[context["task"]])


def _mapping(read: _Reader, key: str, context: Context) -> dict[str, Any]:
    value = read.get(key)
    if not isinstance(value, dict):
        raise read.fail(key, "must be a mapping per model type", "fix the value")
    return value


@dataclass(frozen=True)
class ModelParams(Section):
    type: str = setting(
        _model_type,
        about="an estimator of the task: "
        + "; ".join(f"{task}: {', '.join(types)}" for task, types in MODEL_TYPES.items()),
    )
    # Read as the mapping of every model type; `checked` keeps the chosen type's.
    hyperparameters: dict[str, Any] = setting(
        _mapping,
        keys=dict.fromkeys(ALL_MODEL_TYPES),
        about="per model type, `name: value` pairs of the estimator's parameters",
    )

    def checked(self, read: _Reader, key: str) -> Self:
        chosen = self.hyperparameters.get(self.type) or {}
        if not isinstance(chosen, dict):
            raise read.fail(
                f"model.hyperparameters.{self.type}",
                f"must be a mapping, got {chosen!r}",
                "write `name: value` pairs",
            )
        return replace(self, hyperparameters=dict(chosen))


@dataclass(frozen=True)
class SuggestParams(Section):
    """How `mlops suggest-suite` drafts a suite from reference data."""

    margin: float = setting("number", 0.0, 10.0, True)
    max_categories: int = setting("integer")
    row_count_margin: float = setting("number", 0.0, 1.0, True)


@dataclass(frozen=True)
class ValidationParams(Section):
    suite: str = setting(
        "text",
        check=_matches(
            SUITE_NAME_RE,
            "cannot be a file name",
            "use letters, digits, '_' and '-' only (no extension), e.g. customers",
        ),
    )
    suggest: SuggestParams = setting("section", SuggestParams)


@dataclass(frozen=True)
class MlflowParams(Section):
    experiment: str = setting("text")
    tracking_uri: str = setting("text")


def _share(read: _Reader, key: str, context: Context) -> float:
    share = read.get(key)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
        raise read.fail(
            key,
            f"must be a share in (0, 1], got {share!r}",
            "e.g. 0.1 flags the data set when a tenth of its features drift",
        )
    return float(share)


@dataclass(frozen=True)
class MonitoringParams(Section):
    """Thresholds of `mlops monitor`; see the `monitoring:` section of params.yaml."""

    drift_share: float = setting(_share, about="a share in (0, 1]")
    batch: Path = setting("path")
    alpha: float = setting("number", 0.0, 1.0)
    correction: str = setting("choice", CORRECTIONS)
    psi_threshold: float = setting("number", 0.0, float("inf"))
    psi_bins: int = setting("integer", 2)
    # One drifted feature whose PSI passes this alarms alone, whatever the share.
    psi_alarm: float = setting("number", 0.0, float("inf"))


@dataclass(frozen=True)
class RegistryParams(Section):
    model_name: str = setting(
        "text",
        check=_matches(
            MODEL_NAME_RE,
            "is not a usable registry name",
            "use letters, digits, '.', '_' and '-', starting with a letter or digit",
        ),
    )
    alias: str = setting("text", check=_alias)
    previous_alias: str = setting("text", check=_alias)
    staging_alias: str = setting("text", check=_alias)
    serve_timeout: float = setting("number", 0, 3600)
    latency_budget_ms: float = setting("number", 0, 600_000, True)
    latency_requests: int = setting("integer", 1)
    metrics_tolerance: float = setting("number", 0, 1, True)

    def checked(self, read: _Reader, key: str) -> Self:
        for name in ("previous_alias", "staging_alias"):
            if self.alias == getattr(self, name):
                raise read.fail(f"registry.{name}", "equals registry.alias", "give it another name")
        if self.previous_alias == self.staging_alias:
            raise read.fail(
                "registry.staging_alias", "equals registry.previous_alias", "give it another name"
            )
        return self


def _port(value: int) -> tuple[str, str] | None:
    return (f"is {value}", "use a TCP port from 1 to 65535") if value > 65535 else None


@dataclass(frozen=True)
class StackParams(Section):
    """The local MLflow server of `mlops stack up` and the artifact store it writes to."""

    port: int = setting("integer", 1, check=_port)
    artifacts_destination: str = setting("text")


@dataclass(frozen=True)
class Paths(Section):
    """Where each stage writes (`paths:`); every field is a key there."""

    raw: Path = setting("path")
    gx: Path = setting("path")
    validation: Path = setting("path")
    validation_summary: Path = setting("path")
    features: Path = setting("path")
    train: Path = setting("path")
    test: Path = setting("path")
    model: Path = setting("path")
    train_run: Path = setting("path")
    metrics: Path = setting("path")
    plots: Path = setting("path")
    drift: Path = setting("path")
    drift_summary: Path = setting("path")
    report: Path = setting("path")
    report_plots: Path = setting("path")
    outcomes: Path = setting("path")
    kserve: Path = setting("path")


PATH_KEYS = tuple(item.name for item in fields(Paths))


@dataclass(frozen=True)
class ReportParams(Section):
    baseline: str = setting("text")
    poster: str = setting("choice", POSTERS)
    publish_images: bool = setting("boolean")
    # Columns of the test rows whose values (or quantile bins, for numbers) the report
    # scores separately, worst first; a slice with fewer rows is shown, never judged.
    slices: tuple[str, ...] = setting("names", optional=True, default=())
    min_slice_rows: int = setting("integer", 1, optional=True, default=30)
    slice_bins: int = setting("integer", 2, optional=True, default=4)
    # The pull-request label that lets a known regression through (README: Overriding the gate).
    override_label: str = setting("text", optional=True, default="accept-regression")

    def checked(self, read: _Reader, key: str) -> Self:
        if self.publish_images and self.poster != "cml":
            raise read.fail(
                "report.publish_images",
                f"is true while report.poster is {self.poster!r}, which cannot upload images",
                "set report.poster: cml, or report.publish_images: false",
            )
        return self


def schema_of(cls: type) -> dict[str, Any]:
    """The keys a section takes, from its declaration: a dict lists the keys of a
    section, None is a value, `_AnyKey` a mapping whose keys the user names."""
    schema: dict[str, Any] = {}
    for item in fields(cls):
        if item.metadata.get("internal"):
            continue
        spec = item.metadata.get("setting")
        schema[item.metadata.get("name", item.name)] = spec.schema() if spec else None
    return schema


@dataclass(frozen=True)
class Params(Section):
    root: Path = _internal()
    task: str = setting("choice", TASKS)
    data: DataParams = setting("section", DataParams)
    split: SplitParams = setting("section", SplitParams)
    model: ModelParams = setting("section", ModelParams)
    gates: dict[str, MetricRule] = setting(
        _gates,
        keys=_AnyKey(schema_of(MetricRule)),
        about="per metric: direction (higher/lower), abs_tolerance, rel_tolerance, gate, min, max, "
        "decide (interval/point), slice_min",
    )
    monitoring: MonitoringParams = setting("section", MonitoringParams)
    report: ReportParams = setting("section", ReportParams)
    validation: ValidationParams = setting("section", ValidationParams)
    mlflow: MlflowParams = setting("section", MlflowParams)
    registry: RegistryParams = setting("section", RegistryParams)
    stack: StackParams = setting("section", StackParams)
    paths: Paths = setting("section", Paths)
    raw: dict[str, Any] = _internal(repr=False, compare=False)

    @property
    def suite_path(self) -> Path:
        """The GX suite file: the file store of the context in paths.gx keeps suites here."""
        return self.paths.gx / "expectations" / f"{self.validation.suite}.json"


@dataclass(frozen=True)
class StepResources(Section):
    cpu: str = setting(
        "quantity", CPU_RE, 'give cores, e.g. "1", "0.5" or "500m"', about="cores, e.g. 500m"
    )
    memory: str = setting(
        "quantity", MEMORY_RE, "give bytes, e.g. 512Mi or 2Gi", about="bytes, e.g. 512Mi"
    )


def _resources(read: _Reader, key: str, context: Context) -> dict[str, StepResources]:
    return {
        stage: read_section(read, StepResources, f"{key}.{stage}", context)
        for stage in context["stages"]
    }


@dataclass(frozen=True)
class KubeflowParams(Section):
    """The `kubeflow:` section: where the pipeline's steps run (`mlops kfp`)."""

    image: str = setting("text")
    resources: dict[str, StepResources] = setting(
        _resources,
        keys=_AnyKey(schema_of(StepResources)),
        about="per stage: cpu (cores) and memory (bytes), as Kubernetes quantities",
    )


# Every key params.yaml may hold. `kubeflow:` is only in projects made with
# orchestrator=kubeflow (read by `mlops kfp` alone).
SCHEMA: dict[str, Any] = {**schema_of(Params), "kubeflow": schema_of(KubeflowParams)}
SECTIONS: dict[str, type] = {"": Params, "kubeflow": KubeflowParams}


def read_section(read: _Reader, cls: type, key: str, context: Context, **given: Any) -> Any:
    """A section read from its declaration: each key in field order, then its own checks."""
    values = dict(given)
    for item in fields(cls):
        spec = item.metadata.get("setting")
        if spec is None:
            continue
        name = f"{key}.{item.name}" if key else item.name
        if spec.optional and read.optional(name) is None:
            continue
        values[item.name] = read.value(name, spec, context)
        if not key:
            context[item.name] = values[item.name]
    return cls(**values).checked(read, key)


def describe_schema() -> Iterator[str]:
    """One line per key of params.yaml: its dotted name and what it takes."""
    for prefix, cls in SECTIONS.items():
        yield from _describe(cls, prefix)


def _describe(cls: type, prefix: str) -> Iterator[str]:
    for item in fields(cls):
        spec = item.metadata.get("setting")
        if item.metadata.get("internal") or spec is None:
            continue
        name = f"{prefix}.{item.name}" if prefix else item.name
        if spec.kind == "section":
            yield from _describe(spec.args[0], name)
        else:
            yield f"{name}: {spec.describe()}"


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
        # The parser's own words, on one line: its message quotes the text around the mark.
        problem = getattr(error, "problem", None) or " ".join(str(error).split())
        raise ParamsError(f"{path}: not valid YAML{where}; fix the syntax ({problem})") from None
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
    return read_section(read, Params, "", {"root": root}, root=root, raw=document)


def read_gates(document: Any, source: str | Path) -> dict[str, MetricRule]:
    """The `gates:` of a parsed params document (another revision's, say), checked as
    `load_params` checks them; `source` names the document in the error."""
    if not isinstance(document, dict):
        raise ParamsError(f"{source}: expected a mapping of keys at the top level; see the README")
    return _gates(_Reader(Path(source), document))


def kubeflow_params(params: Params, stages: tuple[str, ...]) -> KubeflowParams:
    """Read `kubeflow:`; only `mlops kfp` needs it, so no other command requires the section."""
    read = _Reader(params.root / DEFAULT_PARAMS_FILE, params.raw)
    return read_section(read, KubeflowParams, "kubeflow", {"stages": stages})
