"""A bar chart for the terminal: one column per day (or per run of days when there are more
days than columns), drawn with eighth blocks so small changes still show."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

BLOCKS = " ▁▂▃▄▅▆▇█"


def bar_chart(
    days: Sequence[date], values: Sequence[int], width: int = 60, height: int = 8
) -> list[str]:
    if not values:
        return []
    # Each column shows the last day of its run of days (a size at a date, not a sum).
    step = max(1, -(-len(values) // width))
    columns = [values[min(i + step, len(values)) - 1] for i in range(0, len(values), step)]
    low, high = min(columns), max(columns)
    # A little room under the smallest value, so that the lowest column is still visible.
    floor = max(0, low - max(1, (high - low) // 10)) if high > low else 0
    span = max(1, high - floor)
    levels = [round((v - floor) / span * height * 8) for v in columns]
    label = len(f"{high:,}")
    lines = []
    for row in range(height, 0, -1):
        cells = "".join(BLOCKS[max(0, min(8, level - (row - 1) * 8))] for level in levels)
        axis = f"{high:,}" if row == height else (f"{floor:,}" if row == 1 else "")
        lines.append(f"{axis:>{label}} ┤{cells}")
    left, right = days[0].isoformat(), days[-1].isoformat()
    gap = max(1, len(columns) - len(left) - len(right))
    lines.append(f"{'':>{label}}  {left}{' ' * gap}{right}")
    if step > 1:
        lines.append(f"{'':>{label}}  one column per {step} days")
    return lines
