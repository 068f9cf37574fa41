"""The shapes a webhook can take: the portal's signed JSON, or a message a chat tool's
incoming webhook reads (Slack, Microsoft Teams). Every shape is signed the same way
(``X-SLA-Signature``), so a receiver that checks it can check any of them."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from credits.notify.events import Notice


def _url(link: str) -> str:
    return settings.SITE_URL.rstrip("/") + link


def slack_message(title: str, body: str, link: str) -> dict[str, Any]:
    """A Slack incoming-webhook message (mrkdwn text; ``<url|label>`` is Slack's link)."""
    return {"text": f"*{title}*\n{body}\n<{_url(link)}|Open in the SLA Portal>"}


def teams_message(title: str, body: str, link: str) -> dict[str, Any]:
    """A Microsoft Teams incoming-webhook message (a MessageCard with a link button)."""
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": title[:250],
        "themeColor": "1F4E8C",
        "title": title,
        "text": body,
        "potentialAction": [
            {
                "@type": "OpenUri",
                "name": "Open in the SLA Portal",
                "targets": [{"os": "default", "uri": _url(link)}],
            }
        ],
    }


def webhook_payload(notice: Notice, shape: str) -> dict[str, Any]:
    """What an organisation's webhook receives of an event, in the organisation's shape
    (``Webhook.format``)."""
    if shape == "slack":
        return slack_message(notice.title, notice.body, notice.link)
    if shape == "teams":
        return teams_message(notice.title, notice.body, notice.link)
    return notice.webhook_payload()
