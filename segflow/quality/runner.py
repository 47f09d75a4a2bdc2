"""Runs one committed GX suite on a frame with GX's pandas engine, and what it found.

GX's SQL engine does not support DuckDB (docs/stack.md), and one engine for both warehouses
keeps one meaning.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from segflow.quality.datasets import EXPECTATIONS_DIR, Dataset
from segflow.settings import Settings

SAMPLE_ROWS = 5


@dataclass(frozen=True)
class ExpectationOutcome:
    description: str
    expectation: str  # GX type, e.g. expect_column_values_to_be_unique
    column: str
    success: bool
    critical: bool  # GX severity "critical": stops publication; "warning" does not
    observed: Any
    unexpected: int | None
    samples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def severity(self) -> str:
        return "critical" if self.critical else "warning"

    def result_text(self) -> str:
        if self.success:
            return "met"
        if self.unexpected is not None:
            return f"{self.unexpected} unexpected row(s)"
        return f"observed {self.observed}"


@dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    rows: int
    expectations: list[ExpectationOutcome]
    scope: str = "every row"  # which rows: a build's check of a feed reads its night's

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [e for e in self.expectations if not e.success]

    @property
    def passed(self) -> bool:
        """No critical expectation failed (warnings may have)."""
        return not any(e.critical for e in self.failed)

    def summary(self) -> str:
        if not self.failed:
            met = len(self.expectations)
            return f"{self.suite}: all {met} expectations met ({self.rows} rows read)"
        return f"{self.suite}: " + "; ".join(
            f"{e.description} ({e.result_text()})" for e in self.failed
        )


def parameters(settings: Settings) -> dict[str, Any]:
    """Values of the suites' `$PARAMETER`s, from the settings."""
    return {
        "latest_date": (settings.today() + dt.timedelta(days=1)).isoformat(),
        "max_size_change": settings.max_size_change,
        "max_unknown_article_share": settings.max_unknown_article_share,
    }


def run_suite(dataset: Dataset, settings: Settings, frame: Any, scope: str) -> SuiteOutcome:
    definition = load_context().validation_definitions.get(dataset.suite)
    result = definition.run(
        batch_parameters={"dataframe": frame},
        expectation_parameters=parameters(settings),
        result_format={
            "result_format": "SUMMARY",
            "unexpected_index_column_names": list(dataset.keys),
            "partial_unexpected_count": SAMPLE_ROWS,
        },
    )
    outcomes = [_outcome(r, frame, dataset) for r in result.results]
    return SuiteOutcome(dataset.suite, len(frame), outcomes, scope)


@functools.cache
def load_context():
    """The committed file context, loaded once per process (every suite of a run uses it)."""
    _keep_spark_connect_from_exiting()
    import great_expectations as gx

    return gx.get_context(mode="file", context_root_dir=str(EXPECTATIONS_DIR))


def _keep_spark_connect_from_exiting() -> None:
    """GX imports `pyspark.sql.connect` whenever pyspark is installed (the spark extra). That
    import calls `sys.exit(0)` ("Skipping doctests") when `__main__` has neither a spec nor a
    file, as under `python -c` or in a pytest-xdist worker, and Spark Connect's own packages
    are missing: the run would stop as if it had succeeded. segflow never uses Spark Connect
    (Spark is reached through its Thrift server), so in such a process, whether or not those
    packages are there, the import fails for the rest of the process as if Spark Connect were
    not installed, which GX handles (docs/stack.md)."""
    main = sys.modules.get("__main__")
    looks_like_doctest = (
        main is not None
        and getattr(main, "__spec__", None) is None
        and not hasattr(main, "__file__")
        and not hasattr(sys, "ps1")
    )
    if looks_like_doctest and "pyspark.sql.connect" not in sys.modules:
        sys.modules["pyspark.sql.connect"] = None  # type: ignore[assignment]  # import -> ImportError


def _outcome(result: Any, frame: Any, dataset: Dataset) -> ExpectationOutcome:
    config = result.expectation_config
    kwargs = config.kwargs
    column = kwargs.get("column") or ", ".join(
        kwargs.get("column_list") or [kwargs.get("column_A", ""), kwargs.get("column_B", "")]
    )
    details = result.result or {}
    if result.exception_info and result.exception_info.get("raised_exception"):
        observed: Any = "error: " + str(result.exception_info.get("exception_message"))
    else:
        observed = details.get("observed_value")
    samples = _samples(details, frame, dataset) if not result.success else []
    return ExpectationOutcome(
        description=config.description or config.type,
        expectation=config.type,
        column=column,
        success=bool(result.success),
        critical=str(getattr(config.severity, "value", config.severity)) == "critical",
        observed=_plain(observed),
        unexpected=details.get("unexpected_count"),
        samples=samples,
    )


def _samples(details: dict, frame: Any, dataset: Dataset) -> list[dict[str, Any]]:
    """Up to SAMPLE_ROWS offending rows, whole: from the unexpected keys, else the top rows
    of an aggregate expectation's column."""
    keys = details.get("partial_unexpected_index_list") or details.get("unexpected_index_list")
    if keys:
        wanted = [tuple(k[c] for c in dataset.keys) for k in keys[:SAMPLE_ROWS]]
        if len(dataset.keys) == 1:  # a plain index takes plain values
            wanted = [key[0] for key in wanted]
        index = frame.set_index(list(dataset.keys), drop=False)
        rows = []
        for key in dict.fromkeys(wanted):
            found = index.loc[[key]] if key in index.index else None
            if found is not None:
                rows += found.head(SAMPLE_ROWS).to_dict("records")
        return [{k: _plain(v) for k, v in row.items()} for row in rows[:SAMPLE_ROWS]]
    return []


def _plain(value: Any) -> Any:
    """JSON-friendly values for metadata: numbers, text, None."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)
