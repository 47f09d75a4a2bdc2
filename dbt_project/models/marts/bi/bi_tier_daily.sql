-- Members per tier per day of the tiered segments, for the BI dashboards: counted from the
-- membership history on every day it holds. A view, because the history is written when a
-- build is published, after dbt has run.
{{ config(materialized='view') }}

select
    d.segment,
    d.day,
    h.tier,
    count(*) as members
from {{ source('segflow', 'segment_history_days') }} as d
inner join {{ source('segflow', 'segment_membership_history') }} as h
    on d.segment = h.segment and d.day between h.valid_from and h.valid_to
where h.tier is not null
group by d.segment, d.day, h.tier
