-- Loyalty and app events of known, non-erased customers (macros/lines.sql).
{{ events_of(ref('stg_events'), is_known_customer('events')) }}
