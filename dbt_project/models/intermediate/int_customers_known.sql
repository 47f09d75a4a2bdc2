-- The customer ids that segments may use: in the customers feed and not erased.
select
    customer_id
from {{ ref('stg_customers') }}
group by customer_id
having max(case when is_erased then 1 else 0 end) = 0
