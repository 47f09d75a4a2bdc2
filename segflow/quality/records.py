"""What a build's passing checks covered, kept in the warehouse for the next build
(`segflow_quality.validated_deliveries`): only the published build's record is read, so a
night that failed its checks leaves its rows to be read again by the next one."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from segflow.publication.publish import BUILDS, Build, published_build
from segflow.warehouse import Warehouse, tables, utc_now

RECORD = f"{tables.VALIDATED_DELIVERIES.schema}.{tables.VALIDATED_DELIVERIES.name}"


def definition_digest(*parts: str | bytes) -> str:
    """Of what decides a check's result besides the rows (datasets.suite_digest says which).
    Another digest and a check reads every row once."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class Recorded:
    """The published build's record of a suite, under the same definition digest."""

    build: Build
    files: dict[str, str]  # file -> checksum of every delivery its rows came from (feeds)
    values: list[str]  # of the column compared with all history (the currencies)


def published_record(wh: Warehouse, suite: str, digest: str) -> Recorded | None:
    """The published build's record of `suite` if its check passed under `digest`."""
    wh.ensure_tables(tables.QUALITY)
    published = published_build(wh)
    if published is None:
        return None
    # Written after the build it covers: a dbt step executed again after the check (a
    # re-execution from it) makes a new build of the slot, which the record does not cover.
    rows = wh.query(
        f"select r.files, r.compared_values from {RECORD} as r "
        f"join {wh.output_schema}.{BUILDS} as b on b.run_id = r.run_id and b.slot = ? "
        "where r.run_id = ? and r.suite = ? and r.suite_digest = ? "
        "and b.published_at is not null and r.validated_at >= b.built_at "
        "order by r.validated_at desc",
        (published.slot, published.run_id, suite, digest),
    )
    if not rows:
        return None
    return Recorded(published, json.loads(rows[0][0]), json.loads(rows[0][1] or "[]"))


def record(
    wh: Warehouse,
    run_id: str,
    suite: str,
    digest: str,
    files: dict[str, str],
    values: list[str],
    keep_run: str | None,
) -> None:
    """Remember what this build's passing check covered, in place of every record but
    `keep_run`'s (the published build's), which the next build reads if this one is not
    published."""
    wh.ensure_tables(tables.QUALITY)
    with wh.transaction():
        wh.execute(
            f"delete from {RECORD} where suite = ? and (run_id <> ? or run_id = ?)",
            (suite, keep_run or "", run_id),
        )
        wh.execute(
            f"insert into {RECORD} (run_id, suite, suite_digest, files, compared_values, "
            "validated_at) values (?, ?, ?, ?, ?, ?)",
            (
                run_id,
                suite,
                digest,
                json.dumps(files, sort_keys=True),
                json.dumps(sorted(values)),
                utc_now(),
            ),
        )
