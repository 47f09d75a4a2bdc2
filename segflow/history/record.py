"""Segment history over days: hot-segment KPIs, enter/exit events, membership intervals.

A day is "evaluate the segments as of D" (docs/segments.md), done straight on the warehouse
with the SQL the dbt models use (`evaluate.py`), so a recorded day equals a build as of that
day. A range of days runs in one process and one connection, several days per statement:
no dbt start-up per day. It runs in blocks of at most BLOCK_DAYS days, and the day before
each block is evaluated too, so a block's first day's `entered`/`exited` compare with its
real previous day (docs/reference.md).

Every write of a range happens in one transaction: a failed run leaves the tables as before,
and re-running a range replaces its days (no duplicates).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from segflow.errors import UserInputError
from segflow.evaluation.relations import (
    base_relations,
    daily_tables,
    kept_daily,
    range_base_tables,
    range_people_select,
    require_built,
    with_clause,
)
from segflow.segments.daily import DAILY_EVENTS, DAILY_SALES
from segflow.segments.project import SegmentProject
from segflow.segments.range_totals import RangeBase
from segflow.segments.sql import (
    Context,
    date_literal,
    days_between_sql,
    direct_context,
    text_literal,
)
from segflow.warehouse import Warehouse, tables, text_list

HOT_HISTORY = tables.HOT_HISTORY.name
EVENTS = tables.SEGMENT_EVENTS.name
MEMBERSHIP_HISTORY = tables.MEMBERSHIP_HISTORY.name
HISTORY_DAYS = tables.HISTORY_DAYS.name
HISTORY_TABLES = tuple(t.name for t in tables.HISTORY)

# Days evaluated per statement: enough for the engine to work on several days at once, few
# enough that one statement stays a readable size.
DAYS_PER_STATEMENT = 8
# Days of a range evaluated, compared and written at a time, one block after another in the
# range's one transaction: memory is that of a block whatever the range (a year in one run
# held every member of every day at once), and a block with the day before it fits a 64-bit
# mask per member (`_bounds`; at most 61).
BLOCK_DAYS = 31

RANGE_MEMBERS = "segflow_range_members"
_PARTS = "segflow_range_member_parts"  # a statement's days of RANGE_MEMBERS
_BOUNDS = "segflow_range_bounds"
_CHANGES = "segflow_range_changes"
_PIECES = "segflow_range_pieces"
# The range's per-day aggregates (segflow/segments/daily.py), built once up to its last day.
_DAILY = {DAILY_SALES: "segflow_range_daily_sales", DAILY_EVENTS: "segflow_range_daily_events"}
# The totals as of the day before the range's first (segflow/segments/range_totals.py): each
# day adds its changes to them instead of grouping all of history again.
_BASE = {DAILY_SALES: "segflow_range_base_sales", DAILY_EVENTS: "segflow_range_base_events"}
_ROWS = {DAILY_SALES: "segflow_range_rows_sales", DAILY_EVENTS: "segflow_range_rows_events"}
# The customers' versions with the base's totals (segflow/segments/range_totals.py).
_PEOPLE = "segflow_range_people"


@dataclass
class RecordedRange:
    first: date
    last: date
    segments: list[str]
    hot: list[str]
    trigger: list[str]
    history_rows: int = 0
    events: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def hot_segments(project: SegmentProject) -> list[str]:
    return [n for n in sorted(project.segments) if project.definition(n).hot]


def trigger_segments(project: SegmentProject) -> list[str]:
    return [n for n in sorted(project.segments) if project.definition(n).trigger is not None]


def ensure_history_tables(wh: Warehouse) -> None:
    wh.ensure_tables(tables.HISTORY)


def days_between(first: date, last: date) -> list[date]:
    """Every day from first to last, both included."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _column_sql(column: str, values: list[str]) -> str:
    """The SQL values as a relation with one column."""
    return " union all ".join(f"select {v} as {column}" for v in values)


def _days_sql(first: date, last: date) -> str:
    """The days from first to last as a relation with one column, `day`."""
    return _column_sql("day", [date_literal(d) for d in days_between(first, last)])


