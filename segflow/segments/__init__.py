"""The segment language (docs/segments.md): typed definitions, loading, validation, SQL."""
