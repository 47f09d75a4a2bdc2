"""Where a key of a segment file belongs, for messages about a key in the wrong place.

A key the language knows but that is not allowed where it stands is almost always indented
one level wrong, or put on a condition that cannot take it (a comparison on a segment
reference). Saying that, in the user's terms, beats "unknown key 'gt' (did you mean 'gt'?)".
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from segflow.segments.fields import COMPARISONS, EVENT_COLUMNS, SALES_COLUMNS

SEGMENT_KEYS = frozenset(
    {"name", "title", "description", "owner", "tags", "kind", "rules", "exclude", "members"}
    | {"members_file", "tiers", "hot", "trigger"}
)
COMBINATORS = ("all", "any", "not")
LEAVES = {
    "profile": frozenset({"profile", *COMPARISONS}),
    "attribute": frozenset({"attribute", *COMPARISONS}),
    "metric": frozenset({"metric", "where", "window", "event", *COMPARISONS}),
    "segment": frozenset({"segment"}),
}
WINDOW_KEYS = frozenset({"last", "from", "to"})
COLUMNS = frozenset(SALES_COLUMNS) | frozenset(EVENT_COLUMNS)
_CONDITION_SLOTS = ("rules", "exclude", "when", "not")


def _home(key: str) -> str:
    """Where `key` belongs, in words."""
    if key in COMPARISONS:
        return "a comparison: it belongs in a profile, attribute or metric condition"
    if key in ("where", "window", "event"):
        return f"part of a metric condition ({key} filters what the metric counts)"
    if key in WINDOW_KEYS:
        return "part of a window (window: {last: 30d} or {from: ..., to: ...})"
    if key in COLUMNS:
        return "a column of where (where: {" + key + ": ...}) inside a metric condition"
    if key in COMBINATORS or key in LEAVES:
        return "a condition: it goes under rules, exclude, a tier's when, or inside all/any/not"
    if key in SEGMENT_KEYS:
        return "a top-level key of the segment file (no indentation)"
    if key in ("name", "when"):
        return "part of a tier (tiers: [{name: ..., when: ...}])"
    if key == "events":
        return "part of trigger (trigger: {events: [enter, exit]})"
    return "unknown here"


def known(key: str) -> bool:
    return _home(key) != "unknown here"


def _allowed(node: Any, parent_key: str | int | None) -> frozenset[str]:
    """The keys a mapping may hold, judged from the key it hangs under and its own keys."""
    if not isinstance(node, CommentedMap):
        return frozenset()
    if parent_key is None:
        return SEGMENT_KEYS
    if parent_key == "window":
        return WINDOW_KEYS
    if parent_key == "where":
        return COLUMNS
    if parent_key == "trigger":
        return frozenset({"events"})
    if isinstance(parent_key, int) and "when" in node:
        return frozenset({"name", "when"})
    heads = [k for k in (*COMBINATORS, *LEAVES) if k in node]
    if len(heads) == 1 and heads[0] in LEAVES:
        return LEAVES[heads[0]]
    if len(heads) == 1:
        return frozenset({heads[0]})
    return frozenset()


def _last_mapping(value: Any) -> CommentedMap | None:
    if isinstance(value, CommentedMap):
        return value
    if isinstance(value, CommentedSeq) and value and isinstance(value[-1], CommentedMap):
        return value[-1]
    return None


def misplaced(tree: Any, loc: tuple[str | int, ...]) -> str | None:
    """A message for the known key at the end of `loc` that its mapping does not allow."""
    if not loc or not isinstance(loc[-1], str) or not known(loc[-1]):
        return None
    key = loc[-1]
    parents: list[tuple[Any, str | int | None]] = [(tree, None)]
    node = tree
    for part in loc[:-1]:
        if (
            isinstance(node, CommentedMap)
            and part in node
            or isinstance(node, CommentedSeq)
            and isinstance(part, int)
            and part < len(node)
        ):
            node = node[part]
        else:
            return None
        parents.append((node, part))
    mapping, under = parents[-1]
    if not isinstance(mapping, CommentedMap):
        return None
    if "segment" in mapping and key in COMPARISONS:
        return (
            f"{key!r} does not apply to a segment reference: `segment: {mapping['segment']}` "
            "holds for that segment's members; compare a metric, profile or attribute instead"
        )
    # One level too little: the key follows a mapping (or list of them) that can hold it.
    keys = list(mapping)
    index = keys.index(key)
    if index > 0:
        before = keys[index - 1]
        value = mapping[before]
        target = _last_mapping(value)
        line = mapping.lc.key(before)[0] + 1
        if value is None and before == "where" and key in COLUMNS:
            return f"{key!r} is a column of where: indent it under where (line {line})"
        if value is None and before == "window" and key in WINDOW_KEYS:
            return f"{key!r} is part of the window: indent it under window (line {line})"
        if target is not None:
            inner: str | int = before if target is value else len(value) - 1
            if key in _allowed(target, inner):
                if target is not value:  # the last item of a list
                    line = value.lc.item(len(value) - 1)[0] + 1
                    before = f"the last condition of {before}"
                return (
                    f"{key!r} is indented one level too little: it belongs to {before} "
                    f"(line {line})"
                )
    # One level too far: the mapping above this one would take it.
    if len(parents) >= 2:
        above, above_key = parents[-2]
        if isinstance(above, CommentedSeq) and len(parents) >= 3:
            above, above_key = parents[-3]
        if key in _allowed(above, above_key) and key not in above:
            return (
                f"{key!r} is indented one level too far: it belongs beside {under}, not inside it"
            )
    here = "the segment file's top level" if under is None else f"{under}"
    return f"{key!r} does not belong in {here}: it is {_home(key)}"
