"""The diff of a run, in SQL in the warehouse: the desired list (segment members of the
published build, consent and status read at sync time from the newest customer version) against
what the platform holds (`sync_remote`) and what this sync's records say (`sync_contacts`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from segflow.sync.model import SyncDefinition
from segflow.sync.store import CONTACTS, DESIRED, REMOTE
from segflow.warehouse import Warehouse

EMAIL_PATTERN = r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$"
OPS = ("add", "update", "remove", "erase")


@dataclass
class Operation:
    op: str
    customer_id: str
    email: str | None
    payload: str | None
    fields_hash: str | None
    platform_id: str | None
    added_by_sync: bool


@dataclass
class Plan:
    sync: str
    operations: list[Operation] = field(default_factory=list)
    list_size: int = 0
    confirmed: int = 0  # on the platform already as desired: recorded without sending

    def of(self, op: str) -> list[Operation]:
        return [o for o in self.operations if o.op == op]

    @property
    def counts(self) -> dict[str, int]:
        return {op: len(self.of(op)) for op in OPS}


def _email_ok(column: str) -> str:
    return f"({column} ~ '{EMAIL_PATTERN}')"  # the pattern is anchored at both ends


def _unit_share(wh: Warehouse, text: str) -> str:
    """A stable share in [0, 1) from the first 32 bits of md5(text)."""
    head = f"substr(md5({text}), 1, 8)"
    return f"({wh.hex_to_bigint(head)} / 4294967296.0)"


def fill_desired(wh: Warehouse, name: str, sync: SyncDefinition) -> None:
    """Evaluate the sync's segment members and its known contacts into `sync_desired`."""
    s = wh.output_schema
    columns = list(sync.fields.values())
    values = [
        "cast(m.tier as varchar)" if c == "tier" else f"cast(v.{c} as varchar)" for c in columns
    ]
    joined = " || chr(31) || ".join(f"coalesce({v}, '')" for v in values) or "''"
    tier_filter = "and tier = ?" if sync.tier else ""
    params: list[object] = [sync.segment_name, *([sync.tier] if sync.tier else [])]
    wh.execute(f"delete from {s}.{DESIRED} where sync = ?", (name,))
    wh.execute(
        f"""
        insert into {s}.{DESIRED}
            (sync, customer_id, email, in_segment, consent, erased, holdout, payload, fields_hash)
        with newest as (
            select * from (
                select c.*, row_number() over (
                    partition by customer_id order by updated_at desc) as version_rank
                from staging.stg_customers c
            ) ranked where version_rank = 1
        ),
        segment_members as (
            select customer_id, max(tier) as tier from {s}.segment_membership
            where segment = ? {tier_filter} group by customer_id
        ),
        candidates as (
            select customer_id from segment_members
            union
            select customer_id from {s}.{CONTACTS} where sync = ?
        ),
        evaluated as (
            select
                k.customer_id,
                v.email,
                m.customer_id is not null as in_segment,
                coalesce(v.email_opt_in and not v.is_erased
                    and v.status not in ('blocked', 'fraud')
                    and v.email is not null and {_email_ok("v.email")}, false) as consent,
                coalesce(v.is_erased, false) as erased,
                {_unit_share(wh, "? || ':' || k.customer_id")} < ? as holdout,
                {joined} as payload,
                row_number() over (partition by v.email order by k.customer_id) as email_rank
            from candidates k
            left join segment_members m on m.customer_id = k.customer_id
            left join newest v on v.customer_id = k.customer_id
        )
        select ?, customer_id, email, in_segment,
            -- one address is one contact on the platform: its first customer is sent
            consent and email_rank = 1, erased, holdout, payload, md5(payload)
        from evaluated
        """,
        [*params, name, name, sync.holdout, name],
    )


def compute_plan(wh: Warehouse, name: str, sync: SyncDefinition) -> Plan:
    """The operations of a run (read only: `sync_desired` and `sync_remote` are filled)."""
    s = wh.output_schema
    mirror = "true" if sync.mode == "mirror" else "false"
    rows = wh.query(
        f"""
        with d as (select * from {s}.{DESIRED} where sync = ?),
        c as (select * from {s}.{CONTACTS} where sync = ?),
        r as (select * from {s}.{REMOTE} where sync = ?),
        sendable as (select * from d where in_segment and consent and not holdout),
        upserts as (
            select
                case when r.email is null then 'add' else 'update' end as op,
                d.customer_id, d.email, d.payload, d.fields_hash, r.platform_id,
                case
                    when r.email is null then true
                    when c.customer_id is null then false
                    when c.status = 'removed' and c.pending_op is null then false
                    else c.added_by_sync
                end as added_by_sync
            from sendable d
            left join r on r.email = d.email
            left join c on c.customer_id = d.customer_id
            where (r.email is null or r.fields_hash is distinct from d.fields_hash)
              -- a rejection is not retried until the contact changes
              and not coalesce(c.status = 'rejected' and c.pending_op is null
                       and c.fields_hash = d.fields_hash and c.email = d.email, false)
        ),
        removes as (
            select 'remove' as op, c.customer_id, c.email, cast(null as varchar) as payload,
                cast(null as varchar) as fields_hash, r.platform_id, true as added_by_sync
            from c
            join r on r.email = c.email
            left join d on d.customer_id = c.customer_id
            where c.added_by_sync and not coalesce(d.erased, false)
              -- back on the list although this sync removed it: the CRM team added it
              and c.status <> 'removed'
              and c.customer_id not in (select customer_id from sendable)
              and ({mirror} or not coalesce(d.consent, false) or coalesce(d.holdout, false))
        ),
        erasures as (
            select 'erase' as op, c.customer_id, c.email, cast(null as varchar),
                cast(null as varchar), coalesce(r.platform_id, c.platform_id), c.added_by_sync
            from c
            join d on d.customer_id = c.customer_id and d.erased
            left join r on r.email = c.email
            where c.email is not null
        )
        select * from upserts
        union all select * from removes
        union all select * from erasures
        order by 1, 2
        """,
        (name, name, name),
    )
    plan = Plan(sync=name, operations=[Operation(*row) for row in rows])
    plan.list_size = int(wh.scalar(f"select count(*) from {s}.{REMOTE} where sync = ?", (name,)))
    plan.confirmed = int(
        wh.scalar(
            f"""select count(*) from {s}.{DESIRED} d join {s}.{REMOTE} r
                on r.sync = d.sync and r.email = d.email
                left join {s}.{CONTACTS} c on c.sync = d.sync and c.customer_id = d.customer_id
            where d.sync = ? and d.in_segment and d.consent and not d.holdout
              and r.fields_hash = d.fields_hash
              and (c.status is null or c.status <> 'synced' or c.pending_op is not null)""",
            (name,),
        )
    )
    return plan
