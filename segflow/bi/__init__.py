"""Superset dashboards as code: Superset's own environment, the BI copy of the warehouse, and
importing/exporting the bundle in `dashboards/` (spec: dashboards)."""
