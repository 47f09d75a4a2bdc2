"""Walking a segment's condition tree, and the hash of what decides its membership."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

from segflow.segments.model import AllOf, AnyOf, MetricLeaf, NotOf, SegmentDefinition

Path_ = tuple[str | int, ...]


def iter_conditions(condition, path: Path_) -> Iterator[tuple[object, Path_]]:
    """Every node of a condition tree with its key path, parents first."""
    yield condition, path
    if isinstance(condition, AllOf):
        for i, child in enumerate(condition.all):
            yield from iter_conditions(child, (*path, "all", i))
    elif isinstance(condition, AnyOf):
        for i, child in enumerate(condition.any):
            yield from iter_conditions(child, (*path, "any", i))
    elif isinstance(condition, NotOf):
        yield from iter_conditions(condition.not_, (*path, "not"))


def segment_conditions(definition: SegmentDefinition) -> Iterator[tuple[object, Path_]]:
    """Every condition node of a segment (rules, tiers, exclude) with its key path."""
    if definition.rules is not None:
        yield from iter_conditions(definition.rules, ("rules",))
    for i, tier in enumerate(definition.tiers or []):
        yield from iter_conditions(tier.when, ("tiers", i, "when"))
    if definition.exclude is not None:
        yield from iter_conditions(definition.exclude, ("exclude",))


def metric_leaves(definition: SegmentDefinition) -> list[MetricLeaf]:
    return [c for c, _ in segment_conditions(definition) if isinstance(c, MetricLeaf)]


def definition_hash(definition: SegmentDefinition, static_members: tuple[str, ...]) -> str:
    """A hash of what decides membership (not of title, description, owner, tags)."""
    meaning = definition.model_dump(
        mode="json",
        by_alias=True,
        exclude_none=True,
        include={"kind", "rules", "exclude", "members", "members_file", "tiers"},
    )
    meaning["static_members"] = list(static_members)
    text = json.dumps(meaning, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
