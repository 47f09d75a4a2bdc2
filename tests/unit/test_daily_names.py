"""The kept per-day aggregates' columns: a build's dbt model and a direct query (preview,
`members --as-of`) name every line filter alike, and the macros are part of what decides a
whole rebuild."""

from __future__ import annotations

import re
from datetime import date

from segflow.segments.compile import build_daily_models
from segflow.segments.daily import daily_prefixes, features_from_daily_sql
from segflow.segments.model import MetricLeaf
from segflow.segments.sql import direct_context, feature_of


def _feature(**spec):
    return feature_of(MetricLeaf.model_validate(spec))


FEATURES = [
    # A `{` in a literal is written apart for Jinja in the model, not in a direct query.
    _feature(metric="revenue", where={"brand": {"eq": "Nord{licht"}}, gte=1),
    _feature(metric="orders", where={"brand": {"eq": "Nordlicht"}}, window={"last": "90d"}, gte=1),
    _feature(metric="orders", gte=2),
    _feature(metric="events", event=["app_{open}"], window={"last": "30d"}, gte=1),
]


def test_a_direct_query_reads_the_columns_the_build_writes():
    written = set()
    for model in build_daily_models(FEATURES, macros=""):
        written |= set(re.findall(r" as (in_\w+)", model.select))
    ctx = direct_context(date(2026, 3, 31), {"int_daily_sales": "s", "int_daily_events": "e"})
    sales, events = daily_prefixes(FEATURES)
    read = set()
    for loyalty, prefixes in ((False, sales), (True, events)):
        reader = features_from_daily_sql(FEATURES, loyalty, ctx, prefixes)
        read |= set(re.findall(r"d\.(in_\w+)", reader))
    assert read and read <= written, read - written
    sales_model = build_daily_models(FEATURES, macros="")[0].select
    assert "'Nord{' || 'licht'" in sales_model  # written apart for Jinja, named alike


def test_changed_macros_change_the_definition():
    before = [m.definition_hash for m in build_daily_models(FEATURES, macros="a")]
    after = [m.definition_hash for m in build_daily_models(FEATURES, macros="b")]
    assert before != after
