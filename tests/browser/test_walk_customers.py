"""The accessibility walk of the customer editor and the customer viewer, and the
customer once more on a phone with a German browser (``tests.browser.walk``)."""

from __future__ import annotations

import pytest

from tests.browser.walk import WIDTHS, walk_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_every_page_of_the_customer_side_at_both_widths_and_in_german(browser, live_server):
    walk_demo(
        browser,
        live_server.url,
        [
            ("customer", WIDTHS, "en-GB"),
            ("customer-viewer", WIDTHS, "en-GB"),
            # German words are long: the customer again, on a phone.
            ("customer", {"phone": WIDTHS["phone"]}, "de-DE"),
        ],
    )
