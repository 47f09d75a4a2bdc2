-- Operations for the BI dashboards: per feed and delivery day, the files received and
-- rejected, rows loaded and rows quarantined (from the ingestion's file log).
select
    feed,
    delivery_date as day,
    count(*) as files,
    sum(case when status = 'rejected' then 1 else 0 end) as files_rejected,
    sum(case when status in ('loaded', 'replaced') then coalesce(rows_loaded, 0) else 0 end) as rows_loaded,
    sum(case when status in ('loaded', 'replaced') then coalesce(rows_quarantined, 0) else 0 end)
        as rows_quarantined
from {{ source('ingestion', 'file_log') }}
group by feed, delivery_date
