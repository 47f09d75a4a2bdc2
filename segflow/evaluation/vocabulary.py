"""Values a segment compares against that never occur in the warehouse: likely typos.

A misspelled brand (`Strdie`) or event type (`chek_in`) is valid YAML and valid SQL, and
just gives 0 members. `validate` and `preview` warn about such values, naming the closest
values the warehouse does hold. Text values compare trimmed and case-insensitively, as the
segment SQL does.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field

from segflow.errors import WarehouseUnavailable
from segflow.segments.loader import Problem, SegmentFile
from segflow.segments.model import AttributeLeaf, Comparison, MetricLeaf, ProfileLeaf
from segflow.segments.project import segment_conditions
from segflow.settings import Settings
from segflow.warehouse import Warehouse, open_warehouse

SALES = "intermediate.int_sales_lines"
EVENTS = "intermediate.int_events"
CUSTOMERS = "intermediate.int_customer_versions"
ATTRIBUTES = "staging.stg_customer_attributes"
# Columns with a vocabulary worth checking (the rest are ids, free text or numbers).
SALES_VOCABULARY = (
    "brand",
    "collection",
    "department",
    "category",
    "target_group",
    "color",
    "season",
    "channel",
)
EVENT_VOCABULARY = ("event_type", "channel", "reward", "challenge", "account")
PROFILE_VOCABULARY = ("gender", "status", "login_method", "language", "country")
_LIST_ALL_UP_TO = 8  # a small vocabulary is listed whole: 'female' is not close to 'f'


@dataclass(frozen=True)
class Lookup:
    """One vocabulary: the distinct values of a column (of an attribute's values)."""

    table: str
    column: str
    attribute: str | None = None

    @property
    def noun(self) -> str:
        if self.column == "attribute":
            return "attribute name"
        if self.attribute is not None:
            return f"value of attribute {self.attribute}"
        source = {SALES: "sales lines", EVENTS: "events", CUSTOMERS: "customers"}[self.table]
        return f"{self.column.replace('_', ' ')} of {source}"


@dataclass
class VocabularyCheck:
    """Warnings for unknown values, or why values could not be checked."""

    warnings: list[Problem] = field(default_factory=list)
    unchecked: str | None = None


def _values(comparison: Comparison) -> list[tuple[str, str]]:
    """(op, value) pairs a comparison matches exactly or by substring."""
    op = comparison.op
    if op in ("eq", "ne", "contains", "starts_with"):
        return [(op, str(comparison.value))]
    if op in ("in", "not_in"):
        return [(op, str(v)) for v in comparison.value]
    return []


def _wanted(file: SegmentFile) -> Iterator[tuple[Lookup, str, str, tuple]]:
    """(vocabulary, op, value, key path) for every checkable value of a segment."""
    assert file.definition is not None
    for condition, path in segment_conditions(file.definition):
        if isinstance(condition, MetricLeaf):
            table = EVENTS if condition.is_loyalty else SALES
            columns = EVENT_VOCABULARY if condition.is_loyalty else SALES_VOCABULARY
            for i, event in enumerate(condition.event or []):
                key = (*path, "event", i) if len(condition.event or []) > 1 else (*path, "event")
                yield Lookup(EVENTS, "event_type"), "eq", event, key
            for column, comparison in (condition.where or {}).items():
                if column in columns:
                    for op, value in _values(comparison):
                        yield Lookup(table, column), op, value, (*path, "where", column, op)
        elif isinstance(condition, ProfileLeaf) and condition.profile in PROFILE_VOCABULARY:
            for op, value in _values(condition):
                yield Lookup(CUSTOMERS, condition.profile), op, value, (*path, op)
        elif isinstance(condition, AttributeLeaf):
            yield Lookup(ATTRIBUTES, "attribute"), "eq", condition.attribute, (*path, "attribute")
            for op, value in _values(condition):
                lookup = Lookup(ATTRIBUTES, "value", condition.attribute.lower())
                yield lookup, op, value, (*path, op)


class _Vocabularies:
    """Distinct values per lookup, read once each: lower-cased value -> as it is written."""

    def __init__(self, wh: Warehouse):
        self.wh = wh
        self.cache: dict[Lookup, dict[str, str]] = {}

    def __getitem__(self, lookup: Lookup) -> dict[str, str]:
        if lookup not in self.cache:
            column = f"trim(cast({lookup.column} as varchar))"
            where = f"{lookup.column} is not null"
            params: tuple = ()
            if lookup.table == ATTRIBUTES:
                where += " and not is_deleted"
            if lookup.attribute is not None:
                where += " and attribute = ?"
                params = (lookup.attribute,)
            rows = self.wh.query(
                f"select lower({column}), min({column}) from {lookup.table} "
                f"where {where} group by 1",
                params,
            )
            self.cache[lookup] = {low: shown for low, shown in rows if low}
        return self.cache[lookup]


def _occurs(op: str, value: str, known: dict[str, str]) -> bool:
    wanted = value.strip().lower()
    if op == "contains":
        return any(wanted in k for k in known)
    if op == "starts_with":
        return any(k.startswith(wanted) for k in known)
    return wanted in known


def _hint(value: str, known: dict[str, str]) -> str:
    if not known:
        return "the warehouse holds no values there yet"
    if len(known) <= _LIST_ALL_UP_TO:
        return "known: " + ", ".join(repr(known[k]) for k in sorted(known))
    close = difflib.get_close_matches(value.strip().lower(), list(known), n=3, cutoff=0.6)
    if not close:
        return f"none of its {len(known):,} known values is close"
    return "did you mean " + " or ".join(repr(known[c]) for c in close) + "?"


def check_values(settings: Settings, files: list[SegmentFile]) -> VocabularyCheck:
    """Warn about every compared value that never occurs in the published warehouse."""
    result = VocabularyCheck()
    try:
        wh = open_warehouse(settings, read_only=True)
    except WarehouseUnavailable as exc:
        result.unchecked = f"values were not checked against the warehouse: {exc}"
        return result
    with wh:
        if not all(wh.table_exists(*t.split(".")) for t in (SALES, EVENTS, CUSTOMERS)):
            result.unchecked = (
                "values were not checked against the warehouse: nothing is built yet "
                "(run `segflow build`)"
            )
            return result
        vocabularies = _Vocabularies(wh)
        for file in files:
            if file.definition is None:
                continue
            unknown_attributes: set[str] = set()
            for lookup, op, value, path in _wanted(file):
                if lookup.attribute in unknown_attributes:
                    continue  # said already: the attribute itself never occurs
                known = vocabularies[lookup]
                if _occurs(op, value, known):
                    continue
                if lookup.column == "attribute":
                    unknown_attributes.add(value.lower())
                if op in ("contains", "starts_with"):
                    verb = "contains" if op == "contains" else "starts with"
                    said = f"no {lookup.noun} in the warehouse {verb} {value!r}"
                else:
                    article = "an" if lookup.noun[0] in "aeiou" else "a"
                    said = f"{value!r} is never {article} {lookup.noun} in the warehouse"
                hint = _hint(value, known)
                result.warnings.append(file.problem(path, f"warning: {said} ({hint})"))
    return result
