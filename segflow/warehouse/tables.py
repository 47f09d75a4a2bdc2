"""Every table segflow itself owns, as data: the adapters render the DDL in their dialect.

dbt owns the models; these are the tables around them: the raw feeds with their lineage, the
file log and quarantine, the build and publication records, the history, the syncs' records
and the run log. One list, so an engine gets all of them right or none.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from segflow.feeds import FEEDS, ColumnType


class SqlType(StrEnum):
    TEXT = "text"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"  # a UTC instant without a zone (segflow's own records)
    TIMESTAMPTZ = "timestamptz"  # an instant with its zone (the feeds' timestamps)
    INTEGER = "integer"
    BIGINT = "bigint"
    DECIMAL = "decimal"  # 18 digits, 4 after the point: money


FEED_TYPES = {
    ColumnType.STRING: SqlType.TEXT,
    ColumnType.BOOLEAN: SqlType.BOOLEAN,
    ColumnType.DATE: SqlType.DATE,
    ColumnType.TIMESTAMP: SqlType.TIMESTAMPTZ,
    ColumnType.INTEGER: SqlType.BIGINT,
    ColumnType.DECIMAL: SqlType.DECIMAL,
}


@dataclass(frozen=True)
class Col:
    name: str
    type: SqlType
    not_null: bool = False


@dataclass(frozen=True)
class Table:
    """`schema` None: the output schema, where dashboards and syncs read (it differs by
    engine: `main`, `public`, ...)."""

    name: str
    columns: tuple[Col, ...]
    schema: str | None = None
    primary_key: tuple[str, ...] = ()


def _cols(*specs: tuple) -> tuple[Col, ...]:
    return tuple(Col(*spec) for spec in specs)


T, B, D, TS, INT, BIG, NUM = (
    SqlType.TEXT,
    SqlType.BOOLEAN,
    SqlType.DATE,
    SqlType.TIMESTAMP,
    SqlType.INTEGER,
    SqlType.BIGINT,
    SqlType.DECIMAL,
)
REQUIRED = True

# -- ingestion -------------------------------------------------------------------------------
# Columns every raw table carries: where each row came from, to order deliveries and replace
# a re-delivered file's rows.
LINEAGE_COLUMNS = _cols(("_file", T), ("_delivery_date", D), ("_row_number", BIG))
RAW_FEEDS = tuple(
    Table(
        feed.name,
        tuple(Col(c.name, FEED_TYPES[c.type]) for c in feed.columns) + LINEAGE_COLUMNS,
        schema="raw",
    )
    for feed in FEEDS.values()
)
FILE_LOG = Table(
    "file_log",
    _cols(
        ("feed", T, REQUIRED),
        ("file", T, REQUIRED),
        ("checksum", T, REQUIRED),
        ("delivery_date", D, REQUIRED),
        ("status", T, REQUIRED),
        ("rows_loaded", BIG),
        ("rows_quarantined", BIG),
        ("reason", T),
        ("ingested_at", SqlType.TIMESTAMPTZ, REQUIRED),
    ),
    schema="raw",
)
QUARANTINE = Table(
    "quarantine",
    _cols(
        ("feed", T, REQUIRED),
        ("file", T, REQUIRED),
        ("row_number", BIG),
        ("column", T),
        ("reason", T, REQUIRED),
        ("raw", T),
    ),
)
INGESTION = (*RAW_FEEDS, FILE_LOG, QUARANTINE)

# -- publication -----------------------------------------------------------------------------
BUILDS = Table(  # one row per build: slot, run, day, when built and published
    "segflow_builds",
    _cols(
        ("slot", T, REQUIRED),
        ("run_id", T, REQUIRED),
        ("as_of", D, REQUIRED),
        ("built_at", TS, REQUIRED),
        ("published_at", TS),
    ),
)
PUBLISHED = Table(  # the views publishing made, to replace or drop
    "segflow_published_relations",
    _cols(("schema_name", T, REQUIRED), ("relation", T, REQUIRED), ("slot", T, REQUIRED)),
)
PUBLICATION = (BUILDS, PUBLISHED)

# -- history ---------------------------------------------------------------------------------
HOT_HISTORY = Table(
    "hot_segment_history",
    _cols(
        ("segment", T, REQUIRED),
        ("day", D, REQUIRED),
        ("members", BIG, REQUIRED),
        ("revenue", NUM, REQUIRED),
        ("orders", BIG, REQUIRED),
        ("entered", BIG, REQUIRED),
        ("exited", BIG, REQUIRED),
    ),
)
SEGMENT_EVENTS = Table(
    "segment_events",
    _cols(
        ("segment", T, REQUIRED),
        ("customer_id", T, REQUIRED),
        ("day", D, REQUIRED),
        ("event", T, REQUIRED),
    ),
)
MEMBERSHIP_HISTORY = Table(
    "segment_membership_history",
    _cols(
        ("segment", T, REQUIRED),
        ("tier", T),
        ("customer_id", T, REQUIRED),
        ("valid_from", D, REQUIRED),
        ("valid_to", D, REQUIRED),
    ),
)
HISTORY_DAYS = Table(
    "segment_history_days",
    _cols(
        ("segment", T, REQUIRED),
        ("day", D, REQUIRED),
        ("definition_hash", T, REQUIRED),
        ("recorded_at", TS, REQUIRED),
    ),
)
HISTORY = (HOT_HISTORY, SEGMENT_EVENTS, MEMBERSHIP_HISTORY, HISTORY_DAYS)

# -- syncs -----------------------------------------------------------------------------------
SYNC_RUNS = Table(
    "sync_runs",
    _cols(
        ("run_id", T, REQUIRED),
        ("sync", T, REQUIRED),
        ("started_at", TS, REQUIRED),
        ("finished_at", TS),
        ("build_run_id", T),
        ("as_of", D),
        ("adds", INT),
        ("updates", INT),
        ("removes", INT),
        ("erasures", INT),
        ("rejected", INT),
        ("status", T, REQUIRED),
        ("error", T),
    ),
    primary_key=("run_id",),
)
SYNC_CONTACTS = Table(
    "sync_contacts",
    _cols(
        ("sync", T, REQUIRED),
        ("customer_id", T, REQUIRED),
        ("email", T),
        ("email_hash", T),
        ("status", T, REQUIRED),
        ("added_by_sync", B, REQUIRED),
        ("holdout", B, REQUIRED),
        ("fields_hash", T),
        ("pending_op", T),
        ("pending_hash", T),
        ("platform_id", T),
        ("last_sent", TS),
        ("reason", T),
        ("updated_at", TS, REQUIRED),
    ),
    primary_key=("sync", "customer_id"),
)
SYNC_REMOTE = Table(
    "sync_remote",
    _cols(("sync", T, REQUIRED), ("email", T, REQUIRED), ("platform_id", T), ("fields_hash", T)),
)
SYNC_DESIRED = Table(
    "sync_desired",
    _cols(
        ("sync", T, REQUIRED),
        ("customer_id", T, REQUIRED),
        ("email", T),
        ("in_segment", B, REQUIRED),
        ("consent", B, REQUIRED),
        ("erased", B, REQUIRED),
        ("holdout", B, REQUIRED),
        ("payload", T),
        ("fields_hash", T),
    ),
)
SYNC_SALT = Table("sync_salt", _cols(("salt", T, REQUIRED)))
SYNC = (SYNC_RUNS, SYNC_CONTACTS, SYNC_REMOTE, SYNC_DESIRED, SYNC_SALT)

# -- run log (the Operations dashboard) ------------------------------------------------------
RUN_LOG = Table(
    "segflow_run_log",
    _cols(
        ("run_id", T, REQUIRED),
        ("job", T, REQUIRED),
        ("day", D),
        ("status", T, REQUIRED),
        ("started_at", TS),
        ("ended_at", TS),
    ),
)
CHECK_LOG = Table(
    "segflow_check_log",
    _cols(
        ("run_id", T, REQUIRED),
        ("day", D),
        ("check_name", T, REQUIRED),
        ("asset", T, REQUIRED),
        ("severity", T, REQUIRED),
        ("checked_at", TS, REQUIRED),
    ),
)
RUN_LOGS = (RUN_LOG, CHECK_LOG)

# -- quality ---------------------------------------------------------------------------------
VALIDATED_DELIVERIES = Table(  # what a build's passing check covered: the next build reads the rest
    "validated_deliveries",
    _cols(
        ("run_id", T, REQUIRED),
        ("suite", T, REQUIRED),
        ("suite_digest", T, REQUIRED),  # suite, query, keys, time zone, a feed's staging
        ("files", T, REQUIRED),  # JSON {file: checksum} of its deliveries ({} for a model)
        ("compared_values", T),  # JSON list: the currencies seen (a rule over all history)
        ("validated_at", TS, REQUIRED),
    ),
    schema="segflow_quality",
)
QUALITY = (VALIDATED_DELIVERIES,)

ALL = (*INGESTION, *PUBLICATION, *HISTORY, *SYNC, *RUN_LOGS, *QUALITY)