def evaluate_days(
    wh: Warehouse,
    project: SegmentProject,
    names: list[str],
    days: list[date],
    schema: str | None = None,
    aggregates: bool = True,
    kept_aggregates: bool = True,
    from_base: bool = True,
    daily_until: date | None = None,
    reuse_daily: bool = False,
) -> None:
    """Fill the temporary table RANGE_MEMBERS for the given consecutive days (at most 62): a
    row per segment, tier and customer, its days of membership a mask (`days`, bit i: the
    i-th day). From per-day aggregates of the lines and events: those the builds keep when
    they hold the project's line filters (with `kept_aggregates=False`, never), else built
    once for the whole range (with `aggregates=False`, from a scan of the lines per day
    instead: the references benchmarks/history.py measures against). Each day's features are the totals
    before the first day plus that day's changes since (with `from_base=False`, each day's
    per-day aggregates are grouped whole: the reference for that). The range's own per-day
    aggregates are built up to `daily_until` (default: the last day); with `reuse_daily` those
    of an earlier call are read again (a day reads no row after it, so the blocks of a range
    build them once, up to its last day)."""
    kept = kept_daily(wh, project, schema) if aggregates and kept_aggregates else None
    daily = _DAILY if aggregates and kept is None else None
    if daily and not reuse_daily:
        until = daily_until or max(days)
        for table, select in daily_tables(project, names, until, daily, schema, wh.dialect):
            wh.execute(f"drop table if exists {table}")
            # In day order: a window then reads only its days' blocks (DuckDB's min-max
            # indexes).
            wh.execute(
                f"create temporary table {table} as\nselect * from (\n{select}\n) as daily "
                "order by occurred_on"
            )
    source = kept.relations if kept is not None else daily
    base = None
    if source and from_base:
        # The changes of each day are read from the rows any of these days reads, taken
        # out of the per-day aggregates once (a scan of all of them per day before).
        base = RangeBase(date_literal(min(days) - timedelta(days=1)), _BASE, _ROWS)
        for table, select in range_base_tables(
            project, names, base, source, kept, wh.dialect, last=max(days)
        ):
            wh.execute(f"drop table if exists {table}")
            wh.execute(f"create temporary table {table} as\n{select}")
        # The versions joined to every customer's totals once per block, not the population
        # to the features twice on every day.
        people = range_people_select(project, names, base, kept, schema)
        wh.execute(f"drop table if exists {_PEOPLE}")
        if people is not None:
            wh.execute(f"create temporary table {_PEOPLE} as\n{people}")
            base = replace(base, people=_PEOPLE)
    # Bits 0..61: `_bounds` shifts a mask left by one, and DuckDB refuses a signed overflow.
    assert len(days) <= 62 and days == days_between(days[0], days[-1]), "consecutive, a mask"
    assert names and len(set(names)) == len(names), "each segment once: a mask column each"
    ctx = direct_context(days[0], {}, wh.dialect)
    columns = _member_columns(project, names, ctx)
    wh.execute(f"drop table if exists {_PARTS}")
    wh.execute(
        f"create temporary table {_PARTS} (customer_id varchar not null, "
        + ", ".join(f"{c.column} bigint" for c in columns)
        + ")"
    )
    in_any = " or ".join(f"m_{name}" for name in names)
    for start in range(0, len(days), DAYS_PER_STATEMENT):
        parts = []
        statement_days = days[start : start + DAYS_PER_STATEMENT]
        for day in statement_days:
            _, _, ctes = with_clause(
                project, names, day, schema, wh.dialect, daily, kept, base, members=False
            )
            parts.append(f"({ctes}\nselect * from flags where {in_any})")
        # A row per customer with a mask per segment (and tier), from a row per customer and
        # day with every segment's flag: a grouping by customer alone, of fewer rows than a
        # row per member and day grouped by segment, tier and customer (docs/decisions.md).
        # The grouping ORs a few packed words, not a mask per column (`_packed_masks`).
        words, masks = _packed_masks(
            wh.dialect, columns, statement_days[0], len(statement_days), start
        )
        wh.execute(
            f"insert into {_PARTS}\nselect customer_id,\n    {masks}\nfrom (\n"
            f"select customer_id,\n    {words}\nfrom (\n"
            + "\nunion all\n".join(parts)
            + "\n) as flags_of_days\ngroup by customer_id\n) as packed"
        )
    wh.execute(f"drop table if exists {RANGE_MEMBERS}")
    combined = ",\n    ".join(f"bit_or({c.column}) as {c.column}" for c in columns)
    rows = "\nunion all\n".join(
        f"select {c.segment} as segment, {c.tier} as tier, customer_id, {c.column} as days\n"
        f"from masks where {c.column} is not null"
        for c in columns
    )
    wh.execute(
        f"create temporary table {RANGE_MEMBERS} as\nwith masks as (\n"
        f"select customer_id,\n    {combined}\nfrom {_PARTS}\ngroup by customer_id\n)\n{rows}"
    )
    wh.execute(f"drop table if exists {_PARTS}")


