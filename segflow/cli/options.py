"""Option parsing shared by the command modules (segflow/cli/main.py and each door's commands)."""

from __future__ import annotations

from datetime import date

import click


def parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    """A click callback: a YYYY-MM-DD option value as a date."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None
