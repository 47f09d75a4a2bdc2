"""One run of a sync: reconcile with the platform, plan in SQL, guard, record the intent,
send in batches, confirm. Every operation is recorded `pending` before it is sent and
`synced`/`removed`/`rejected` after the platform acknowledged it; the next run starts by reading
the list back, so a crash at any point converges without losing or re-sending anyone."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pyarrow as pa

from segflow.errors import UserInputError
from segflow.publication.publish import published_build
from segflow.sync.destination import Contact, Destination
from segflow.sync.model import SyncDefinition
from segflow.sync.plan import Operation, Plan, compute_plan, fill_desired
from segflow.sync.store import (
    CONTACTS,
    DESIRED,
    REMOTE,
    RUNS,
    ensure_tables,
    fields_hash,
    salt,
    salted_hash,
)
from segflow.warehouse import Warehouse, utc_now


class GuardRefused(UserInputError):
    """A guard stopped the run before anything was sent."""


@dataclass
class Outcome:
    sync: str
    plan: Plan
    rejected: int = 0
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)


def read_build(wh: Warehouse) -> tuple[str, object]:
    """The build the published views read: only published builds passed their checks."""
    build = published_build(wh)
    if build is None:
        raise GuardRefused("no build has been published yet (run `segflow build`): nothing sent")
    return build.run_id, build.as_of


def load_remote(wh: Warehouse, name: str, rows: list[tuple[str, str | None, str]]) -> None:
    s = wh.output_schema
    with wh.transaction():
        wh.execute(f"delete from {s}.{REMOTE} where sync = ?", (name,))
        table = pa.table(
            {
                "sync": [name] * len(rows),
                "email": [r[0] for r in rows],
                "platform_id": [r[1] for r in rows],
                "fields_hash": [r[2] for r in rows],
            },
            schema=pa.schema(
                [(c, pa.string()) for c in ("sync", "email", "platform_id", "fields_hash")]
            ),
        )
        wh.bulk_insert(f"{s}.{REMOTE}", table)


def remote_from_records(wh: Warehouse, name: str) -> None:
    """Without the platform (an offline dry run): what the records say is on the list."""
    s = wh.output_schema
    with wh.transaction():
        wh.execute(f"delete from {s}.{REMOTE} where sync = ?", (name,))
        wh.execute(
            f"insert into {s}.{REMOTE} select sync, email, platform_id, fields_hash "
            f"from {s}.{CONTACTS} where sync = ? and email is not null "
            "and (status = 'synced' or (status = 'pending' and pending_op <> 'add'))",
            (name,),
        )


def read_platform(
    wh: Warehouse, name: str, sync: SyncDefinition, dest: Destination, create: bool = True
) -> str:
    """Reconciliation: the list's actual members (paginated) become `sync_remote`. A dry run
    does not create a missing list (it is empty)."""
    list_id = dest.ensure_list(sync.list, create=create)
    keys = list(sync.fields)
    rows = [
        (m.email, m.platform_id, fields_hash([m.values.get(k) for k in keys]))
        for m in (dest.members(list_id, keys) if list_id else [])
    ]
    load_remote(wh, name, rows)
    return list_id or ""


def plan_sync(wh: Warehouse, name: str, sync: SyncDefinition) -> Plan:
    fill_desired(wh, name, sync)
    return compute_plan(wh, name, sync)


def check_guard(plan: Plan, sync: SyncDefinition, allow_removals: bool) -> None:
    removes = len(plan.of("remove"))
    if removes and not allow_removals and removes > sync.max_removals * plan.list_size:
        raise GuardRefused(
            f"sync {plan.sync}: {removes} removals of a list of {plan.list_size} exceed "
            f"max_removals {sync.max_removals:g}: nothing sent (--allow-removals to go ahead)"
        )


def run_sync(
    wh: Warehouse,
    name: str,
    sync: SyncDefinition,
    dest: Destination | None,
    dry_run: bool = False,
    allow_removals: bool = False,
) -> Outcome:
    ensure_tables(wh)
    build_run, as_of = read_build(wh)
    if dest is None:
        if not dry_run:
            raise GuardRefused(f"sync {name}: no API key for {sync.destination}: nothing sent")
        remote_from_records(wh, name)
        list_id = ""
    else:
        list_id = read_platform(wh, name, sync, dest, create=not dry_run)
    plan = plan_sync(wh, name, sync)
    outcome = Outcome(name, plan, dry_run=dry_run)
    run_id = uuid.uuid4().hex
    if dry_run:  # nothing sent, no contact recorded; the run itself is, for Operations
        note = None if dest is not None else "no API key: compared with the sync's own records"
        _record_run(wh, run_id, name, build_run, as_of, plan, 0, "dry run", note)
        return outcome
    try:
        check_guard(plan, sync, allow_removals)
    except GuardRefused as exc:
        _record_run(wh, run_id, name, build_run, as_of, plan, 0, "refused", str(exc))
        raise
    assert dest is not None
    with wh.transaction():
        wh.execute(  # a run that died: the reconciliation below finishes its work
            f"update {wh.output_schema}.{RUNS} set status = 'interrupted' "
            "where sync = ? and status = 'running'",
            (name,),
        )
        _record_run(wh, run_id, name, build_run, as_of, plan, 0, "running", None)
        _reconcile_records(wh, name)
        _record_intent(wh, name, plan.operations)
    try:
        outcome.rejected = _send(wh, name, sync, dest, list_id, plan)
    except Exception as exc:
        _finish_run(wh, run_id, "failed", outcome.rejected, f"{type(exc).__name__}: {exc}")
        raise
    _finish_run(wh, run_id, "ok", outcome.rejected, None)
    return outcome


def _record_run(
    wh: Warehouse,
    run_id: str,
    name: str,
    build_run: str,
    as_of: object,
    plan: Plan,
    rejected: int,
    status: str,
    error: str | None,
) -> None:
    counts = plan.counts
    wh.execute(
        f"insert into {wh.output_schema}.{RUNS} (run_id, sync, started_at, finished_at, "
        "build_run_id, as_of, adds, updates, removes, erasures, rejected, status, error) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            run_id,
            name,
            utc_now(),
            utc_now() if status != "running" else None,
            build_run,
            as_of,
            counts["add"],
            counts["update"],
            counts["remove"],
            counts["erase"],
            rejected,
            status,
            error,
        ),
    )


def _finish_run(wh: Warehouse, run_id: str, status: str, rejected: int, error: str | None) -> None:
    wh.execute(
        f"update {wh.output_schema}.{RUNS} set finished_at = ?, status = ?, rejected = ?, "
        "error = ? where run_id = ?",
        (utc_now(), status, rejected, error, run_id),
    )


def _reconcile_records(wh: Warehouse, name: str) -> None:
    """Make the records say what the platform holds: desired members already there as
    desired are synced (a send whose answer was lost), members gone from the list removed."""
    s, ts = wh.output_schema, utc_now()
    wh.execute(
        f"""
        insert into {s}.{CONTACTS} (sync, customer_id, email, status, added_by_sync, holdout,
            fields_hash, platform_id, updated_at)
        select d.sync, d.customer_id, d.email, 'synced',
            coalesce(c.pending_op = 'add' or (c.added_by_sync and c.status <> 'removed'), false),
            false, d.fields_hash, r.platform_id, ?
        from {s}.{DESIRED} d
        join {s}.{REMOTE} r on r.sync = d.sync and r.email = d.email
        left join {s}.{CONTACTS} c on c.sync = d.sync and c.customer_id = d.customer_id
        where d.sync = ? and d.in_segment and d.consent and not d.holdout
          and r.fields_hash = d.fields_hash
        on conflict (sync, customer_id) do update set email = excluded.email,
            status = 'synced', added_by_sync = excluded.added_by_sync,
            fields_hash = excluded.fields_hash, platform_id = excluded.platform_id,
            pending_op = null, pending_hash = null, reason = null,
            updated_at = excluded.updated_at
        """,
        (ts, name),
    )
    wh.execute(
        f"""
        update {s}.{CONTACTS} set status = 'removed', pending_op = null, pending_hash = null,
            updated_at = ?
        where sync = ? and status in ('synced', 'pending') and email is not null
          and email not in (select email from {s}.{REMOTE} where sync = ?)
        """,
        (ts, name, name),
    )
    wh.execute(
        f"""
        update {s}.{CONTACTS} set holdout = d.holdout
        from {s}.{DESIRED} d
        where {CONTACTS}.sync = ? and d.sync = {CONTACTS}.sync
          and d.customer_id = {CONTACTS}.customer_id and d.holdout <> {CONTACTS}.holdout
        """,
        (name,),
    )
    # the control group, recorded so a campaign's uplift can be measured against it
    wh.execute(
        f"""
        insert into {s}.{CONTACTS} (sync, customer_id, email, status, added_by_sync, holdout,
            updated_at)
        select sync, customer_id, email, 'holdout', false, true, ?
        from {s}.{DESIRED} where sync = ? and in_segment and consent and holdout
        on conflict (sync, customer_id) do update set holdout = true,
            status = case when {CONTACTS}.status = 'removed' then 'holdout'
                     else {CONTACTS}.status end
        """,
        (ts, name),
    )


def _record_intent(wh: Warehouse, name: str, operations: list[Operation]) -> None:
    if not operations:
        return
    s = wh.output_schema
    table = pa.table(
        {
            "sync": [name] * len(operations),
            "customer_id": [o.customer_id for o in operations],
            "email": [o.email for o in operations],
            "pending_op": [o.op for o in operations],
            "pending_hash": [o.fields_hash for o in operations],
            "platform_id": [o.platform_id for o in operations],
            "added_by_sync": [bool(o.added_by_sync) for o in operations],
        }
    )
    wh.execute(
        "create temp table if not exists sync_intent (sync varchar, customer_id varchar, "
        "email varchar, pending_op varchar, pending_hash varchar, platform_id varchar, "
        "added_by_sync boolean)"
    )
    wh.execute("delete from sync_intent")
    wh.bulk_insert("sync_intent", table)
    wh.execute(
        f"""
        insert into {s}.{CONTACTS} (sync, customer_id, email, status, added_by_sync, holdout,
            pending_op, pending_hash, platform_id, updated_at)
        select sync, customer_id, email, 'pending', added_by_sync, false, pending_op,
            pending_hash, platform_id, ?
        from sync_intent
        on conflict (sync, customer_id) do update set email = excluded.email,
            status = 'pending', added_by_sync = excluded.added_by_sync,
            pending_op = excluded.pending_op, pending_hash = excluded.pending_hash,
            platform_id = coalesce(excluded.platform_id, {CONTACTS}.platform_id),
            updated_at = excluded.updated_at
        """,
        (utc_now(),),
    )
    wh.execute("delete from sync_intent")


def _send(
    wh: Warehouse, name: str, sync: SyncDefinition, dest: Destination, list_id: str, plan: Plan
) -> int:
    keys = list(sync.fields)
    upserts = plan.of("add") + plan.of("update")
    rejected = 0
    for start in range(0, len(upserts), dest.upsert_batch):
        batch = upserts[start : start + dest.upsert_batch]
        contacts = [
            Contact(o.email or "", dict(zip(keys, _values(o.payload, len(keys)), strict=True)))
            for o in batch
        ]
        rejections = {r.email: r.reason for r in dest.upsert(list_id, contacts)}
        rejected += len(rejections)
        _confirm(wh, name, batch, rejections)
    removes = plan.of("remove")
    for start in range(0, len(removes), dest.remove_batch):
        batch = removes[start : start + dest.remove_batch]
        dest.remove(list_id, [(o.email or "", o.platform_id) for o in batch])
        _confirm(wh, name, batch, {})
    if plan.of("erase"):
        salt_value = salt(wh)
        for o in plan.of("erase"):
            dest.erase(list_id, o.email or "", o.platform_id)
            wh.execute(
                f"update {wh.output_schema}.{CONTACTS} set email = null, email_hash = ?, "
                "platform_id = null, fields_hash = null, pending_op = null, pending_hash = null,"
                " status = 'removed', reason = 'erased', updated_at = ? "
                "where sync = ? and customer_id = ?",
                (salted_hash(salt_value, o.email or ""), utc_now(), name, o.customer_id),
            )
    return rejected


def _values(payload: str | None, count: int) -> list[str | None]:
    if count == 0:
        return []
    return [v if v != "" else None for v in (payload or "").split("\x1f")]


def _confirm(wh: Warehouse, name: str, batch: list[Operation], rejections: dict[str, str]) -> None:
    """After the platform acknowledged a batch: done, or rejected with the reason."""
    s, ts = wh.output_schema, utc_now()
    table = pa.table(
        {
            "customer_id": [o.customer_id for o in batch],
            "status": [
                "removed"
                if o.op == "remove"
                else ("rejected" if (o.email or "") in rejections else "synced")
                for o in batch
            ],
            "reason": [rejections.get(o.email or "") for o in batch],
        }
    )
    with wh.transaction():
        wh.execute(
            "create temp table if not exists sync_acks (customer_id varchar, "
            "status varchar, reason varchar)"
        )
        wh.execute("delete from sync_acks")
        wh.bulk_insert("sync_acks", table)
        wh.execute(
            f"""
            update {s}.{CONTACTS} set status = a.status, reason = a.reason,
                fields_hash = case when a.status = 'removed' then null
                              else {CONTACTS}.pending_hash end,
                last_sent = ?, pending_op = null, pending_hash = null, updated_at = ?
            from sync_acks a
            where {CONTACTS}.sync = ? and {CONTACTS}.customer_id = a.customer_id
            """,
            (ts, ts, name),
        )
        wh.execute("delete from sync_acks")


def describe(outcome: Outcome, offline: bool = False) -> str:
    """What a run did (or would do), for the terminal."""
    plan = outcome.plan
    c = plan.counts
    head = "dry run" if outcome.dry_run else "synced"
    where = " (against the sync's records: no API key)" if offline else ""
    lines = [
        f"{outcome.sync}: {head}{where}: {c['add']} adds, {c['update']} updates, "
        f"{c['remove']} removes, {c['erase']} erasures, {outcome.rejected} rejected "
        f"(list of {plan.list_size})"
    ]
    if outcome.dry_run:
        for op in ("add", "update", "remove", "erase"):
            ids = [o.customer_id for o in plan.of(op)][:5]
            if ids:
                lines.append(f"  {op}: {', '.join(ids)}{' ...' if len(plan.of(op)) > 5 else ''}")
    return "\n".join(lines)