@dataclass(frozen=True)
class _MemberColumn:
    """One mask column of `_PARTS`: a segment's days, or one tier's of a tiered segment."""

    column: str
    condition: str  # on a row of the flags
    segment: str  # SQL literals
    tier: str


def _member_columns(project: SegmentProject, names: list[str], ctx: Context) -> list[_MemberColumn]:
    """The mask columns of the segments, numbered (a segment's name may be as long as an
    identifier may be)."""
    wanted = []
    for name in names:
        segment = text_literal(name, ctx)
        definition = project.definition(name)
        if definition.kind != "tiered" or not definition.tiers:
            wanted.append((f"m_{name}", segment, f"cast(null as {ctx.text_type})"))
            continue
        for tier in definition.tiers:
            literal = text_literal(tier.name, ctx)
            wanted.append(
                (
                    f"m_{name} and t_{name} = {literal}",
                    segment,
                    f"cast({literal} as {ctx.text_type})",
                )
            )
    return [_MemberColumn(f"d{i}", *column) for i, column in enumerate(wanted)]


# Bits of a packed word: a statement's days of a group of mask columns, day after day, below
# the sign bit (DuckDB refuses a signed overflow of a shift).
WORD_BITS = 62


def _packed_masks(
    dialect: str, columns: list[_MemberColumn], first: date, days: int, first_bit: int
) -> tuple[str, str]:
    """The SQL of a statement's packed words, and of its mask columns taken out of them.

    Grouping a row per customer and day into a row per customer costs per aggregate: ORing
    each column's day bit (`bit_or` per column) took twice as long as ORing a few words that
    hold every column's flag of several days (measured at 1M customers, docs/decisions.md).
    Word `w{g}_{h}` holds the flags of column group g (at most WORD_BITS columns) for the days
    h to h + per - 1 of the statement (h a multiple of per), `size` bits a day; a column's
    mask then takes its bit of each day to the day's bit of the block (`first_bit` + the
    day's number), and is null when the customer is never in it, as a `bit_or` of no member
    would be. A word of days without a row of the customer is 0, not null, once per word
    rather than once per day and column it is read for."""
    day = _day_number(dialect, first, "as_of")
    words: list[str] = []
    masks: list[str] = []
    for g in range(0, len(columns), WORD_BITS):
        group = columns[g : g + WORD_BITS]
        size = len(group)
        per = WORD_BITS // size
        flags = " | ".join(
            f"case when {c.condition} then cast({1 << j} as bigint) else cast(0 as bigint) end"
            for j, c in enumerate(group)
        )
        for h in range(0, days, per):
            words.append(
                f"coalesce(bit_or(case when {day} between {h} and {h + per - 1} "
                f"then ({flags}) << ({size} * ({day} - {h})) end), 0) as w{g}_{h}"
            )
        for j, c in enumerate(group):
            bits = " | ".join(
                f"(((w{g}_{i - i % per} >> {size * (i % per) + j}) & 1) << {first_bit + i})"
                for i in range(days)
            )
            masks.append(f"nullif({bits}, 0) as {c.column}")
    return ",\n    ".join(words), ",\n    ".join(masks)


