-- Overlap between segments for the BI dashboards: the share of a segment's members who are
-- also in another segment (one row per ordered pair that shares at least one member).
with pairs as (
    {{ segment_pairs(ref('int_segment_flags'), ref('segment_membership')) }}
)

select
    segment,
    other_segment,
    members,
    members_in_both,
    members_in_both * 1.0 / members as share_in_other
from pairs
where members_in_both > 0
