"""Settings from the environment (and an optional `.env`); defaults make a fresh clone work.

See docs/reference.md, "Settings". Relative paths are resolved against the working directory.
"""

from __future__ import annotations

import getpass
import os
import re
from datetime import date, datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import load_dotenv
from pydantic import BaseModel, ConfigDict

from segflow.errors import SettingsError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


# Every segflow and dbt session on PostgreSQL runs without JIT compilation. Its cost model
# JIT-compiles and optimises a statement's expressions when the estimated cost is high, and
# segflow's statements have hundreds of CASE expressions (a column per feature, segment and
# tier): segment_stats at 100k customers took 67 s with JIT (66 s of it compiling) and 0.5 s
# without. Given to segflow's connections as libpq options, and to dbt as PGOPTIONS.
POSTGRES_SESSION_OPTIONS = "-c jit=off"


class PostgresSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    host: str
    port: int
    user: str
    password: str
    dbname: str

    def conninfo(self) -> dict[str, object]:
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password or None,
            "dbname": self.dbname,
            "options": POSTGRES_SESSION_OPTIONS,
        }

    def describe(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.dbname}"


class SparkSettings(BaseModel):
    """Spark through a Thrift server: the local one segflow starts (metastore and warehouse
    in `dir`), or a cluster's when `host` is set."""

    model_config = ConfigDict(frozen=True)

    dir: Path
    master: str = "local[2]"
    host: str = ""  # empty: segflow runs a local Thrift server
    port: int = 10009

    @property
    def local(self) -> bool:
        return not self.host

    @property
    def address(self) -> str:
        return self.host or "127.0.0.1"

    def describe(self) -> str:
        if self.local:
            return f"local Spark ({self.master}) in {self.dir}, Thrift port {self.port}"
        return f"Spark Thrift server {self.host}:{self.port}"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    segments_dir: Path
    landing_dir: Path
    dbt_project_dir: Path
    target: Literal["duckdb", "postgres", "spark"]
    duckdb_path: Path
    postgres: PostgresSettings
    spark: SparkSettings
    timezone: str
    max_bad_share: float
    nightly_hour: int = 2  # local hour of the nightly run
    history_start: date = date(2024, 1, 1)  # the first daily partition
    hot_backfill_days: int = 365  # days a new hot segment's history is backfilled
    # Data-quality bounds (expectations/, README "Data quality").
    max_size_change: float = 0.5  # a segment's size may change by this share day over day
    size_change_min_members: int = 100  # ... when it had at least this many members
    max_unknown_article_share: float = 0.01  # sales lines with an unknown product_id
    # DuckDB's buffer pool, for segflow's connections and dbt's: DuckDB's own default is 80 %
    # of RAM, which a long backfill fills with cached blocks (docs/reference.md, Settings).
    duckdb_memory_limit: str = "80%"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def today(self) -> date:
        """Today in the business's time zone: the default D."""
        return datetime.now(self.tz).date()

    def dbt_env(self) -> dict[str, str]:
        """Environment that the dbt profile (dbt_project/profiles.yml) reads."""
        pg = self.postgres
        return {
            "SEGFLOW_TARGET": self.target,
            "SEGFLOW_DUCKDB_PATH": str(self.duckdb_path),
            "SEGFLOW_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
            "SEGFLOW_TIMEZONE": self.timezone,
            "PGHOST": pg.host,
            "PGPORT": str(pg.port),
            "PGUSER": pg.user,
            "PGPASSWORD": pg.password,
            "PGDATABASE": pg.dbname,
            # after the user's own options: a later -c of the same setting wins
            "PGOPTIONS": f"{os.environ.get('PGOPTIONS', '')} {POSTGRES_SESSION_OPTIONS}".strip(),
            "SEGFLOW_SPARK_HOST": self.spark.address,
            "SEGFLOW_SPARK_PORT": str(self.spark.port),
        }


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _default_pghost() -> str:
    # libpq's default is the local socket directory when there is one.
    return "/var/run/postgresql" if Path("/var/run/postgresql").is_dir() else "localhost"