def _day_number(dialect: str, origin: date, day: str) -> str:
    """The SQL for the number of days from `origin` to the date `day` (a mask's bit)."""
    return days_between_sql(dialect, day, date_literal(origin))


def _offsets(days: int) -> str:
    """The bits of a mask of `days` days, as a relation with one column, `i`."""
    return _column_sql("i", [str(i) for i in range(days)])


def _mask_origin(first: date) -> date:
    """A block's bit 0: the day before its first day, evaluated to tell who enters on it."""
    return first - timedelta(days=1)


def _bounds(wh: Warehouse, first: date, last: date) -> None:
    """The block's members where something starts or ends: the day a customer enters or
    leaves a segment, and where a piece of one tier starts or ends (and every member on
    `first`, where the block's pieces start). The masks start at the day before `first`, at
    most 61 days before `last`.

    A member's days in a segment and tier are one 64-bit mask (bit i: origin + i), so
    neighbouring days are shifts of it: a grouping instead of an ordered pass over every
    member of every day (a window over them cost twice as much, and a join of the members
    to themselves more still). The few marked days are then taken out of the masks."""
    origin = _mask_origin(first)
    days = (last - origin).days + 1
    first_bit = 1 << (first - origin).days
    wh.execute(f"drop table if exists {_BOUNDS}")
    wh.execute(f"""create temporary table {_BOUNDS} as
with segments as (

    -- a tier's days, and the days of the customer's membership in any tier
    select *, bit_or(days) over (partition by segment, customer_id) as member_days
    from {RANGE_MEMBERS}

),

marked as (

    select
        segment,
        tier,
        customer_id,
        member_days & ~(member_days << 1) as enter_days,
        member_days & ~(member_days >> 1) as leave_days,
        days & ~(days << 1) as start_days,
        days & ~(days >> 1) as end_days,
        days & cast({first_bit} as bigint) as first_day
    from segments

)

select
    m.segment,
    m.tier,
    m.customer_id,
    {date_literal(origin)} + o.i as day,
    ((m.enter_days >> o.i) & 1) = 1 as enters,
    ((m.leave_days >> o.i) & 1) = 1 as leaves,
    ((m.start_days >> o.i) & 1) = 1 as starts_piece,
    ((m.end_days >> o.i) & 1) = 1 as ends_piece
from marked as m
cross join ({_offsets(days)}) as o
where (((m.start_days | m.end_days | m.first_day) >> o.i) & 1) = 1""")


def _changes(wh: Warehouse, first: date, last: date) -> None:
    """enter/exit per (segment, customer, day) in [first, last], against the day before."""
    wh.execute(f"drop table if exists {_CHANGES}")
    wh.execute(f"""create temporary table {_CHANGES} as
select segment, customer_id, day, 'enter' as event
from {_BOUNDS}
where enters and day >= {date_literal(first)}

union all

select segment, customer_id, day + 1 as day, 'exit' as event
from {_BOUNDS}
where leaves and day < {date_literal(last)}""")


