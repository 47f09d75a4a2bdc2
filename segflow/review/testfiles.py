"""Segment test files (`segments/tests/*.yml`): read, checked against the feed contract, with
`file:line key.path: message` for every problem.

```yaml
segment: vip
as_of: 2026-06-30
given:
  customers: [{customer_id: A, signup_date: 2024-01-01}]
  transactions: [{customer_id: A, transaction_id: T1, occurred_at: 2026-06-01T10:00, ...}]
expect:
  members: [A]        # exactly these; or {A: gold} for tiers
```

Values are read as a delivery's text would be (YAML's dates, numbers and booleans as their
text) and parsed by the ingestion's parser, so a fixture cannot hold what a feed could not
deliver. Columns left out are empty, as in a delivery without them; the few required ones
that only order or identify rows get a neutral value (see DEFAULTS).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from segflow.feeds import FEEDS
from segflow.ingestion.parsing import BadValue, is_empty, parse_date, parse_value
from segflow.segments.loader import Problem, display_path, format_path, line_of

TOP_KEYS = ("segment", "as_of", "description", "given", "expect")
# Required by the contract but only identifying or dating a row: left out, they get these.
DEFAULTS = {
    "customers": ("updated_at",),  # the signup date, 00:00 local: one version, always valid
    "customer_attributes": ("updated_at",),  # 1970-01-01: known since before any D
    "transactions": ("line_id",),  # the line's position within its transaction
    "events": ("event_id",),  # E<row number>
}


class _DatesAsText(RoundTripConstructor):
    """Dates and timestamps stay text, as in a delivery: the feed parser reads them (and a
    bad one is reported with its line instead of failing the whole file)."""


_DatesAsText.add_constructor("tag:yaml.org,2002:timestamp", RoundTripConstructor.construct_yaml_str)


@dataclass
class SegmentTest:
    name: str  # the file's stem
    path: Path
    display: str
    tree: Any
    segment: str = ""
    as_of: date | None = None
    description: str = ""
    given: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # feed -> typed rows
    members: dict[str, str | None] = field(default_factory=dict)  # customer -> tier
    tiers_expected: bool = False
    problems: list[Problem] = field(default_factory=list)

    def problem(self, path: tuple[str | int, ...], message: str) -> None:
        self.problems.append(
            Problem(self.display, line_of(self.tree, path), format_path(path), message)
        )


def test_files(folder: Path) -> list[Path]:
    tests = folder / "tests"
    if not tests.is_dir():
        return []
    return sorted(p for p in tests.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file())


def _text(value: Any) -> Any:
    """A YAML scalar as a delivery's text would hold it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, int | float):
        return str(value)
    return value


def load_test(path: Path, zone: tzinfo) -> SegmentTest:
    test = SegmentTest(path.stem, path, display_path(path), None)
    try:
        yaml = YAML(typ="rt")
        yaml.Constructor = _DatesAsText
        yaml.version = (1, 2)
        yaml.allow_duplicate_keys = False
        test.tree = yaml.load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        test.problems.append(Problem(test.display, 1, "", f"cannot read the file ({exc})"))
        return test
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = (exc.problem or exc.context or "invalid YAML").strip()
        test.problems.append(Problem(test.display, mark.line + 1 if mark else 1, "", reason))
        return test
    except YAMLError as exc:
        test.problems.append(Problem(test.display, 1, "", f"YAML: {exc}"))
        return test
    tree = test.tree
    if not isinstance(tree, CommentedMap):
        test.problems.append(
            Problem(
                test.display, 1, "", "a segment test is a mapping: segment, as_of, given, expect"
            )
        )
        return test
    for key in tree:
        if key not in TOP_KEYS:
            test.problem((key,), _unknown(str(key), TOP_KEYS))
    for key in ("segment", "as_of", "expect"):
        if key not in tree:
            test.problems.append(Problem(test.display, 1, key, "required key missing"))
    segment = tree.get("segment")
    if "segment" in tree and (not isinstance(segment, str) or not segment.strip()):
        test.problem(("segment",), "expected the name of a segment")
    elif isinstance(segment, str):
        test.segment = segment.strip()
    as_of = tree.get("as_of")
    if "as_of" in tree:
        try:
            test.as_of = parse_date(str(as_of)) if isinstance(as_of, str) else None
        except BadValue as exc:
            test.problem(("as_of",), str(exc))
        else:
            if test.as_of is None:
                test.problem(("as_of",), f"expected a date YYYY-MM-DD, got {as_of!r}")
    description = tree.get("description")
    test.description = str(description) if description is not None else ""
    _read_given(test, tree.get("given"), zone)
    _read_expect(test, tree.get("expect"))
    test.problems.sort(key=lambda p: p.line)
    return test


