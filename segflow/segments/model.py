"""Typed segment definitions (pydantic v2), shaped exactly like the YAML of docs/segments.md.

The models check everything that can be checked within one file: unknown keys, types of
values against the subject's type, ranges, the keys each kind needs. References between
segments are checked in `segflow.segments.project`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    Tag,
    model_validator,
)
from pydantic_core import PydanticCustomError

from segflow.segments.fields import (
    EVENT_COLUMNS,
    LOYALTY_METRICS,
    METRICS,
    PROFILE_FIELDS,
    SALES_COLUMNS,
    FieldType,
)
from segflow.segments.values import (
    DATE_HINT,
    DateValue,
    Duration,
    RelativeDate,
    as_date,
    as_duration,
    as_number,
    as_text,
    describe,
)

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
SegmentRef = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}(\.[a-z][a-z0-9_]{0,62})?$")]


def _error(key: str, message: str) -> PydanticCustomError:
    """An error at `key` below the model being validated (the formatter adds it to the path)."""
    return PydanticCustomError("segflow", "{message}", {"key": key, "message": message})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


# -- comparisons ---------------------------------------------------------------------------

_SCALAR_SCHEMA = {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]}
_ORDERED_SCHEMA = {"anyOf": [{"type": "number"}, {"type": "string"}]}


class Comparison(_Strict):
    """Exactly one comparison; the value's type is checked against the subject's type."""

    eq: Annotated[Any, Field(json_schema_extra=_SCALAR_SCHEMA)] = None
    ne: Annotated[Any, Field(json_schema_extra=_SCALAR_SCHEMA)] = None
    gt: Annotated[Any, Field(json_schema_extra=_ORDERED_SCHEMA)] = None
    gte: Annotated[Any, Field(json_schema_extra=_ORDERED_SCHEMA)] = None
    lt: Annotated[Any, Field(json_schema_extra=_ORDERED_SCHEMA)] = None
    lte: Annotated[Any, Field(json_schema_extra=_ORDERED_SCHEMA)] = None
    between: Annotated[
        Any, Field(json_schema_extra={"type": "array", "minItems": 2, "maxItems": 2})
    ] = None
    in_: Annotated[Any, Field(alias="in", json_schema_extra={"type": "array", "minItems": 1})] = (
        None
    )
    not_in: Annotated[Any, Field(json_schema_extra={"type": "array", "minItems": 1})] = None
    contains: str | None = None
    starts_with: str | None = None
    is_: Literal["missing", "present"] | None = Field(default=None, alias="is")

    @property
    def op(self) -> str:
        return _given_comparisons(self)[0]

    @property
    def value(self) -> Any:
        return getattr(self, {"in": "in_", "is": "is_"}.get(self.op, self.op))

    def checked(self, subject: str, field_type: FieldType, ordered_ok: bool = False) -> Any:
        """The comparison value normalised for a subject of `field_type`, or an error."""
        return normalise_value(self.op, self.value, subject, field_type, ordered_ok)


def _given_comparisons(model: BaseModel) -> list[str]:
    given = [
        (type(model).model_fields[name].alias or name)
        for name in model.model_fields_set
        if name in Comparison.model_fields
    ]
    return sorted(given)


def _exactly_one_comparison(model: BaseModel) -> None:
    given = _given_comparisons(model)
    if len(given) != 1:
        found = ", ".join(given) if given else "none"
        raise PydanticCustomError(
            "segflow",
            "{message}",
            {
                "message": f"needs exactly one comparison (eq, ne, gt, gte, lt, lte, between, in, "
                f"not_in, contains, starts_with, is); found {found}"
            },
        )


def normalise_value(
    op: str, value: Any, subject: str, field_type: FieldType, ordered_ok: bool = False
) -> Any:
    """Check a comparison value against the subject's type and return it in canonical form."""
    if op == "is":
        return value
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise _error(op, "expected a non-empty list")
        return tuple(_single(op, v, subject, field_type, ordered_ok) for v in value)
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise _error(op, "expected a list of two values [a, b]")
        low, high = (_single(op, v, subject, field_type, ordered_ok) for v in value)
        # Relative dates order only within one unit (-1m and -30d depend on D).
        comparable = type(low) is type(high) and (
            not isinstance(low, RelativeDate) or low.unit == high.unit
        )
        if comparable and _order_key(low) > _order_key(high):
            raise _error(op, f"needs a <= b, got [{value[0]}, {value[1]}]")
        return (low, high)
    return _single(op, value, subject, field_type, ordered_ok)


def _order_key(value: Any) -> Any:
    return value.amount if isinstance(value, RelativeDate) else value


