"""Settings for the SLA portal, read from the environment only (12-factor).

With nothing set, the portal runs on an embedded default: a SQLite file and Celery's
filesystem transport under ``var/``, so that one command brings it up on a laptop. With
``DATABASE_URL=postgres://…`` and ``CELERY_BROKER_URL=redis://…`` it runs the production
way. ``DEBUG`` defaults to on for that laptop run; production sets ``DEBUG=0`` and then
must provide a real ``SECRET_KEY``.
"""

from pathlib import Path

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from slaportal.env import (
    env_bool,
    env_cache,
    env_database,
    env_email,
    env_float,
    env_int,
    env_list,
    env_migrate_database,
    env_networks,
    env_str,
)
from slaportal.observability.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("SLAPORTAL_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)

INSECURE_SECRET_KEY = "insecure-development-key-do-not-use-in-production"
SECRET_KEY = env_str("SECRET_KEY", INSECURE_SECRET_KEY)
if not DEBUG and SECRET_KEY == INSECURE_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set to a long random value when DEBUG=0")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "simple_history",
    "nested_admin",
    "axes",
    "csp",
    "health_check",
    "django_structlog",
    "contracts",
    "people",
    "credits",
    "integrations",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before CommonMiddleware: the browser's Accept-Language (or the
    # language cookie) picks the language of the response.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "slaportal.api.middleware.NoStoreAPIMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: a signed-in person's own language wins over the browser's.
    "people.middleware.ProfileLanguageMiddleware",
    # After authentication, so that each request's log lines carry its user id.
    "django_structlog.middlewares.RequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # After CSPMiddleware: its responses pass here first (inline styles under /admin/).
    "slaportal.middleware.AdminInlineStylesMiddleware",
    "slaportal.middleware.ViewerTimezoneMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Axes must come last so that it sees the outcome of every authentication attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "slaportal.urls"
WSGI_APPLICATION = "slaportal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "contracts.context_processors.membership",
                "credits.context_processors.unread_notifications",
                "people.context_processors.acting_organization",
            ],
        },
    },
]

DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'slaportal.sqlite3'}")}
# A read replica for the reads of pages and lists (slaportal.replica says which reads
# and why); everything else, and all of Celery's work, uses the primary.
if env_str("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = env_database("DATABASE_REPLICA_URL", "")
    # Tests read the primary's test database through the replica, which streams it.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["slaportal.replica.ReplicaRouter"]
    MIDDLEWARE.insert(
        MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1,
        "slaportal.replica.ReplicaReadsMiddleware",
    )
# After a change, a browser reads the primary for this long (the replica's lag, amply).
REPLICA_STICKY_SECONDS = env_int("REPLICA_STICKY_SECONDS", 15)

# One cache for every process (CACHE_URL=redis://host:6379/1), or each process' memory.
CACHES = {"default": env_cache("CACHE_URL")}
# `manage.py migrate` connects as the role that owns the tables (DATABASE_MIGRATE_URL), the
# app as DATABASE_URL's role, which owns none: nothing the app runs can drop or disable the
# triggers that keep issued statements as issued (docs/deploy.md, "Database roles").
DATABASE_MIGRATE = env_migrate_database("DATABASE_MIGRATE_URL", DATABASES["default"])
# SQLite (the laptop default) builds the samples' covering index without its included
# columns, which only PostgreSQL's index-only scans use: nothing to warn about.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling: five failures for one username from one address lock it for an hour.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 1
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_ENABLED = env_bool("AXES_ENABLED", True)

LANGUAGE_CODE = "en-gb"
# English and German throughout: pages, e-mails, PDFs and the rules' sentences. A person's
# own choice (people.Profile.language) wins over the browser's Accept-Language.
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# WhiteNoise warns about a missing root before collectstatic has ever run.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# E-mail: EMAIL_URL (smtp://user:pass@host:587/?tls=True) or the console in development.
_email = env_email("EMAIL_URL")
if _email:
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST = _email["EMAIL_HOST"]
    EMAIL_PORT = _email["EMAIL_PORT"]
    EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
    EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
    EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
    EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
else:
    EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "SLA Portal <sla-portal@localhost>")

