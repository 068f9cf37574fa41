"""Browser pages given input that used to break them: a form error or a plain page."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_an_overlong_username_on_the_login_form_is_a_form_error(client, personas):
    response = client.post(reverse("login"), {"username": "u" * 256, "password": "x"})
    assert response.status_code == 200
    assert b"at most 150 characters" in response.content
    assert response.context["form"].errors["username"] == [
        "Ensure this value has at most 150 characters (it has 256)."
    ]


@pytest.mark.parametrize("q", ["\x00", "acme\x00"])
def test_a_nul_byte_in_the_contract_search_is_a_400_saying_why(client, personas, q):
    client.force_login(personas.provider_editor)
    response = client.get(reverse("contract-list"), {"q": q})
    assert response.status_code == 400
    assert b"The search cannot contain a NUL character." in response.content
    assert response.context["q"] == ""  # not echoed back into the box
    assert "q=" not in response.context["query"]  # nor into the pages' links


@pytest.mark.parametrize(
    "path",
    [
        "/admin/contracts/organization/",
        "/admin/contracts/membership/",
        "/admin/contracts/contract/",
        "/admin/auth/user/",
    ],
)
def test_a_nul_byte_in_an_admin_search_is_not_a_500(client, personas, path):
    client.force_login(personas.operator)
    response = client.get(path, {"q": "a\x00"})
    assert response.status_code in (200, 400)


@pytest.mark.parametrize(
    "path, name",
    [
        ("/api/v1/organizations/", "slug"),
        ("/api/v1/contracts/", "reference"),
        ("/api/v1/service-levels/", "key"),
        ("/api/v1/measurements/", "key"),
    ],
)
def test_a_nul_byte_in_an_api_text_filter_is_a_400(client, personas, path, name):
    client.force_login(personas.provider_editor)
    response = client.get(path, {name: "a\x00"})
    assert response.status_code == 400
    assert name in response.json()


@pytest.mark.parametrize("page", ["99999999999999999999", "9223372036854775808", str(10**40)])
def test_a_page_beyond_bigint_on_the_statements_page_is_not_a_500(client, personas, page):
    client.force_login(personas.customer_member)
    response = client.get(reverse("statement-list"), {"page": page})
    assert response.status_code in (200, 404)


def test_an_overlong_username_on_the_admin_login_is_a_form_error(client, personas):
    response = client.post(
        reverse("admin:login"), {"username": "u" * 256, "password": "x", "next": "/admin/"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["username"] == [
        "Ensure this value has at most 150 characters (it has 256)."
    ]