def _single(op: str, value: Any, subject: str, field_type: FieldType, ordered_ok: bool) -> Any:
    ordered = op in ("gt", "gte", "lt", "lte", "between")
    if op in ("contains", "starts_with"):
        if field_type not in (FieldType.TEXT, FieldType.ID):
            raise _error(op, f"{op} needs a text subject; {subject} is a {field_type}")
        text = as_text(value)
        if text is None:
            raise _error(op, f"expected text, got {describe(value)}")
        return text
    if field_type in (FieldType.TEXT, FieldType.ID):
        if ordered:
            if not ordered_ok:
                raise _error(op, f"{op} needs a number or a date; {subject} is text")
            number = as_number(value)  # attribute values compare as numbers when ordered
            if number is None:
                raise _error(
                    op,
                    f"expected a number (values of {subject} compare as numbers), "
                    f"got {describe(value)}",
                )
            return number
        text = as_text(value)
        if text is None:
            raise _error(op, f"expected text, got {describe(value)}")
        return text
    if field_type is FieldType.NUMBER:
        number = as_number(value)
        if number is None:
            raise _error(op, f"expected a number, got {describe(value)}")
        return number
    if field_type is FieldType.DATE:
        day = as_date(value)
        if day is None:
            raise _error(op, f"expected {DATE_HINT}, got {describe(value)}")
        return day
    # boolean
    if ordered or op in ("in", "not_in"):
        raise _error(op, f"{op} does not apply to {subject}, which is true or false")
    if not isinstance(value, bool):
        raise _error(op, f"expected true or false, got {describe(value)}")
    return value


# -- where and window ------------------------------------------------------------------------


def _where_value(value: Any) -> Any:
    """`brand: Nike` means eq, `brand: [a, b]` means in, a mapping is a comparison."""
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return {"in": value}
    return {"eq": value}


class WhereComparison(Comparison):
    @model_validator(mode="after")
    def _one(self) -> WhereComparison:
        _exactly_one_comparison(self)
        return self


WhereValue = Annotated[
    WhereComparison,
    BeforeValidator(_where_value, json_schema_input_type=Any),
]


def _parse_duration(value: Any) -> Duration:
    duration = as_duration(value)
    if duration is None:
        raise PydanticCustomError(
            "segflow",
            "{message}",
            {"message": f"expected a length such as 14d, 4w, 3m or 1y, got {describe(value)}"},
        )
    return duration


def _parse_date(value: Any) -> DateValue:
    day = as_date(value)
    if day is None:
        raise PydanticCustomError(
            "segflow", "{message}", {"message": f"expected {DATE_HINT}, got {describe(value)}"}
        )
    return day


DurationField = Annotated[Duration, BeforeValidator(_parse_duration, json_schema_input_type=str)]
DateField = Annotated[date | RelativeDate, BeforeValidator(_parse_date, json_schema_input_type=str)]