# Production posture. Everything here is on whenever DEBUG is off.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = 0 if DEBUG else env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Load balancers and Prometheus probe over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz/", r"^metrics$"]
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# The API takes batches of up to 10,000 items, read whole: 10,000 tickets with their status
# histories are several megabytes of JSON, more than Django's default of 2.5 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = 32 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["slaportal.api.filtering.PortalFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "slaportal.api.schema.PortalAutoSchema",
    "EXCEPTION_HANDLER": "slaportal.api.errors.portal_exception_handler",
    # JSON only: a form or multipart body would be read as no fields at all (an upload
    # names its own parser).
    "DEFAULT_PARSER_CLASSES": ["slaportal.api.parsers.SafeJSONParser"],
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SLA Portal API",
    "DESCRIPTION": "Contracts, service levels, measurements, settlement and service credits.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from our own static files: the CSP allows no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # An organisation's kind and the party that recorded a lapse are one set of choices.
    "ENUM_NAME_OVERRIDES": {
        "PartyEnum": "contracts.models.Organization.Kind",
        # Disputes and claims share their states and decisions: one name each.
        "ReviewStatusEnum": "credits.models.Claim.Status",
        "DecisionEnum": [("accepted", "accepted"), ("rejected", "rejected")],
        # A preference's topic and a webhook's topics: one list (people.topics).
        "TopicEnum": "people.topics.TOPIC_CHOICES",
        # Two fields are named "change": a revision's line against the previous revision,
        # and a change of the versioned terms.
        "LineChangeEnum": ["added", "removed", "changed", "unchanged"],
        "TermsChangeEnum": ["amendment", "correction"],
    },
}

# Celery for a system that moves money: a task is acknowledged only once it has finished,
# a worker that dies hands its task back, and nothing but JSON crosses the wire.
# A host in the URL keeps kombu from warning that it "reverts to localhost".
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://localhost//")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Broadcast (control) messages; kombu would otherwise write them into the cwd.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Longer than the longest retry countdown, or Redis would redeliver a waiting task.
        "visibility_timeout": 4 * 3600,
        # A worker takes from the queues in the order of CELERY_TASK_QUEUES: settlement
        # first, notifications when no settlement waits, early warnings when neither does.
        "queue_order_strategy": "priority",
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 600)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 540)
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Notifications travel on their own queue, so that settling never waits behind e-mail and
# webhooks; the early warnings and progress of open periods on a third, last, so that the
# announcements of issued statements never wait behind them (a warning of an open period
# is less urgent than an issued statement). Every worker consumes all three
# (those declared here, in this order of priority on Redis) unless given -Q.
# Each with its own routing key: left out, all would be bound to the default key and
# every task would be delivered to each queue.
CELERY_TASK_QUEUES = (
    Queue("celery", routing_key="celery"),
    Queue("notify", routing_key="notify"),
    Queue("background", routing_key="background"),
)
CELERY_TASK_ROUTES = {
    **{
        name: {"queue": "notify"}
        for name in (
            "credits.announce_statements",
            "credits.notify",
            "credits.deliver",
            "credits.deliver_batch",
            "credits.retry_due_deliveries",
            "credits.send_digests",
        )
    },
    "credits.warn_open_periods": {"queue": "background"},
}
# How far back the sweep and `manage.py settle` settle by themselves: a period that ended
# longer ago is settled only by an operator's `manage.py settle --backfill --confirm`, so
# that a contract entered long after it started does not issue and announce a statement
# for every period since. A year and a month: a lost quarter is still found.
SETTLEMENT_LOOKBACK_DAYS = env_int("SETTLEMENT_LOOKBACK_DAYS", 400)
if SETTLEMENT_LOOKBACK_DAYS < 1:
    raise ImproperlyConfigured("SETTLEMENT_LOOKBACK_DAYS must be a number of days, 1 or more")
