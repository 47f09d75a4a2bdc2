-- The customer ids that segments may use: in the customers feed and not erased (erasure
-- marks every version of a customer, so the first version says it).
select
    customer_id
from {{ ref('int_customer_versions') }}
where version_number = 1
    and not is_erased
