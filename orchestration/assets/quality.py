"""The Great Expectations suites (segflow/quality/) as Dagster asset checks.

A suite that checks a build (the feeds as staged, memberships, stats) is a blocking check on
its dbt model. It reads what the published build's check had not passed on: a feed's new
deliveries, the membership rows that changed (segflow/quality/). The history step, which
publishes the build, depends on those models, so a failed critical expectation stops the run
before anything is published. Warnings are reported and publish anyway. The erasure suite
checks what was published.
"""

import dagster as dg

from orchestration.resources import WarehouseResource, build_run_id
from segflow.publication.publish import pending_build
from segflow.quality import DATASETS, Dataset, SuiteOutcome, validate

GATED_ASSETS = [dg.AssetKey(list(d.asset)) for d in DATASETS if d.gates_publication]


def _check_name(dataset: Dataset) -> str:
    return f"gx_{dataset.suite}"


def _result(dataset: Dataset, outcome: SuiteOutcome) -> dg.AssetCheckResult:
    failed = outcome.failed
    severity = dg.AssetCheckSeverity.ERROR if not outcome.passed else dg.AssetCheckSeverity.WARN
    metadata: dict[str, dg.RawMetadataValue] = {
        "rows": outcome.rows,  # the rows read: `rows_read` says which
        "rows_read": outcome.scope,
        "expectations": len(outcome.expectations),
        "failed_expectations": dg.MetadataValue.json(
            [
                {
                    "expectation": e.description,
                    "type": e.expectation,
                    "column": e.column,
                    "severity": e.severity,
                    "observed": e.observed,
                    "unexpected_rows": e.unexpected,
                    "sample_rows": e.samples,
                }
                for e in failed
            ]
        ),
        "summary": dg.MetadataValue.md(_markdown(outcome)),
    }
    return dg.AssetCheckResult(
        asset_key=dg.AssetKey(list(dataset.asset)),
        check_name=_check_name(dataset),
        passed=not failed,
        severity=severity,
        metadata=metadata,
        description=outcome.summary(),
    )


def _markdown(outcome: SuiteOutcome) -> str:
    lines = [f"**{outcome.suite}**: {outcome.rows} rows read ({outcome.scope})", ""]
    lines += ["| expectation | severity | result |", "|---|---|---|"]
    for e in outcome.expectations:
        lines.append(f"| {e.description} | {e.severity} | {e.result_text()} |")
    for e in outcome.failed:
        if e.samples:
            lines += ["", f"Sample rows for *{e.description}*:", ""]
            columns = list(e.samples[0])
            lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
            lines += ["| " + " | ".join(str(r.get(c)) for c in columns) + " |" for r in e.samples]
    return "\n".join(lines)


def _suite_check(dataset: Dataset) -> dg.AssetChecksDefinition:
    what = "the build before it is published" if dataset.gates_publication else "what was published"

    @dg.asset_check(
        asset=dg.AssetKey(list(dataset.asset)),
        name=_check_name(dataset),
        blocking=dataset.gates_publication,
        description=f"Great Expectations suite `{dataset.suite}` "
        f"(expectations/expectations/{dataset.suite}.json) on {what}.",
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
        settings = warehouse.settings()
        with warehouse.connect() as wh:
            build = (
                pending_build(wh, build_run_id(context.run)) if dataset.gates_publication else None
            )
            outcome = (
                validate(wh, settings, dataset.suite, build.slot, build.run_id)
                if build
                else validate(wh, settings, dataset.suite)
            )
        context.log.info(outcome.summary())
        return _result(dataset, outcome)

    return _check


quality_checks = [_suite_check(d) for d in DATASETS]
