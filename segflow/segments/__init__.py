"""The segment language (spec/segments.md): typed definitions, loading, validation, SQL."""
