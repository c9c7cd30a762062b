"""Data validation with Great Expectations: the one module that imports it.

GX takes seconds to import, so it is imported inside the functions that need
it. The suite is read from its JSON file under paths.gx (the file store of the
committed GX context) and the data is checked as one in-memory batch, so the
whole suite is computed in one pass and nothing is written into gx/.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..core.features import is_numeric
from ..core.markdown import table
from ..errors import ProjectError

if TYPE_CHECKING:
    import pandas as pd

    from ..params import Params

# Unexpected values kept per failed expectation.
EXAMPLES = 5
# What GX reports on a failed expectation: counts and EXAMPLES of the offending values.
DETAILS = {"result_format": "BASIC", "partial_unexpected_count": EXAMPLES}
NUMERIC_TYPES = frozenset({"int", "int8", "int16", "int32", "int64", "float", "float32", "float64"})
SUITE_KEYS = frozenset({"name", "expectations", "meta", "notes", "id", "suite_parameters"})
EXPECTATION_KEYS = frozenset({"type", "kwargs", "meta", "notes", "description", "severity", "id"})
MISSING_COLUMN = {"error": "the column is missing"}
# Keys of an expectation's kwargs that are plumbing, not what the data should look like.
PLUMBING = frozenset({"column", "batch_id", "result_format", "catch_exceptions"})


class SuiteError(ProjectError):
    """The suite file is missing or is not a valid GX expectation suite."""


@dataclass(frozen=True)
class Failure:
    """One failed expectation, in plain JSON types."""

    expectation: str
    column: str | None
    expected: Any
    observed: Any
    unexpected_values: list[Any]
    fix: str | None = None  # what to do, for the checks of what training needs

    def to_dict(self) -> dict[str, Any]:
        described = {
            "expectation": self.expectation,
            "column": self.column,
            "expected": self.expected,
            "observed": self.observed,
            "unexpected_values": self.unexpected_values,
        }
        return {**described, "fix": self.fix} if self.fix else described

    def cells(self) -> list[str]:
        """The failure as short table cells: expectation, column, expected, observed, examples."""
        return [
            self.expectation,
            self.column or "-",
            _describe_expected(self.expectation, self.expected),
            _describe_observed(self.expectation, self.observed),
            _shorten(", ".join(map(_show, self.unexpected_values))) or "-",
        ]


HEADER = ["expectation", "column", "expected", "observed", "unexpected values"]
ROW_COUNT = "expect_table_row_count_to_be_between"


@dataclass(frozen=True)
class ValidationResult:
    success: bool
    suite: str
    data: str
    evaluated: int
    failures: tuple[Failure, ...]
    # Checks of what training needs, run beside the suite (see with_training_checks).
    training_checks: int = 0

    def to_dict(self) -> dict[str, Any]:
        described = {
            "success": self.success,
            "suite": self.suite,
            "data": self.data,
            "evaluated": self.evaluated,
            "failed": len(self.failures),
            "failures": [failure.to_dict() for failure in self.failures],
        }
        if self.training_checks:
            described["training_checks"] = self.training_checks
        return described

    def _counts(self) -> tuple[int, int]:
        """Failed expectations of the suite, failed training checks."""
        training = sum(1 for failure in self.failures if failure.fix)
        return len(self.failures) - training, training

    def headline(self) -> str:
        training = (
            f" and {self.training_checks} checks of what training needs"
            if self.training_checks
            else ""
        )
        if self.success:
            return (
                f"passed: all {self.evaluated} expectations of suite {self.suite!r}{training} "
                f"hold on {self.data}"
            )
        failed, failed_training = self._counts()
        training = ""
        if failed_training:
            training = (
                f" and {failed_training} of {self.training_checks} checks of what training needs"
            )
        return (
            f"FAILED: {failed} of {self.evaluated} expectations of suite "
            f"{self.suite!r}{training} do not hold on {self.data}"
        )

    def _shown_and_notes(self) -> tuple[list[Failure], list[str]]:
        """The failures worth a table row, and notes on the rest.

        Every expectation on a missing column fails too; the table names the
        missing columns once instead of repeating them row by row.
        """
        shown = [f for f in self.failures if f.observed != MISSING_COLUMN]
        folded = len(self.failures) - len(shown)
        notes = []
        if folded:
            notes.append(f"(and {folded} expectations on the missing columns)")
        notes += [
            f"Training needs: {failure.observed}; {failure.fix}."
            for failure in self.failures
            if failure.fix
        ]
        notes += [note for note in map(self._row_count_note, self.failures) if note]
        columns = next(
            (f for f in self.failures if f.expectation == "expect_table_columns_to_match_set"),
            None,
        )
        if columns and isinstance(columns.observed, dict) and isinstance(columns.expected, dict):
            missing = len(columns.observed.get("missing", []))
            if missing * 2 > len(columns.expected.get("column_set", [])):
                notes.append(
                    "Most columns of the suite are missing. If this is a new data set, give it "
                    "a suite of its own: set validation.suite in params.yaml, then run "
                    "`mlops suggest-suite` and review the file it writes."
                )
        return shown, notes

    def _row_count_note(self, failure: Failure) -> str | None:
        """What to do when the data left the suite's row-count band: appended data
        outgrows it by design, so say where the bound is rather than leave a bare number."""
        if failure.expectation != ROW_COUNT or not isinstance(failure.observed, int):
            return None
        expected = failure.expected if isinstance(failure.expected, dict) else {}
        high, low = expected.get("max_value"), expected.get("min_value")
        where = (
            f"`{ROW_COUNT}` in the suite's file ({self.suite}.json under the GX folder), "
            "a reviewed change like any other"
        )
        if high is not None and failure.observed > high:
            return (
                f"The data has {failure.observed} rows, more than the {high} the suite allows. "
                f"If it grew as expected (new data appended), raise `max_value` of {where}."
            )
        if low is not None and failure.observed < low:
            return (
                f"The data has {failure.observed} rows, fewer than the {low} the suite asks for: "
                f"check the source for a partial extract; if it is expected, lower `min_value` "
                f"of {where}."
            )
        return None

    def to_text(self) -> str:
        """A fixed-width table of the failures, for a terminal or a CI log."""
        if self.success:
            return self.headline()
        shown, notes = self._shown_and_notes()
        rows = [HEADER, *(failure.cells() for failure in shown)]
        widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in rows
        ]
        lines.insert(1, "  ".join("-" * width for width in widths))
        return "\n".join([self.headline(), "", *lines, *notes])

    def to_markdown(self) -> str:
        status = "passed" if self.success else "failed"
        lines = [
            f"## Data validation {status}",
            "",
            f"Suite `{self.suite}` on `{self.data}`: "
            + (
                f"all {self.evaluated} expectations hold."
                if self.success
                else f"{self._counts()[0]} of {self.evaluated} expectations failed."
            )
            + (
                f" Checks of what training needs: {self._counts()[1]} of "
                f"{self.training_checks} failed."
                if self.training_checks
                else ""
            ),
        ]
        if self.failures:
            shown, notes = self._shown_and_notes()
            lines += ["", table(HEADER, [failure.cells() for failure in shown])]
            for note in notes:
                lines += ["", note]
        return "\n".join(lines) + "\n"


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else json.dumps(value)


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe_expected(expectation: str, expected: Any) -> str:
    if isinstance(expected, str):
        return expected
    if "min_value" in expected or "max_value" in expected:
        low, high = expected.get("min_value"), expected.get("max_value")
        unit = " rows" if expectation == "expect_table_row_count_to_be_between" else ""
        if low is None:
            return f"at most {_show(high)}{unit}"
        if high is None:
            return f"at least {_show(low)}{unit}"
        return f"{_show(low)} to {_show(high)}{unit}"
    if "value_set" in expected:
        return _shorten("one of " + ", ".join(map(_show, expected["value_set"])))
    if "type_list" in expected:
        return " or ".join(expected["type_list"])
    if "type_" in expected:
        return str(expected["type_"])
    if "column_set" in expected:
        exactly = "exactly " if expected.get("exact_match", True) else ""
        return f"{exactly}the {len(expected['column_set'])} columns of the suite"
    if expectation == "expect_column_values_to_not_be_null":
        mostly = expected.get("mostly")
        return f"values in {mostly:.0%} of rows at least" if mostly else "no missing values"
    return _shorten(json.dumps(expected, sort_keys=True))


def _describe_observed(expectation: str, observed: Any) -> str:
    if isinstance(observed, dict):
        if "unexpected_count" in observed:
            missing = " missing" if expectation == "expect_column_values_to_not_be_null" else ""
            return f"{observed['unexpected_count']} of {observed['element_count']} rows{missing}"
        if "missing" in observed or "unexpected" in observed:
            parts = [
                f"{label}: {', '.join(observed[label])}"
                for label in ("missing", "unexpected")
                if observed.get(label)
            ]
            return _shorten("; ".join(parts))
        if "error" in observed:
            return _shorten(f"error: {observed['error']}")
    if expectation == "expect_table_row_count_to_be_between":
        return f"{observed} rows"
    return _shorten(_show(observed) if not isinstance(observed, str) else observed)


def plain(value: Any) -> Any:
    """A JSON-ready copy of a value from pandas, numpy or GX (NaN becomes null)."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(item) for item in value]
        return sorted(items, key=_show) if isinstance(value, set | frozenset) else items
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def read_suite_document(path: Path) -> dict[str, Any]:
    """The suite file's JSON, with the file named in every error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SuiteError(
            f"{path}: suite file not found; write one with `mlops suggest-suite` (then review "
            "it), or set validation.suite in params.yaml to an existing suite"
        ) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise SuiteError(
            f"{path}: not valid JSON at line {error.lineno}, column {error.colno} "
            f"({error.msg}); fix the syntax"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("expectations"), list):
        raise SuiteError(
            f"{path}: not an expectation suite; expected an object with `name` and a list "
            "of `expectations` (see `mlops suggest-suite`)"
        )
    return document


# What a batch of new data is not checked for: how many rows it has, and where its
# feature values lie. Ranges and categories of the features are the drift check's
# to judge (`mlops monitor`), so a shifted batch is reported as drift, not as invalid.
BATCH_EXEMPT = frozenset(
    {"expect_column_values_to_be_between", "expect_column_values_to_be_in_set"}
)

# A small batch may hold one class only: the classes a model needs are checked on the
# training data, not on each batch.
BATCH_EXEMPT_TARGET = frozenset({"expect_column_unique_value_count_to_be_between"})


def for_batch(document: dict[str, Any], columns: Iterable[str], target: str) -> dict[str, Any]:
    """The suite as it applies to a batch: structure (columns, types, gaps) and its labels.

    A batch without the target column is checked without the target's expectations.
    """
    labelled = target in set(columns)
    kept = []
    for item in document["expectations"]:
        kwargs = item.get("kwargs", {})
        column = kwargs.get("column")
        if item.get("type") == "expect_table_row_count_to_be_between":
            continue
        if item.get("type") in BATCH_EXEMPT and column != target:
            continue
        if item.get("type") in BATCH_EXEMPT_TARGET:
            continue
        if column == target and not labelled:
            continue
        if "column_set" in kwargs and not labelled:
            column_set = [name for name in kwargs["column_set"] if name != target]
            item = {**item, "kwargs": {**kwargs, "column_set": column_set}}
        kept.append(item)
    return {**document, "expectations": kept}


def load_suite(path: Path, *, adapt=None):
    """Read and check a suite file; return a GX ExpectationSuite.

    The suite's name is its file name (without `.json`), as in GX's file store.
    `adapt`, when given, rewrites the checked document first (see `for_batch`).
    """
    name = path.stem
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    document = read_suite_document(path)
    if document.get("name") != name:
        raise SuiteError(
            f"{path}: the suite is named {document.get('name')!r}, not {name!r}; GX finds a "
            "suite by its name, so make `name` match the file name"
        )
    unknown = set(document) - SUITE_KEYS
    if unknown:
        raise SuiteError(f"{path}: unknown keys {sorted(unknown)}; remove them")
    if not document["expectations"]:
        raise SuiteError(f"{path}: the suite has no expectations; add some or regenerate it")
    if adapt is not None:
        document = adapt(document)

    expectations = []
    for number, item in enumerate(document["expectations"], start=1):
        where = f"{path}: expectation {number}"
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("type"), str)
            or not isinstance(item.get("kwargs"), dict)
        ):
            raise SuiteError(f"{where} needs a string `type` and an object of `kwargs`")
        unknown = set(item) - EXPECTATION_KEYS
        if unknown:
            raise SuiteError(f"{where} ({item['type']}) has unknown keys {sorted(unknown)}")
        try:
            configuration = ExpectationConfiguration(**item)
            expectations.append(configuration.to_domain_obj())
        except Exception as error:  # GX raises pydantic, type and lookup errors alike
            reason = " ".join(str(error).split())
            raise SuiteError(
                f"{where} ({item['type']}) is not valid: {_shorten(reason, 300)}; fix it"
            ) from None
    return ExpectationSuite(name=name, expectations=expectations, meta=document.get("meta") or {})


def _context():
    """An in-memory GX context: no files, no temporary docs site, no progress bars."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _validator(
    frame: pd.DataFrame,
    result_format: Literal["BOOLEAN_ONLY", "BASIC", "SUMMARY", "COMPLETE"] | dict = "BOOLEAN_ONLY",
):
    """A GX Validator over the frame that loads it once for every suite it runs.

    `Batch.validate` and `ValidationDefinition.run` build this same Validator on each
    call, and each build loads the batch again: GX fingerprints every row of a data
    frame on load (a quarter of a second per million rows x 30 columns here). The
    class is not marked as GX's public API; tests/test_validation.py fails if an
    upgrade changes it.
    """
    from great_expectations.validator.v1_validator import Validator

    definition = (
        _context()
        .data_sources.add_pandas("pipeline")
        .add_dataframe_asset("data")
        .add_batch_definition_whole_dataframe("whole")
    )
    return Validator(
        batch_definition=definition,
        batch_parameters={"dataframe": frame},
        result_format=result_format,
    )


