-- Loyalty and app events: one row per event_id, the newest delivery wins (macros/lines.sql,
-- which the per-day aggregates read too).
{{ loyalty_events() }}