def _write_hot_history(
    wh: Warehouse, hot: list[str], first: date, last: date, models: str | None
) -> int:
    schema = wh.output_schema
    origin = _mask_origin(first)
    day_no = _day_number(wh.dialect, origin, "lines.occurred_on")
    f, l_ = date_literal(first), date_literal(last)
    names = text_list(hot)
    wh.execute(
        f"delete from {schema}.{HOT_HISTORY} where segment in ({names}) "
        f"and day between {f} and {l_}"
    )
    if not hot:
        return 0
    segments = " union all ".join(f"select '{n}' as segment" for n in hot)
    wh.execute(f"""insert into {schema}.{HOT_HISTORY}
    (segment, day, members, revenue, orders, entered, exited)
with grid as (

    select segments.segment, days.day
    from ({segments}) as segments
    cross join ({_days_sql(first, last)}) as days

),

counts as (

    -- each mask once with how many members have it: most members have one of a few masks
    -- (every day of the block, say), so its days are counted once, not once per member
    select m.segment, {date_literal(origin)} + o.i as day, sum(m.members) as members
    from (
        select segment, days, count(*) as members
        from {RANGE_MEMBERS}
        where segment in ({names})
        group by segment, days
    ) as m
    cross join ({_offsets((last - origin).days + 1)}) as o
    where o.i >= {(first - origin).days}
        and ((m.days >> o.i) & 1) = 1
    group by m.segment, o.i

),

sales as (

    -- the members' sales on that day (local date)
    select
        m.segment,
        lines.occurred_on as day,
        sum(lines.amount) as revenue,
        count(distinct case when lines.quantity > 0 then lines.transaction_id end) as orders
    from {RANGE_MEMBERS} as m
    join {base_relations(models)["int_sales_lines"]} as lines
        on lines.customer_id = m.customer_id
    where m.segment in ({names})
        and lines.occurred_on between {f} and {l_}
        and ((m.days >> {day_no}) & 1) = 1
    group by m.segment, lines.occurred_on

),

changes as (

    select
        segment,
        day,
        count(case when event = 'enter' then 1 end) as entered,
        count(case when event = 'exit' then 1 end) as exited
    from {_CHANGES}
    group by segment, day

)

select
    grid.segment,
    grid.day,
    coalesce(counts.members, 0),
    coalesce(sales.revenue, 0),
    coalesce(sales.orders, 0),
    coalesce(changes.entered, 0),
    coalesce(changes.exited, 0)
from grid
left join counts on counts.segment = grid.segment and counts.day = grid.day
left join sales on sales.segment = grid.segment and sales.day = grid.day
left join changes on changes.segment = grid.segment and changes.day = grid.day""")
    return len(hot) * ((last - first).days + 1)


def _write_events(
    wh: Warehouse, project: SegmentProject, trigger: list[str], first: date, last: date
) -> int:
    schema = wh.output_schema
    f, l_ = date_literal(first), date_literal(last)
    wh.execute(
        f"delete from {schema}.{EVENTS} where segment in ({text_list(trigger)}) "
        f"and day between {f} and {l_}"
    )
    wanted = [
        f"(segment = '{n}' and event in ({text_list(list(project.definition(n).trigger.events))}))"  # type: ignore[union-attr]
        for n in trigger
    ]
    if not wanted:
        return 0
    where = " or ".join(wanted)
    wh.execute(
        f"insert into {schema}.{EVENTS} (segment, customer_id, day, event)\n"
        f"select segment, customer_id, day, event from {_CHANGES} where {where}"
    )
    return int(wh.scalar(f"select count(*) from {_CHANGES} where {where}"))


def _write_membership_history(wh: Warehouse, names: list[str], first: date, last: date) -> None:
    """Replace the days [first, last] of the segments' membership intervals.

    Intervals touching the range are cut around it, the range's own intervals (islands of
    consecutive days per segment, tier and customer) are added, and pieces that meet are
    merged again, so a customer in a segment for a year is one row whatever was re-run."""
    table = f"{wh.output_schema}.{MEMBERSHIP_HISTORY}"
    before, after = date_literal(first - timedelta(days=1)), date_literal(last + timedelta(days=1))
    f, l_ = date_literal(first), date_literal(last)
    touching = f"segment in ({text_list(names)}) and valid_to >= {before} and valid_from <= {after}"
    wh.execute(f"drop table if exists {_PIECES}")
    wh.execute(f"""create temporary table {_PIECES} as
select segment, tier, customer_id, valid_from, least(valid_to, {before}) as valid_to
from {table}
where {touching} and valid_from < {f}

union all

select segment, tier, customer_id, greatest(valid_from, {after}) as valid_from, valid_to
from {table}
where {touching} and valid_to > {l_}

union all

select segment, tier, customer_id, valid_from, valid_to
from (
    -- a piece of the range starts on its first day or where one starts, and ends where the
    -- next one ends (pieces of one customer never overlap)
    select
        segment,
        tier,
        customer_id,
        day as valid_from,
        day >= {f} and (starts_piece or day = {f}) as starts,
        min(case when ends_piece then day end) over (
            partition by segment, customer_id order by day
            rows between current row and unbounded following
        ) as valid_to
    from {_BOUNDS}
) as pieces
where starts""")
    wh.execute(f"delete from {table} where {touching}")
    wh.execute(f"""insert into {table} (segment, tier, customer_id, valid_from, valid_to)
select segment, tier, customer_id, min(valid_from), max(valid_to)
from (
    select
        *,
        sum(starts) over (
            partition by segment, tier, customer_id order by valid_from
            rows between unbounded preceding and current row
        ) as piece
    from (
        select
            *,
            case
                when valid_from <= lag(valid_to) over (
                    partition by segment, tier, customer_id order by valid_from
                ) + 1 then 0
                else 1
            end as starts
        from {_PIECES}
    ) as marked
) as grouped
group by segment, tier, customer_id, piece""")