def _unknown(key: str, known: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    return f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")


def _read_given(test: SegmentTest, given: Any, zone: tzinfo) -> None:
    if given is None:
        return  # nobody at all: every segment is empty
    if not isinstance(given, CommentedMap):
        test.problem(("given",), "expected a mapping of feeds (customers, transactions, ...)")
        return
    for feed_name, rows in given.items():
        where: tuple[str | int, ...] = ("given", feed_name)
        feed = FEEDS.get(str(feed_name))
        if feed is None:
            test.problem(where, _unknown(str(feed_name), list(FEEDS)).replace("key", "feed"))
            continue
        if rows is None:
            rows = []
        if not isinstance(rows, CommentedSeq):
            test.problem(where, "expected a list of rows")
            continue
        typed_rows: list[dict[str, Any]] = []
        seen_keys: dict[tuple, int] = {}
        lines_per_transaction: dict[Any, int] = {}
        for index, row in enumerate(rows):
            at = (*where, index)
            if not isinstance(row, CommentedMap):
                test.problem(at, "expected a row: a mapping of column: value")
                continue
            typed: dict[str, Any] = {}
            bad = False
            for column_name in row:
                if column_name not in feed.column_names:
                    message = _unknown(str(column_name), feed.column_names).replace(
                        "key", f"column of the {feed.name} feed"
                    )
                    test.problem((*at, column_name), message)
                    bad = True
            for column in feed.columns:
                value = _text(row.get(column.name))
                try:
                    parsed = parse_value(column.type, value, zone)
                except BadValue as exc:
                    test.problem((*at, column.name), str(exc))
                    bad = True
                    continue
                if parsed is None and column.required:
                    parsed = _default(feed.name, column.name, typed, index, lines_per_transaction)
                    if parsed is None and column.name in DEFAULTS.get(feed.name, ()) and bad:
                        continue  # its default comes from a value already reported
                    if parsed is None:
                        test.problem(at, f"{column.name} is required by the {feed.name} feed")
                        bad = True
                        continue
                    parsed = parse_value(column.type, parsed, zone)
                typed[column.name] = parsed
            if bad:
                continue
            key = tuple(typed[k] for k in feed.key)
            if key in seen_keys:
                test.problem(
                    at,
                    f"the same {', '.join(feed.key)} as row {seen_keys[key]}: a delivery "
                    "holds each key once",
                )
                continue
            seen_keys[key] = index
            typed_rows.append(typed)
        test.given[feed.name] = typed_rows


def _default(
    feed: str, column: str, row: dict[str, Any], index: int, lines: dict[Any, int]
) -> str | None:
    if column not in DEFAULTS.get(feed, ()):
        return None
    if feed == "customers":
        signup = row.get("signup_date")
        return signup.isoformat() if signup else None
    if feed == "customer_attributes":
        return "1970-01-01"
    if feed == "transactions":
        transaction = row.get("transaction_id")
        lines[transaction] = lines.get(transaction, 0) + 1
        return str(lines[transaction])
    return f"E{index + 1}"


def _read_expect(test: SegmentTest, expect: Any) -> None:
    if expect is None:
        return
    if not isinstance(expect, CommentedMap):
        test.problem(("expect",), "expected a mapping with members")
        return
    for key in expect:
        if key != "members":
            test.problem(("expect", key), _unknown(str(key), ["members"]))
    if "members" not in expect:
        test.problem(("expect",), "members: required key missing")
        return
    members = expect["members"]
    where = ("expect", "members")
    if members is None:
        return  # nobody
    if isinstance(members, CommentedSeq):
        for index, item in enumerate(members):
            if is_empty(item) or isinstance(item, CommentedMap | CommentedSeq):
                test.problem((*where, index), "expected a customer_id")
            elif str(_text(item)) in test.members:
                test.problem((*where, index), f"{_text(item)} is listed twice")
            else:
                test.members[str(_text(item))] = None
    elif isinstance(members, CommentedMap):
        test.tiers_expected = True
        for customer, tier in members.items():
            if not isinstance(tier, str) or not tier.strip():
                test.problem((*where, customer), "expected the tier's name")
            else:
                test.members[str(_text(customer))] = tier.strip()
    else:
        test.problem(where, "expected a list of customer_ids, or {customer_id: tier}")
