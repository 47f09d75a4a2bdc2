"""The features model's column names say what they count, and never name two features."""

from __future__ import annotations

from segflow.segments.model import MetricLeaf
from segflow.segments.sql import feature_of


def _leaf(**spec) -> MetricLeaf:
    return MetricLeaf.model_validate(spec)


def test_a_plain_feature_reads_as_its_meaning():
    assert feature_of(_leaf(metric="revenue", gte=1, window={"last": "12m"})).column == (
        "revenue_last_12m"
    )
    assert feature_of(_leaf(metric="orders", gte=1)).column == "orders"
    events = _leaf(metric="events", event=["reward_redeemed"], gte=1, window={"last": "30d"})
    assert feature_of(events).column == "events_reward_redeemed_last_30d"


def test_values_that_words_would_blur_keep_apart_with_a_hash():
    upper = feature_of(_leaf(metric="orders", where={"brand": {"eq": "Nordlicht"}}, gte=1))
    lower = feature_of(_leaf(metric="orders", where={"brand": {"eq": "nordlicht"}}, gte=1))
    dashed = feature_of(_leaf(metric="orders", where={"brand": {"eq": "a-b"}}, gte=1))
    spaced = feature_of(_leaf(metric="orders", where={"brand": {"eq": "a b"}}, gte=1))
    assert lower.column.startswith("orders_brand_nordlicht_")
    assert upper.column.startswith("orders_brand_nordlicht_") and upper.column != lower.column
    assert dashed.column != spaced.column
    one = feature_of(_leaf(metric="events", event=["a_b"], gte=1))
    two = feature_of(_leaf(metric="events", event=["a", "b"], gte=1))
    assert one.column == "events_a_b" and two.column.startswith("events_a_b_")


def test_long_names_stay_within_postgres_identifiers():
    long = feature_of(
        _leaf(
            metric="revenue",
            where={"collection": {"in": [f"collection number {i}" for i in range(12)]}},
            gte=1,
            window={"last": "90d"},
        )
    )
    assert len(long.column) <= 54
    assert long.column.startswith("revenue_collection_in_collection_number")
