"""Reviewing segment changes: the impact diff against a git ref, and segment unit tests."""