def load_settings(dotenv: bool = True) -> Settings:
    """Read the settings; a wrong one raises SettingsError with a sentence naming the variable."""
    if dotenv:
        load_dotenv(Path.cwd() / ".env", override=False)

    target = _env("SEGFLOW_TARGET", "duckdb").lower()
    if target not in ("duckdb", "postgres", "spark"):
        raise SettingsError(
            f"SEGFLOW_TARGET={target!r} is not a warehouse segflow knows: "
            "use 'duckdb', 'postgres' or 'spark'."
        )

    timezone = _env("SEGFLOW_TIMEZONE", "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"SEGFLOW_TIMEZONE={timezone!r} is not a time zone name "
            "such as 'Europe/Berlin' or 'UTC'."
        ) from None

    max_bad_share = _share("SEGFLOW_MAX_BAD_SHARE", "0.05")
    max_size_change = _share("SEGFLOW_MAX_SIZE_CHANGE", "0.5", upper=None)
    max_unknown_article_share = _share("SEGFLOW_MAX_UNKNOWN_ARTICLE_SHARE", "0.01")
    raw_floor = _env("SEGFLOW_SIZE_CHANGE_MIN_MEMBERS", "100")
    if not raw_floor.isdigit():
        raise SettingsError(
            f"SEGFLOW_SIZE_CHANGE_MIN_MEMBERS={raw_floor!r} must be a number of members, "
            "such as 100."
        )

    raw_port = _env("PGPORT", "5432")
    if not raw_port.isdigit():
        raise SettingsError(f"PGPORT={raw_port!r} must be a port number, such as 5432.")
    user = _env("PGUSER", getpass.getuser())

    raw_spark_port = _env("SEGFLOW_SPARK_PORT", "10009")
    if not raw_spark_port.isdigit():
        raise SettingsError(
            f"SEGFLOW_SPARK_PORT={raw_spark_port!r} must be a port number, such as 10009."
        )

    raw_hour = _env("SEGFLOW_NIGHTLY_HOUR", "2")
    if not (raw_hour.isdigit() and 0 <= int(raw_hour) <= 23):
        raise SettingsError(
            f"SEGFLOW_NIGHTLY_HOUR={raw_hour!r} must be an hour from 0 to 23, such as 2."
        )
    raw_start = _env("SEGFLOW_HISTORY_START", "2024-01-01")
    try:
        history_start = date.fromisoformat(raw_start)
    except ValueError:
        raise SettingsError(
            f"SEGFLOW_HISTORY_START={raw_start!r} must be a date YYYY-MM-DD, such as 2024-01-01."
        ) from None
    raw_days = _env("SEGFLOW_HOT_BACKFILL_DAYS", "365")
    if not raw_days.isdigit():
        raise SettingsError(
            f"SEGFLOW_HOT_BACKFILL_DAYS={raw_days!r} must be a number of days, such as 365 "
            "(0 turns the automatic backfill off)."
        )

    memory_limit = _env("SEGFLOW_DUCKDB_MEMORY_LIMIT", "80%").replace(" ", "")
    if not re.fullmatch(r"(?i)\d+(\.\d+)?(%|[KMGT]i?B)", memory_limit):
        raise SettingsError(
            f"SEGFLOW_DUCKDB_MEMORY_LIMIT={memory_limit!r} must be an amount of memory such as "
            "'4GB' or '8GiB', or a share of RAM such as '50%'."
        )

    cwd = Path.cwd()
    return Settings(
        segments_dir=(cwd / _env("SEGFLOW_SEGMENTS", "segments")).resolve(),
        landing_dir=(cwd / _env("SEGFLOW_LANDING", "data/landing")).resolve(),
        dbt_project_dir=(cwd / _env("SEGFLOW_DBT_PROJECT", str(DEFAULT_DBT_PROJECT_DIR))).resolve(),
        target=target,  # type: ignore[arg-type]
        duckdb_path=(cwd / _env("SEGFLOW_DUCKDB_PATH", "data/warehouse.duckdb")).resolve(),
        postgres=PostgresSettings(
            host=_env("PGHOST", _default_pghost()),
            port=int(raw_port),
            user=user,
            password=os.environ.get("PGPASSWORD", ""),
            dbname=_env("PGDATABASE", user),
        ),
        spark=SparkSettings(
            dir=(cwd / _env("SEGFLOW_SPARK_DIR", "data/spark")).resolve(),
            master=_env("SEGFLOW_SPARK_MASTER", "local[2]"),
            host=_env("SEGFLOW_SPARK_HOST", ""),
            port=int(raw_spark_port),
        ),
        timezone=timezone,
        max_bad_share=max_bad_share,
        nightly_hour=int(raw_hour),
        history_start=history_start,
        hot_backfill_days=int(raw_days),
        max_size_change=max_size_change,
        size_change_min_members=int(raw_floor),
        max_unknown_article_share=max_unknown_article_share,
        duckdb_memory_limit=memory_limit,
    )


def _share(name: str, default: str, upper: float | None = 1.0) -> float:
    raw = _env(name, default)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0.0 or (upper is not None and value > upper):
        between = "between 0 and 1" if upper is not None else "of 0 or more"
        raise SettingsError(f"{name}={raw!r} must be a share {between}, such as {default}.")
    return value
