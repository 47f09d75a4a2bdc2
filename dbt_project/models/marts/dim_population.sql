-- The population at D (the `as_of` var): each customer's profile as of D, for customers who
-- signed up on or before D, are not blocked or fraud at D, and were never erased.
with as_of as (

    select {{ as_of_date() }} as as_of

),

profile_at_as_of as (

    select
        versions.*,
        as_of.as_of
    from {{ ref('int_customer_versions') }} as versions
    cross join as_of
    where (versions.valid_from is null or versions.valid_from <= as_of.as_of)
        and (versions.valid_to is null or as_of.as_of < versions.valid_to)

),

population as (

    select *
    from profile_at_as_of
    where signup_date <= as_of
        and status not in ('blocked', 'fraud')
        and not is_erased

),

birthdays as (

    select
        *,
        {{ birthday_in_year('birth_date', date_part_int('year', 'as_of')) }} as birthday_this_year,
        {{ birthday_in_year('birth_date', date_part_int('year', 'as_of') ~ ' + 1') }}
            as birthday_next_year
    from population

)

select
    customer_id,
    as_of,
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
    {{ date_part_int('year', 'as_of') }} - {{ date_part_int('year', 'birth_date') }}
        - case when birthday_this_year > as_of then 1 else 0 end as age,
    {{ dbt.datediff('signup_date', 'as_of', 'day') }} as days_since_signup,
    case
        when birthday_this_year >= as_of
            then {{ dbt.datediff('as_of', 'birthday_this_year', 'day') }}
        else {{ dbt.datediff('as_of', 'birthday_next_year', 'day') }}
    end as days_until_birthday,
    {{ date_part_int('month', 'birth_date') }} as birth_month
from birthdays