class Window(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    last: DurationField | None = None
    from_: DateField | None = Field(default=None, alias="from")
    to: DateField | None = None

    @model_validator(mode="after")
    def _shape(self) -> Window:
        if self.last is not None and (self.from_ is not None or self.to is not None):
            raise _error("last", "a window has either last or from/to, not both")
        if self.last is None and self.from_ is None and self.to is None:
            raise PydanticCustomError(
                "segflow", "{message}", {"message": "a window needs last, from or to"}
            )
        if isinstance(self.from_, date) and isinstance(self.to, date) and self.from_ > self.to:
            raise _error("to", f"to ({self.to}) is before from ({self.from_})")
        return self


# -- conditions ------------------------------------------------------------------------------


class ProfileLeaf(Comparison):
    profile: Literal[tuple(PROFILE_FIELDS)]  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _check(self) -> ProfileLeaf:
        _exactly_one_comparison(self)
        self.checked(self.profile, PROFILE_FIELDS[self.profile])
        return self


class AttributeLeaf(Comparison):
    attribute: Name

    @model_validator(mode="after")
    def _check(self) -> AttributeLeaf:
        _exactly_one_comparison(self)
        self.checked(f"attribute {self.attribute}", FieldType.TEXT, ordered_ok=True)
        return self


def _event_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class MetricLeaf(Comparison):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    metric: Literal[METRICS]  # type: ignore[valid-type]
    where: dict[str, WhereValue] | None = None
    window: Window | None = None
    event: (
        Annotated[
            list[Annotated[str, Field(min_length=1)]],
            BeforeValidator(_event_list, json_schema_input_type=str | list[str]),
            Field(min_length=1),
        ]
        | None
    ) = None

    @property
    def is_loyalty(self) -> bool:
        return self.metric in LOYALTY_METRICS

    @property
    def columns(self) -> dict[str, FieldType]:
        return EVENT_COLUMNS if self.is_loyalty else SALES_COLUMNS

    @model_validator(mode="after")
    def _check(self) -> MetricLeaf:
        _exactly_one_comparison(self)
        self.checked(f"metric {self.metric}", FieldType.NUMBER)
        if self.event is not None and not self.is_loyalty:
            raise _error(
                "event",
                f"event applies to loyalty metrics "
                f"({', '.join(LOYALTY_METRICS)}), not {self.metric}",
            )
        for column, comparison in (self.where or {}).items():
            if column not in self.columns:
                kind = "events" if self.is_loyalty else "sales lines"
                raise _error(
                    f"where.{column}",
                    f"{kind} have no column {column!r}; known: {', '.join(self.columns)}",
                )
            try:
                comparison.checked(column, self.columns[column])
            except PydanticCustomError as exc:
                ctx = exc.context or {}
                raise _error(
                    f"where.{column}.{ctx.get('key', '')}".rstrip("."), str(ctx.get("message", exc))
                ) from None
        return self


class SegmentLeaf(_Strict):
    segment: SegmentRef

    @property
    def target(self) -> tuple[str, str | None]:
        name, _, tier = self.segment.partition(".")
        return name, tier or None


class AllOf(_Strict):
    all: list[Condition] = Field(min_length=1)


class AnyOf(_Strict):
    any: list[Condition] = Field(min_length=1)


class NotOf(_Strict):
    not_: Condition = Field(alias="not")


_CONDITION_KEYS = ("all", "any", "not", "profile", "attribute", "metric", "segment")
_CONDITION_TYPES = {
    AllOf: "all",
    AnyOf: "any",
    NotOf: "not",
    ProfileLeaf: "profile",
    AttributeLeaf: "attribute",
    MetricLeaf: "metric",
    SegmentLeaf: "segment",
}


def _condition_kind(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return "@" + _CONDITION_TYPES[type(value)]
    if isinstance(value, dict):
        keys = [k for k in _CONDITION_KEYS if k in value]
        if len(keys) == 1:
            return "@" + keys[0]
    return None


Condition = Annotated[
    Annotated[AllOf, Tag("@all")]
    | Annotated[AnyOf, Tag("@any")]
    | Annotated[NotOf, Tag("@not")]
    | Annotated[ProfileLeaf, Tag("@profile")]
    | Annotated[AttributeLeaf, Tag("@attribute")]
    | Annotated[MetricLeaf, Tag("@metric")]
    | Annotated[SegmentLeaf, Tag("@segment")],
    Discriminator(
        _condition_kind,
        custom_error_type="segflow",
        custom_error_message="a condition needs exactly one of all, any, not (combinators) or "
        "profile, attribute, metric, segment (leaves)",
    ),
]

for _model in (AllOf, AnyOf, NotOf):
    _model.model_rebuild()


# -- segments ------------------------------------------------------------------------------


class Trigger(_Strict):
    events: list[Literal["enter", "exit"]] = Field(min_length=1)


class Tier(_Strict):
    name: Name
    when: Condition


def _member_id(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


MemberId = Annotated[str, BeforeValidator(_member_id), Field(min_length=1)]


class SegmentDefinition(_Strict):
    """One file of `segments/`."""

    name: Name | None = None
    title: str | None = None
    description: str | None = None
    owner: str | None = None
    tags: list[str] = Field(default_factory=list)
    kind: Literal["dynamic", "static", "tiered"] = "dynamic"
    rules: Condition | None = None
    exclude: Condition | None = None
    members: list[MemberId] | None = None
    members_file: str | None = None
    tiers: list[Tier] | None = None
    hot: StrictBool = False
    trigger: Trigger | None = None

    @model_validator(mode="after")
    def _kind_keys(self) -> SegmentDefinition:
        given = self.model_fields_set
        allowed = {
            "dynamic": {"rules"},
            "static": {"members", "members_file"},
            "tiered": {"tiers"},
        }
        for key in ("rules", "members", "members_file", "tiers"):
            if key in given and key not in allowed[self.kind]:
                raise _error(key, f"{key} does not belong to a {self.kind} segment")
        if self.kind == "dynamic" and self.rules is None:
            raise _error("rules", "a dynamic segment needs rules")
        if self.kind == "static" and (self.members is None) == (self.members_file is None):
            raise _error("members", "a static segment needs members or members_file (one)")
        if self.kind == "tiered":
            if not self.tiers:
                raise _error("tiers", "a tiered segment needs a non-empty list of tiers")
            names = [t.name for t in self.tiers]
            for i, name in enumerate(names):
                if name in names[:i]:
                    raise _error(f"tiers[{i}].name", f"tier {name!r} appears twice")
        return self


def decimal_text(value: Decimal) -> str:
    """A plain decimal literal (no exponent) for SQL and for display."""
    return format(value, "f")
