-- Sales and return lines: one row per (transaction_id, line_id), the newest delivery wins
-- (macros/lines.sql, which the per-day aggregates read too).
{{ sales_lines() }}
