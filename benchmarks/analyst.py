"""What a competent analyst would write for each segment of `segments.generate_segments`: one
plain query per segment, a filtered aggregate over the sales lines (or events) with its
threshold in HAVING, joined to the population; no segflow SQL.

`analyst_queries(count, d, relations)` mirrors `generate_segments(folder, count)` segment by
segment (`s000`, `s001`, ...), so each query's member count can be checked against segflow's
`seg_<name>`.
"""

from __future__ import annotations

from datetime import date

from benchmarks.segments import BRANDS, METRICS, WINDOWS


def _window(text: str | None, day: str) -> str:
    """`{last: 30d}` as a condition on `occurred_on` (after D minus the period, up to D)."""
    if text is None:
        return "true"
    amount, unit = text.removeprefix("{last: ").removesuffix("}")[:-1], text[-2]
    word = {"d": "day", "m": "month", "y": "year"}[unit]
    return f"occurred_on > {day} - interval '{amount} {word}'"


def analyst_queries(count: int, d: date, relations: dict[str, str]) -> dict[str, str]:
    """Segment name -> a query returning its member count. `relations`: where the population
    (`population`), the sales lines (`lines`), the events (`events`) and the custom attributes
    (`attributes`) are."""
    day = f"date '{d}'"
    population, lines, events = relations["population"], relations["lines"], relations["events"]

    def members(source: str, where: str, having: str) -> str:
        return (
            f"select count(*) from {population} as p where p.customer_id in ("
            f"select customer_id from {source} where occurred_on <= {day} and {where} "
            f"group by customer_id having {having})"
        )

    queries: dict[str, str] = {}
    made = i = 0
    while made < count:
        i += 1
        kind = i % 10
        if kind < 6:
            metric, thresholds = METRICS[i % len(METRICS)]
            threshold = thresholds[i % len(thresholds)]
            window = WINDOWS[(i // 3) % len(WINDOWS)] if "days_since" not in metric else None
            where = f"brand = '{BRANDS[i % len(BRANDS)]}'" if i % 3 else "true"
            if i % 7 == 0:
                where = "campaign_code is null"
            orders = "count(distinct case when quantity > 0 then transaction_id end)"
            having = {
                "orders": f"{orders} >= {threshold}",
                "revenue": f"sum(amount) >= {threshold}",
                "items": f"sum(quantity) >= {threshold}",
                "avg_order_value": f"sum(amount) / nullif({orders}, 0) >= {threshold}",
                "days_since_last_order": (
                    f"{day} - max(case when quantity > 0 then occurred_on end) >= {threshold}"
                ),
            }[metric]
            query = members(lines, f"{where} and {_window(window, day)}", having)
        elif kind == 6:
            query = members(
                events,
                f"event_type = 'app_open' and occurred_on > {day} - interval '{10 + i} day'",
                "count(*) >= 1",
            )
        elif kind == 7:
            query = members(events, "true", f"sum(points) > {100 + i * 5}")
        elif kind == 8:
            diet = (
                f" and p.customer_id in (select customer_id from {relations['attributes']} "
                "where attribute = 'diet' and value = 'vegan')"
                if i % 20 == 8
                else ""
            )
            query = (
                f"select count(*) from {population} as p where p.gender = 'f' "
                f"and p.age between {20 + i % 30} and {35 + i % 30}{diet}"
            )
        else:  # tiered: silver or better
            query = members(lines, _window("{last: 365d}", day), f"sum(amount) >= {500 + i}")
        queries[f"s{made:03d}"] = query
        made += 1
    return queries
