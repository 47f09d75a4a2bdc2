"""The Dagster code location of segflow: assets, checks, jobs, resources. Wiring, little logic."""
