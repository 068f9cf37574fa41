"""Fixtures of the people tests: e-mails sent on commit, links read from them."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD

LINK = re.compile(r"https?://\S+/invitations/accept/[^/\s]+/")


def link_in(message) -> str:
    """The invitation link of an e-mail, as a path the test client can open."""
    (url,) = set(LINK.findall(message.body))
    return "/" + url.split("/", 3)[3]


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run what waits for the commit (the invitation e-mail) at the end of the block."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


__all__ = ["LINK", "PASSWORD", "link_in"]
