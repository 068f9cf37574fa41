"""The upload page's own example is accepted, and the page lists the keys that apply with
the column their samples fill (regression: its example named a key no objective had)."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contracts.models import Measurement
from tests.credits.settlement_book import contract, objective, service

pytestmark = pytest.mark.django_db


def test_the_example_on_the_page_is_accepted_and_the_keys_are_listed(personas, client):
    book = contract(reference="UP-1", provider=personas.provider, customer=personas.customer)
    cs = service(book, name="Reporting")
    objective(book, key="on-time", indicator="ratio", target="95")
    objective(book, key="failed-reports", indicator="count", target="3", comparator="lte")
    objective(book, key="availability", indicator="uptime", target="99.9")
    client.force_login(personas.provider_editor)
    url = reverse("measurement-upload", args=[book.pk])
    html = client.get(url).content.decode()

    keys = re.findall(
        r"<tr><td><code>[^<]+</code>.*?<td><code>([a-z-]+)</code></td>.*?</td><td>(.*?)</td></tr>",
        html,
    )
    columns = {key: re.sub(r"<[^>]+>", "", cell) for key, cell in keys}
    assert columns == {
        "availability": "nothing: incidents, not samples",
        "failed-reports": "value",
        "on-time": "ok",
    }
    example = unescape(re.search(r'<pre class="example"[^>]*>(.*?)</pre>', html, re.S).group(1))
    assert "on-time" in example and "failed-reports" in example

    response = client.post(
        url, {"file": SimpleUploadedFile("example.csv", example.encode(), "text/csv")}
    )
    assert response.status_code == 302, response.content.decode()
    assert Measurement.objects.filter(contract_service=cs).count() == 2