def _exception_message(info: Any) -> str | None:
    if not isinstance(info, dict):
        return None
    if info.get("exception_message"):
        lines = str(info["exception_message"]).strip().splitlines()
        return lines[-1] if lines else None
    for nested in info.values():
        message = _exception_message(nested)
        if message:
            return message
    return None


def _non_conforming(frame: pd.DataFrame, column: str, types: list[str]) -> list[Any]:
    """A few values of a column that break its expected type (what a reviewer needs to see)."""
    import pandas as pd

    values = frame[column]
    if set(types) <= NUMERIC_TYPES:
        as_numbers = pd.to_numeric(values, errors="coerce")
        values = values[values.notna() & as_numbers.isna()]
    else:
        values = values.dropna()
    return [plain(value) for value in values.drop_duplicates().head(EXAMPLES)]


def _failure(result: Any, frame: pd.DataFrame) -> Failure:
    config = result.expectation_config
    kwargs = dict(config.kwargs)
    column = kwargs.get("column")
    expected = plain({k: v for k, v in kwargs.items() if k not in PLUMBING})
    outcome = result.result or {}
    unexpected = plain(outcome.get("partial_unexpected_list") or [])[:EXAMPLES]

    if config.type == "expect_column_values_to_not_be_null":
        unexpected = []  # they are all null
    if column is not None and column not in frame.columns:
        observed: Any = dict(MISSING_COLUMN)
    elif (
        config.type == "expect_column_values_to_be_between"
        and column is not None
        and not is_numeric(frame[column])
    ):
        observed = {"error": f"cannot compare: the values are {frame[column].dtype}, not numbers"}
    elif "unexpected_count" in outcome:
        observed = plain({key: outcome.get(key) for key in ("unexpected_count", "element_count")})
    elif config.type == "expect_table_columns_to_match_set":
        mismatched = (outcome.get("details") or {}).get("mismatched") or {}
        observed = plain({key: mismatched.get(key, []) for key in ("missing", "unexpected")})
        unexpected = observed["unexpected"][:EXAMPLES]
    elif "observed_value" in outcome:
        observed = plain(outcome["observed_value"])
        types = kwargs.get("type_list") or ([kwargs["type_"]] if "type_" in kwargs else None)
        if types and column is not None:
            unexpected = _non_conforming(frame, column, list(types))
    else:
        observed = {"error": _exception_message(result.exception_info) or "not evaluated"}
    return Failure(config.type, column, expected, observed, unexpected)


