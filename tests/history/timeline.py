"""What the history tests share: a project on a hand-made timeline, built once as of
2026-03-10, and the history tables read whole or emptied."""

from __future__ import annotations

from datetime import date

from orchestration.runner import run_build
from segflow.history.record import EVENTS, HISTORY_DAYS, HOT_HISTORY, MEMBERSHIP_HISTORY
from segflow.segments.project import SegmentProject, load_project
from segflow.settings import Settings
from segflow.warehouse import Warehouse
from tests.conftest import configure_project, write_segments
from tests.feedfiles import TRANSACTION_HEADER, deliver

BUILT_ON = date(2026, 3, 10)
CUSTOMER_HEADER = ["customer_id", "email", "signup_date", "updated_at"]
LINE_HEADER = TRANSACTION_HEADER[: TRANSACTION_HEADER.index("amount") + 1]


def timeline_project(
    mp,
    root,
    engine: str,
    database: str | None,
    customers: list[list[str]],
    lines: list[list[str]],
    segments: dict[str, str],
    brands: dict[str, str] | None = None,
) -> tuple[Settings, SegmentProject]:
    """A project with these customers, sales lines (LINE_HEADER's columns) and segments, and
    products P1 and P2 (with `brands` when given), built as of BUILT_ON."""
    settings = configure_project(mp, root, engine, database)
    deliver(settings.landing_dir, "customers", f"{BUILT_ON}.csv", CUSTOMER_HEADER, customers)
    if brands is None:
        deliver(settings.landing_dir, "products", "2026-01-01.csv", ["product_id"], [["P1"]])
    else:
        products = [[p, b] for p, b in brands.items()]
        deliver(
            settings.landing_dir, "products", "2026-01-01.csv", ["product_id", "brand"], products
        )
    deliver(settings.landing_dir, "transactions", f"{BUILT_ON}.csv", LINE_HEADER, lines)
    write_segments(settings, segments)
    run_build(settings, as_of=BUILT_ON)
    return settings, load_project(settings.segments_dir)


_ORDER = {
    HOT_HISTORY: "segment, day",
    EVENTS: "segment, day, customer_id, event",
    MEMBERSHIP_HISTORY: "segment, tier, customer_id, valid_from",
}


def history_snapshot(wh: Warehouse) -> dict[str, list[tuple]]:
    """Every row of the history tables, in a fixed order."""
    return {
        t: wh.query(f"select * from {wh.output_schema}.{t} order by {o}") for t, o in _ORDER.items()
    }


def forget_history(wh: Warehouse) -> None:
    """Empty the history tables, the record of which days were recorded too."""
    for table in (HOT_HISTORY, EVENTS, MEMBERSHIP_HISTORY, HISTORY_DAYS):
        wh.execute(f"delete from {wh.output_schema}.{table}")
