"""The browser fixtures (Chromium, a page on the live server, logging in) for this folder."""

from tests.browser.conftest import browser, login, page  # noqa: F401 - fixtures
