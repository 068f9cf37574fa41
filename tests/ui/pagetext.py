"""A page's text as a reader sees it: adjacent inline elements run together, exactly as a
browser lays them out, so a missing space shows ("CR-GLOBEXSales")."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = {
    "p",
    "div",
    "li",
    "tr",
    "td",
    "th",
    "h1",
    "h2",
    "h3",
    "section",
    "ul",
    "ol",
    "table",
    "br",
    "dt",
    "dd",
    "figcaption",
    "summary",
    "caption",
    "header",
    "nav",
    "main",
    "option",
}
_SKIPPED = {"script", "style", "title", "svg"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping -= 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(re.sub(r"\s+", " ", data))


def page_text(html: str) -> str:
    """The text of ``html``'s ``<main>``, whitespace collapsed within each block."""
    main = html.split("<main", 1)[-1]
    parser = _Text()
    parser.feed(main)
    lines = "".join(parser.parts).split("\n")
    return "\n".join(" ".join(line.split()) for line in lines if line.strip())
