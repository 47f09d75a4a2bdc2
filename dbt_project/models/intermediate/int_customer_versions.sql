-- Each customer version with the local dates it is valid for: [valid_from, valid_to).
-- A profile at D is the newest version with updated_on <= D; before a customer's first
-- version, the oldest version is used, so the oldest one has no valid_from.
-- Several versions on one day: only the last of them is valid from that day on.
with versions as (

    select
        *,
        row_number() over (partition by customer_id order by updated_at) as version_number,
        lead(updated_on) over (partition by customer_id order by updated_at) as next_updated_on
    from {{ ref('stg_customers') }}

)

select
    customer_id,
    version_number,
    case when version_number > 1 then updated_on end as valid_from,
    next_updated_on as valid_to,
    updated_at,
    email,
    first_name,
    last_name,
    gender,
    birth_date,
    signup_date,
    signup_store,
    language,
    country,
    postal_code,
    app_user,
    login_method,
    email_opt_in,
    push_opt_in,
    is_employee,
    status,
    is_erased
from versions