def _write_days(
    wh: Warehouse, project: SegmentProject, names: list[str], first: date, last: date
) -> None:
    table = f"{wh.output_schema}.{HISTORY_DAYS}"
    wh.execute(
        f"delete from {table} where segment in ({text_list(names)}) "
        f"and day between {date_literal(first)} and {date_literal(last)}"
    )
    now = datetime.now().replace(microsecond=0).isoformat(sep=" ")
    rows = [
        f"select '{name}' as segment, '{project.definition_hash(name)}' as definition_hash"
        for name in names
    ]
    wh.execute(f"""insert into {table} (segment, day, definition_hash, recorded_at)
select segments.segment, days.day, segments.definition_hash, cast('{now}' as timestamp)
from ({" union all ".join(rows)}) as segments
cross join ({_days_sql(first, last)}) as days""")


def _blocks(first: date, last: date) -> list[tuple[date, date]]:
    """[first, last] as consecutive ranges of at most BLOCK_DAYS days, oldest first."""
    blocks = []
    while first <= last:
        end = min(first + timedelta(days=BLOCK_DAYS - 1), last)
        blocks.append((first, end))
        first = end + timedelta(days=1)
    return blocks


def record_history(
    wh: Warehouse,
    project: SegmentProject,
    first: date,
    last: date,
    names: list[str] | None = None,
    schema: str | None = None,
) -> RecordedRange:
    """Evaluate the segments (default: all) for every day of [first, last] and record them:
    hot segments' KPIs, trigger segments' events, and every one's membership intervals.
    The models are read from the published ones, or from a build's `schema` when it is
    being published (inside the publishing transaction)."""
    if last < first:
        raise UserInputError(f"the range {first} to {last} is empty: the first day is later")
    require_built(wh, schema)
    names = sorted(set(names)) if names else sorted(project.segments)
    unknown = [n for n in names if n not in project.segments]
    if unknown:
        raise UserInputError(f"unknown segment {unknown[0]!r}: see `segflow validate`")
    hot = [n for n in hot_segments(project) if n in names]
    trigger = [n for n in trigger_segments(project) if n in names]
    result = RecordedRange(first, last, names, hot, trigger)

    ensure_history_tables(wh)
    if not names:  # a project without segments has nothing to record
        return result
    result.seconds = {"evaluate": 0.0, "write": 0.0}
    with wh.transaction():
        for block, (block_first, block_last) in enumerate(_blocks(first, last)):
            started = time.perf_counter()
            evaluate_days(
                wh, project, names, days_between(_mask_origin(block_first), block_last), schema,
                daily_until=last, reuse_daily=block > 0,
            )  # fmt: skip
            _bounds(wh, block_first, block_last)
            _changes(wh, block_first, block_last)
            result.seconds["evaluate"] += time.perf_counter() - started

            started = time.perf_counter()
            result.history_rows += _write_hot_history(wh, hot, block_first, block_last, schema)
            result.events += _write_events(wh, project, trigger, block_first, block_last)
            _write_membership_history(wh, names, block_first, block_last)
            _write_days(wh, project, names, block_first, block_last)
            result.seconds["write"] += time.perf_counter() - started
    for temporary in (
        RANGE_MEMBERS,
        _PARTS,
        _BOUNDS,
        _CHANGES,
        _PIECES,
        *_DAILY.values(),
        *_BASE.values(),
        *_ROWS.values(),
        _PEOPLE,
    ):
        wh.execute(f"drop table if exists {temporary}")
    return result
