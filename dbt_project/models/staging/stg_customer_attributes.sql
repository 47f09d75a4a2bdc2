-- One row per (customer, attribute, value, updated_at): the newest delivery wins.
with newest_delivery as (

    {{ newest_delivery(source('raw', 'customer_attributes'), 'customer_id, lower(trim(attribute)), trim(value), updated_at') }}

)

select
    customer_id,
    {{ clean_code('attribute') }} as attribute,
    {{ clean_text('value') }} as value,
    updated_at,
    {{ local_date('updated_at') }} as updated_on,
    coalesce(deleted, false) as is_deleted,
    _file as source_file
from newest_delivery
