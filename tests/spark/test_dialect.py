"""Where the generated segment SQL differs per engine (segflow/segments/sql.py, Context)."""

from datetime import date

import jinja2

from segflow.segments.sql import AS_OF_JINJA, dbt_context, direct_context, text_literal


def render(template: str) -> str:
    """As dbt would, with the macros reduced to something visible."""
    env = jinja2.Environment()
    return env.from_string(template).render(
        as_of_date=lambda: "D",
        days_between=lambda later, earlier: f"datediff({later}, {earlier})",
        text_type=lambda: "string",
        regex_match=lambda: "rlike",
    )


def test_a_dbt_model_passes_sql_with_d_and_quotes_to_the_macro():
    sql = f"max(case when e.x = 'say \"hi\"' and e.day > {AS_OF_JINJA} then e.day end)"
    ctx = dbt_context()
    assert render(ctx.days_between(AS_OF_JINJA, sql)) == (
        "datediff(D, max(case when e.x = 'say \"hi\"' and e.day > D then e.day end))"
    )
    assert render(f"cast(x as {ctx.text_type}) {ctx.regex_match} 'a'") == (
        "cast(x as string) rlike 'a'"
    )


def test_direct_sql_per_dialect():
    default = direct_context(date(2024, 1, 1), {})
    spark = direct_context(date(2024, 1, 1), {}, dialect="spark")
    assert default.days_between("a", "b") == "a - b"
    assert spark.days_between("a", "b") == "date_diff('day', b, a)"  # translated by sqlglot
    assert (default.text_type, spark.text_type) == ("varchar", "string")
    assert (default.regex_match, spark.regex_match) == ("~", "rlike")


def test_a_backslash_in_a_value_is_chr_92_on_every_engine():
    ctx = direct_context(date(2024, 1, 1), {})
    assert text_literal("a\\b", ctx) == "('a' || chr(92) || 'b')"
    assert text_literal("it's", ctx) == "'it''s'"
    assert (
        render(text_literal("a\\{{b}}", dbt_context()))
        == "(('a' || chr(92) || '{' || '{' || 'b}}'))"
    )