def validate_frame(
    frame: pd.DataFrame,
    suite_file: Path,
    *,
    data: str = "dataframe",
    batch_target: str | None = None,
) -> ValidationResult:
    """Check a data frame against a suite file; `data` names it in the report.

    With `batch_target` (the target column) it checks a batch of new data (see
    `for_batch`) rather than a data set.
    """
    adapt = None
    if batch_target is not None:

        def adapt(document: dict[str, Any]) -> dict[str, Any]:
            return for_batch(document, map(str, frame.columns), batch_target)

    suite = load_suite(suite_file, adapt=adapt)
    order = {
        (expectation.expectation_type, getattr(expectation, "column", None)): index
        for index, expectation in reversed(list(enumerate(suite.expectations)))
    }
    from great_expectations.core.expectation_suite import ExpectationSuite

    validator = _validator(frame)
    # A pass/fail answer is cheaper for GX to compute than counts and examples of the
    # offending values; those are computed for the failed expectations only.
    outcome = validator.validate_expectation_suite(suite)
    failed = []
    recheck = [result.expectation_config for result in outcome.results if not result.success]
    if recheck:
        validator.result_format = DETAILS
        failing = ExpectationSuite(
            name=suite.name, expectations=[config.to_domain_obj() for config in recheck]
        )
        failed = list(validator.validate_expectation_suite(failing).results)
    failed.sort(
        key=lambda result: order.get(
            (result.expectation_config.type, result.expectation_config.kwargs.get("column")),
            len(order),
        )
    )
    return ValidationResult(
        success=bool(outcome.success),
        suite=suite.name,
        data=data,
        evaluated=int(outcome.statistics["evaluated_expectations"]),
        failures=tuple(_failure(result, frame) for result in failed),
    )


