-- The customer ids with an erased version: every row of theirs is dropped from the lines,
-- the events and the per-day aggregates. A table, so that those read it rather than the
-- window over every customer version (stg_customers) each time.
select
    customer_id
from {{ ref('int_customer_versions') }}
where version_number = 1
    and is_erased
