-- One row per customer version (customer_id, updated_at): the newest delivery wins.
-- Erased customers keep their versions (flagged) but lose their personal columns.
with newest_delivery as (

    {{ newest_delivery(source('raw', 'customers'), 'customer_id, updated_at') }}

),

versions as (

    select
        *,
        max(case when erased_at is not null then 1 else 0 end)
            over (partition by customer_id) = 1 as is_erased
    from newest_delivery

)

select
    customer_id,
    case when is_erased then null else lower({{ clean_text('email') }}) end as email,
    case when is_erased then null else {{ clean_text('first_name') }} end as first_name,
    case when is_erased then null else {{ clean_text('last_name') }} end as last_name,
    case
        when {{ clean_code('gender') }} in ('f', 'm', 'x') then {{ clean_code('gender') }}
    end as gender,
    case when is_erased then null else birth_date end as birth_date,
    signup_date,
    {{ clean_text('signup_store') }} as signup_store,
    {{ clean_code('language') }} as language,
    upper({{ clean_text('country') }}) as country,
    case when is_erased then null else {{ clean_text('postal_code') }} end as postal_code,
    app_user,
    {{ clean_code('login_method') }} as login_method,
    coalesce(email_opt_in, false) as email_opt_in,
    coalesce(push_opt_in, false) as push_opt_in,
    coalesce(is_employee, false) as is_employee,
    coalesce({{ clean_code('status') }}, 'active') as status,
    updated_at,
    {{ local_date('updated_at') }} as updated_on,
    erased_at,
    is_erased,
    _file as source_file
from versions
