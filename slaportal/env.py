"""Typed readers for the environment: every setting comes from here and fails loudly.

A bad value raises ImproperlyConfigured with one line that names the variable, so that
start-up stops with a readable message instead of running half-configured.
"""

from __future__ import annotations

import os
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any

import dj_database_url
import dj_email_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_database(name: str, default: str) -> dict[str, Any]:
    raw = os.environ.get(name) or default
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a database URL (expected postgres://user@host:port/db "
            "or sqlite:///path)"
        )
    try:
        config = dj_database_url.parse(raw, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
    except Exception as exc:  # dj_database_url raises assorted types for malformed URLs
        raise ImproperlyConfigured(f"{name}={raw!r} cannot be parsed: {exc}") from None
    if config["ENGINE"].endswith("sqlite3"):
        # SQLite keeps no persistent connections worth having and locks on long ones.
        config["CONN_MAX_AGE"] = 0
        config.setdefault("OPTIONS", {})["timeout"] = 20
    return config


def env_migrate_database(name: str, app: dict[str, Any]) -> dict[str, Any] | None:
    """The connection ``manage.py migrate`` uses: the role that owns the tables, on the
    database the app (``app``) uses as a role that owns none. None when not set: then one
    role does both, as on a laptop."""
    if not os.environ.get(name):
        return None
    config = env_database(name, "")
    if config["ENGINE"] != app["ENGINE"] or config["NAME"] != app["NAME"]:
        raise ImproperlyConfigured(
            f"{name} must name the database of DATABASE_URL ({app['NAME']!r}) as its owner role"
        )
    if config.get("USER") == app.get("USER"):
        raise ImproperlyConfigured(
            f"{name} connects as {config.get('USER')!r}, like DATABASE_URL: the app's role must "
            "be another one, which owns no table"
        )
    return config


def env_email(name: str) -> dict[str, Any]:
    raw = os.environ.get(name)
    if not raw:
        return {}
    try:
        config = dj_email_url.parse(raw)
    except Exception as exc:  # dj_email_url raises assorted types for malformed URLs
        raise ImproperlyConfigured(f"{name}={raw!r} cannot be parsed: {exc}") from None
    if "EMAIL_BACKEND" not in config:
        raise ImproperlyConfigured(f"{name}={raw!r} has an unknown scheme (use smtp://, console:)")
    return config


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None


def env_networks(name: str, default: list[str]) -> list[IPv4Network | IPv6Network]:
    """Comma-separated addresses or networks (``10.0.0.0/8``, ``::1``)."""
    networks = []
    for item in env_list(name, default):
        try:
            networks.append(ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is not an IP address or network (e.g. 10.0.0.0/8)"
            ) from None
    return networks


def env_cache(name: str) -> dict[str, Any]:
    """A Redis cache shared by every process, or unset, each process' own memory."""
    raw = os.environ.get(name)
    if not raw:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"{name}={raw!r} is not a Redis URL (redis://host:6379/1)")
    return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": raw}
