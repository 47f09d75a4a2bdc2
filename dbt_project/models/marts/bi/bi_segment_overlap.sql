-- Overlap between segments for the BI dashboards: the share of a segment's members who are
-- also in another segment (one row per ordered pair that shares at least one member).
with sizes as (
    select segment, count(distinct customer_id) as members
    from {{ ref('segment_membership') }}
    group by segment
),

pairs as (
    {{ segment_pair_counts(ref('segment_membership')) }}
)

select
    p.segment,
    p.other_segment,
    s.members,
    p.members_in_both,
    p.members_in_both * 1.0 / s.members as share_in_other
from pairs as p
inner join sizes as s on p.segment = s.segment
where p.members_in_both > 0
