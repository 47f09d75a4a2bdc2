"""Fixtures of the sync tests: the Klaviyo double most modules sync to (the Mailchimp module
defines its own `double`), and a connection to the test project's warehouse."""

from __future__ import annotations

import pytest

from segflow.sync.doubles.klaviyo import KlaviyoDouble
from segflow.warehouse import open_warehouse


@pytest.fixture
def double():
    d = KlaviyoDouble()
    d.start()
    yield d
    d.stop()


@pytest.fixture
def wh(project):
    with open_warehouse(project) as warehouse:
        yield warehouse
