"""The accessibility walk of the provider editor, the provider viewer and the operator
(``tests.browser.walk``)."""

from __future__ import annotations

import pytest

from tests.browser.walk import WIDTHS, walk_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_every_page_of_the_provider_side_and_the_operator_at_both_widths(browser, live_server):
    walk_demo(
        browser,
        live_server.url,
        [(username, WIDTHS, "en-GB") for username in ("provider", "provider-viewer", "admin")],
    )
