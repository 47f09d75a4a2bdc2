-- Sales and return lines of known customers, with the current article master's attributes
-- (macros/lines.sql). An unknown product_id keeps its line; its product attributes are missing.
{{ sales_lines_with_products(ref('stg_transactions'), is_known_customer('lines')) }}
