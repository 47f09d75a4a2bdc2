-- One row per (customer, attribute, value, updated_at): the newest delivery wins.
with source as (

    select * from {{ source('raw', 'customer_attributes') }}

),

newest_delivery as (

    select
        *,
        row_number() over (
            partition by customer_id, lower(trim(attribute)), trim(value), updated_at
            order by {{ newest_delivery_first() }}
        ) as delivery_rank
    from source

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
where delivery_rank = 1