# Settlement reads whole UTC hours of samples from the rollups kept at ingestion (PostgreSQL);
# off, it reads every sample (the reference the rollups are tested against).
SETTLEMENT_READS_ROLLUPS = env_bool("SETTLEMENT_READS_ROLLUPS", True)
# Samples are partitioned by month (PostgreSQL): the contracts.measurement_partitions task
# creates this many months ahead, and detaches the months older than the retention (0:
# keep every month), writing each to MEASUREMENT_ARCHIVE_DIR as gzipped CSV before dropping
# it (empty: the detached table is kept, named ..._archived, for an operator's pg_dump).
MEASUREMENT_PARTITIONS_AHEAD = env_int("MEASUREMENT_PARTITIONS_AHEAD", 3)
MEASUREMENT_RETENTION_MONTHS = env_int("MEASUREMENT_RETENTION_MONTHS", 0)
MEASUREMENT_ARCHIVE_DIR = env_str("MEASUREMENT_ARCHIVE_DIR", "")
if MEASUREMENT_PARTITIONS_AHEAD < 1 or MEASUREMENT_RETENTION_MONTHS < 0:
    raise ImproperlyConfigured(
        "MEASUREMENT_PARTITIONS_AHEAD must be 1 or more and MEASUREMENT_RETENTION_MONTHS 0 "
        "(keep every month) or more"
    )
# Celery's Django fix-up closes the database connection around every task unless told to
# reuse it; a new connection costs more than a sweep task's queries.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)

# Webhooks never reach private, loopback or link-local addresses outside tests.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
# E-mail and webhook deliveries retry with exponential backoff and jitter up to a limit;
# the longest wait stays below the broker's visibility timeout.
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 6)
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 30)
WEBHOOK_RETRY_MAX_SECONDS = env_int("WEBHOOK_RETRY_MAX_SECONDS", 3600)
# Integrations: the key that encrypts Prometheus secrets at rest (a Fernet key, or any
# long text; empty: derived from SECRET_KEY, so replacing SECRET_KEY needs the secrets
# typed again), and whether a Prometheus source may be a private or loopback address
# (a self-hosted portal beside its Prometheus says yes; a shared one keeps it off).
INTEGRATIONS_SECRET_KEY = env_str("INTEGRATIONS_SECRET_KEY", "")
PROMETHEUS_ALLOW_PRIVATE_TARGETS = env_bool("PROMETHEUS_ALLOW_PRIVATE_TARGETS", False)
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")
# How long an invitation link stays valid; resending starts the time again.
INVITATION_EXPIRY_DAYS = env_int("INVITATION_EXPIRY_DAYS", 7)

# Logs: one line per event carrying the request's id (and user) or the Celery task's id
# and the id of the request that enqueued it (django-structlog). JSON in production,
# columns for a person on a laptop.
LOG_FORMAT = env_str("LOG_FORMAT", "console" if DEBUG else "json")
LOGGING = logging_config(LOG_FORMAT, env_str("LOG_LEVEL", "INFO"))
DJANGO_STRUCTLOG_CELERY_ENABLED = True
# Reuse the X-Request-ID a trusted proxy sets, so that its logs and ours share the id.
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = env_bool("TRUST_REQUEST_ID_HEADER", False)

# /healthz: beat's sweep counts as late once its next run is this much overdue (beat
# writes its runs back every 3 minutes).
BEAT_HEALTH_GRACE_SECONDS = env_int("BEAT_HEALTH_GRACE_SECONDS", 300)
# /metrics: readable from these addresses (the connecting peer, not a forwarded header)
# or with "Authorization: Bearer <METRICS_TOKEN>".
METRICS_ALLOWED_NETWORKS = env_networks("METRICS_ALLOWED_IPS", ["127.0.0.1/32", "::1/128"])
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# The book's figures (what is due: the sweep's own query) are read at most this often.
METRICS_BOOK_SECONDS = env_int("METRICS_BOOK_SECONDS", 30)

# Errors to Sentry, only when a DSN is given.
SENTRY_DSN = env_str("SENTRY_DSN", "")
if SENTRY_DSN:
    from slaportal.observability.errors import init_sentry

    init_sentry(
        SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT", ""),
        release=env_str("SENTRY_RELEASE", ""),
        traces_sample_rate=env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0),
    )
