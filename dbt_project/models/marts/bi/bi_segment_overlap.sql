-- Overlap between segments for the BI dashboards: the share of a segment's members who are
-- also in another segment (one row per ordered pair that shares at least one member).
with members as (
    select distinct segment, customer_id from {{ ref('segment_membership') }}
),

sizes as (
    select segment, count(*) as members from members group by segment
)

select
    a.segment,
    b.segment as other_segment,
    s.members,
    count(*) as members_in_both,
    count(*) * 1.0 / s.members as share_in_other
from members as a
inner join members as b on a.customer_id = b.customer_id
inner join sizes as s on a.segment = s.segment
group by a.segment, b.segment, s.members
