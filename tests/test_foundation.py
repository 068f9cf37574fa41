"""The foundation: configuration, production posture, login, tokens, a real worker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args: str, env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    # DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser tests and would fail the deploy checks.
    unwanted = {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    base = {k: v for k, v in os.environ.items() if k not in unwanted}
    base.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL='nonsense' is not a database URL"),
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"DEBUG": "0"}, "SECRET_KEY must be set"),
        ({"EMAIL_URL": "carrier-pigeon://"}, "EMAIL_URL="),
    ],
)
def test_bad_configuration_stops_startup_with_one_readable_line(env, needle):
    result = run_manage("check", env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]
    assert "Traceback" not in result.stderr


PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "k3y-" + "x7Qp!vR2#mZ9@wL5$nB8^tY4&hJ6*cF1(dG3)sA0_eK" * 2,
    "ALLOWED_HOSTS": "sla.example.com",
}


def test_deploy_checks_pass_under_production_settings():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION_ENV, **db_env()}
    )
    assert result.returncode == 0, result.stdout + result.stderr


def db_env() -> dict[str, str]:
    return {k: os.environ[k] for k in ("DATABASE_URL", "CELERY_BROKER_URL") if k in os.environ}


def test_embedded_default_migrates_loads_the_demo_and_serves_its_pages(tmp_path):
    env = {"SLAPORTAL_VAR_DIR": str(tmp_path)}
    migrate = run_manage("migrate", "--noinput", env=env, timeout=300)
    assert migrate.returncode == 0, migrate.stderr
    assert (tmp_path / "slaportal.sqlite3").exists()
    assert (tmp_path / "broker" / "queue").is_dir()
    # The demo settles its closed periods on SQLite (the per-contract reference path of
    # the samples' aggregates); the open periods' progress comes from an early-warning run.
    demo = run_manage("loaddemo", env=env, timeout=300)
    assert demo.returncode == 0, demo.stderr
    script = (
        "from django.test import Client; "
        "from django.contrib.auth import get_user_model; "
        "from contracts.models import Contract; "
        "from credits.models import Statement; "
        "from credits.settlement import warn_open_periods; "
        "from django.urls import reverse; "
        "warn_open_periods(list(Contract.objects.all())); "
        "print(Client().get('/accounts/login/').status_code); "
        "c = Client(); c.force_login(get_user_model().objects.get(username='customer')); "
        "s = Statement.objects.filter(contract__customer__slug='globex').first(); "
        "d = reverse('dashboard'); "
        "print([c.get(p).status_code for p in (d, '/statements/', f'/statements/{s.pk}/')]); "
        "print(b'attainment so far' in c.get(d).content)"
    )
    served = run_manage("shell", "-c", script, env=env)
    assert served.stdout.strip().splitlines()[-3:] == ["200", "[200, 200, 200]", "True"], (
        served.stdout + served.stderr
    )


def test_anonymous_users_are_sent_to_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_login_lands_on_home_and_logout_ends_the_session(client, personas):
    response = client.post(
        reverse("login"),
        {"username": "customer-member", "password": "correct horse battery staple"},
        follow=True,
    )
    assert response.status_code == 200
    assert b"ACME-1" in response.content
    assert b"ACME-DRAFT" not in response.content  # customers never see drafts
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_staff_reach_the_admin_and_members_do_not(client, personas):
    client.force_login(personas.operator)
    assert client.get("/admin/").status_code == 200
    client.force_login(personas.provider_editor)
    assert client.get("/admin/").status_code == 302


def test_forgotten_password_is_reset_by_email(client, personas, mailoutbox):
    personas.customer_member.email = "casey@example.test"
    personas.customer_member.save()
    client.post(reverse("password_reset"), {"email": "casey@example.test"})
    assert len(mailoutbox) == 1
    link = next(line for line in mailoutbox[0].body.splitlines() if "/reset/" in line)
    path = link.split("testserver", 1)[1]
    form = client.get(path, follow=True)
    assert form.status_code == 200
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a brand new passphrase", "new_password2": "a brand new passphrase"},
    )
    assert done.status_code == 302
    personas.customer_member.refresh_from_db()
    assert personas.customer_member.check_password("a brand new passphrase")


def test_token_exchange_then_api_call(client, personas):
    response = client.post(
        "/api/v1/auth/token/",
        {"username": "provider-editor", "password": "correct horse battery staple"},
        content_type="application/json",
    )
    assert response.status_code == 200
    token = response.json()["token"]
    api = client.get("/api/v1/", HTTP_AUTHORIZATION=f"Token {token}")
    assert api.status_code == 200
    assert api.json()["user"] == "provider-editor"
    assert client.get("/api/v1/").status_code in (401, 403)


def test_token_endpoint_refuses_bad_credentials_with_a_field_message(client, personas):
    response = client.post(
        "/api/v1/auth/token/", {"username": "provider-editor"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "password" in response.json()


def test_repeated_failed_logins_lock_the_token_endpoint_and_the_login_form(client, personas):
    for _ in range(4):
        bad = client.post(
            "/api/v1/auth/token/",
            {"username": "provider-editor", "password": "wrong"},
            content_type="application/json",
        )
        assert bad.status_code == 400
    fifth = client.post(
        "/api/v1/auth/token/",
        {"username": "provider-editor", "password": "wrong"},
        content_type="application/json",
    )
    assert fifth.status_code == 429
    locked = client.post(
        "/api/v1/auth/token/",
        {"username": "provider-editor", "password": "correct horse battery staple"},
        content_type="application/json",
    )
    assert locked.status_code == 429
    assert "try again later" in locked.json()["detail"]
    form = client.post(
        reverse("login"),
        {"username": "provider-editor", "password": "correct horse battery staple"},
    )
    assert form.status_code in (403, 429)


def test_pages_carry_security_headers(client):
    response = client.get(reverse("login"))
    assert response["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
