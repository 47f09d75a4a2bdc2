"""One ingestion asset per feed: loads new and re-delivered files into `raw.<feed>`."""

import dagster as dg

from orchestration.resources import WarehouseResource
from segflow.errors import UserInputError
from segflow.feeds import FEEDS
from segflow.ingestion import ingest_feed


class IngestConfig(dg.Config):
    accept: list[str] = []  # re-delivered files allowed to remove many rows (`build --accept`)


def _ingestion_asset(feed: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=["raw", feed],
        group_name="ingestion",
        kinds={"python"},
        description=f"Deliveries of the `{feed}` feed loaded into raw.{feed} (docs/feeds.md).",
    )
    def _ingest(
        context: dg.AssetExecutionContext, config: IngestConfig, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        settings = warehouse.settings()
        if not settings.landing_dir.is_dir():
            raise UserInputError(
                f"the landing folder {settings.landing_dir} does not exist: set SEGFLOW_LANDING "
                "or run `segflow demo` to make one"
            )
        with warehouse.connect() as wh:
            report = ingest_feed(wh, settings, feed, accept=config.accept)
        for warning in report.warnings:
            context.log.warning(warning)
        for result in report.files:
            if result.status in ("loaded", "replaced"):
                context.log.info(
                    f"{result.file}: {result.status} {result.rows_loaded} rows, "
                    f"{result.rows_quarantined} quarantined"
                )
        metadata = {
            "files_loaded": sum(f.status in ("loaded", "replaced") for f in report.files),
            "files_unchanged": sum(f.status == "unchanged" for f in report.files),
            "rows_loaded": report.rows_loaded,
            "rows_quarantined": report.rows_quarantined,
            "files_rejected": len(report.rejected),
        }
        if report.rejected:
            raise dg.Failure(
                description="; ".join(f"{f.file}: {f.reason}" for f in report.rejected),
                metadata=metadata,
            )
        return dg.MaterializeResult(metadata=metadata)

    return _ingest


ingestion_assets = [_ingestion_asset(feed) for feed in FEEDS]
