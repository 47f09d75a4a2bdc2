-- Segment insights for the BI dashboards: each segment's members and the rest of the
-- population side by side, one row per segment and group (segment_stats in long form).
select
    s.segment,
    c.title,
    'Segment members' as customer_group,
    s.members as customers,
    s.share as share_of_population,
    s.orders,
    s.revenue,
    s.avg_order_value
from {{ ref('segment_stats') }} as s
left join {{ ref('segment_catalog') }} as c on s.segment = c.segment

union all

select
    s.segment,
    c.title,
    'Rest of the population' as customer_group,
    s.population - s.members as customers,
    1 - s.share as share_of_population,
    s.rest_orders as orders,
    s.rest_revenue as revenue,
    s.rest_avg_order_value as avg_order_value
from {{ ref('segment_stats') }} as s
left join {{ ref('segment_catalog') }} as c on s.segment = c.segment
