"""Ingestion of the five feeds from the landing folder into the raw tables (docs/feeds.md)."""

from segflow.ingestion.loader import FeedReport, FileResult, ingest_feed

__all__ = ["FeedReport", "FileResult", "ingest_feed"]