def with_training_checks(
    result: ValidationResult, problems: Iterable[Any], evaluated: int
) -> ValidationResult:
    """The result with the checks of what training needs (core.features.Problem) added.

    GX has no expectation for rows per class, so these checks run beside the suite and
    are reported in the same table and JSON, as `training:<check>` rows.
    """
    failures = tuple(
        Failure(
            f"training:{problem.check}",
            problem.column,
            problem.expected,
            problem.observed,
            [plain(value) for value in problem.examples],
            problem.fix,
        )
        for problem in problems
    )
    return ValidationResult(
        success=result.success and not failures,
        suite=result.suite,
        data=result.data,
        evaluated=result.evaluated,
        failures=result.failures + failures,
        training_checks=result.training_checks + evaluated,
    )


def build_data_docs(frame: pd.DataFrame, params: Params) -> str:
    """Validate into the GX context's (git-ignored) stores and render its Data Docs site.

    Returns the address of the site's index page.
    """
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    suite = load_suite(params.suite_path)
    context = gx.get_context(mode="file", context_root_dir=str(params.paths.gx))
    validator = _validator(frame, result_format="SUMMARY")
    outcome = validator.validate_expectation_suite(suite)
    key = ValidationResultIdentifier(
        ExpectationSuiteIdentifier(name=suite.name),
        RunIdentifier(run_name="data-docs"),
        validator.active_batch_id,
    )
    context.validation_results_store.set(key, outcome)
    sites = context.build_data_docs()
    return next(iter(sites.values()))
