-- Operations for the BI dashboards: every build and whether it was published. A view, because
-- publishing marks the build after dbt has run.
{{ config(materialized='view') }}

select
    as_of,
    built_at,
    published_at,
    case when published_at is null then 'not published' else 'published' end as status,
    case when published_at is null then 0 else 1 end as published
from {{ source('segflow', 'segflow_builds') }}
