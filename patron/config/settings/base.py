"""Complete settings for every environment; production.py only hardens, test.py only speeds up."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import dj_database_url

from patron.config import env

ENVIRONMENT = env.read()

BASE_DIR = env.BASE_DIRECTORY
DATA_DIR = ENVIRONMENT.data_directory
# The embedded database and queue live here; creating it lets a fresh clone run with no setup.
DATA_DIR.mkdir(parents=True, exist_ok=True)

# A development secret is generated per data directory so that `make demo` needs no setup;
# production.py refuses to start without PATRON_SECRET_KEY.
SECRET_KEY = ENVIRONMENT.secret_key or "patron-development-only-secret-key-change-me-0123456789"
DEBUG = ENVIRONMENT.debug
ALLOWED_HOSTS = ENVIRONMENT.allowed_hosts or ["127.0.0.1", "localhost", "[::1]", "testserver"]
CSRF_TRUSTED_ORIGINS = ENVIRONMENT.csrf_trusted_origins

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Listed for its templates and static files: /api/docs serves the bundled Swagger UI, no CDN.
    "ninja",
    "django_htmx",
    "template_partials",
    "huey.contrib.djhuey",
    "patron.core",
    "patron.accounts",
    "patron.catalog",
    "patron.customers",
    "patron.orders",
    "patron.events",
    "patron.privacy",
    "patron.insights",
    "patron.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "patron.config.urls"
WSGI_APPLICATION = "patron.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "patron.web.context.workspace",
            ],
        },
    }
]


def _database(url: str) -> dict[str, Any]:
    config: dict[str, Any] = dict(
        dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    )
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Kept open between requests: the last connection to close checkpoints the whole WAL
        # into the database file, which cost ~5 ms of every ingestion batch when closed each time.
        config["CONN_MAX_AGE"] = None
        config["OPTIONS"] = {
            # IMMEDIATE takes the write lock at BEGIN, so two writers queue on the busy timeout
            # instead of failing with "database is locked" when a reader upgrades to a writer.
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                "PRAGMA foreign_keys=ON;"
                "PRAGMA temp_store=MEMORY;"
                "PRAGMA cache_size=-65536;"
            ),
        }
    return config


DATABASES = {"default": _database(ENVIRONMENT.database_url)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = DATA_DIR / "media"

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

# A working day and a bit: staff sign in each morning; a forgotten session expires overnight.
SESSION_COOKIE_AGE = 12 * 60 * 60
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Reset and invitation links share Django's token; a day lets an invitee open it tomorrow
# while a leaked link goes stale soon. The token also dies once the password is set.
PASSWORD_RESET_TIMEOUT = 24 * 60 * 60

# Ingestion bodies are read by the /v1 handlers themselves with their own 5 MiB caps.
DATA_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024

# Background work: the queue only carries wake-ups; durable state lives in the database.
if ENVIRONMENT.redis_url:
    HUEY: dict[str, Any] = {
        "huey_class": "huey.RedisHuey",
        "name": "patron",
        "url": ENVIRONMENT.redis_url,
        "immediate": False,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "patron.core.queue.SqliteQueue",
        "name": "patron",
        "filename": str(DATA_DIR / "queue.sqlite3"),
        "immediate": False,
        # The SQLite queue is polled: an idle worker looks again at most a second later (huey's
        # default backs off to 10 s), so a customer's new order is rescored within a second or
        # two. A poll is one indexed read of a small file.
        "consumer": {"workers": 2, "worker_type": "thread", "max_delay": 1.0},
    }


def _email(url: str) -> dict[str, Any]:
    if not url:
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps", "smtp+tls"}:
        raise env.ConfigurationError(
            "PATRON_EMAIL_URL must start with smtp://, smtps:// or smtp+tls://"
        )
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname or "localhost",
        "EMAIL_PORT": parts.port or (465 if parts.scheme == "smtps" else 25),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_SSL": parts.scheme == "smtps",
        "EMAIL_USE_TLS": parts.scheme == "smtp+tls",
    }


globals().update(_email(ENVIRONMENT.email_url))
DEFAULT_FROM_EMAIL = ENVIRONMENT.default_from_email

PATRON_INGEST_RATE_LIMIT_PER_MINUTE = ENVIRONMENT.ingest_rate_limit_per_minute

# The ingestion rate limit counts in this cache: per process in local memory by default,
# shared by every web process through Redis when PATRON_REDIS_URL is set.
if ENVIRONMENT.redis_url:
    CACHES: dict[str, Any] = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": ENVIRONMENT.redis_url,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "patron.core.logging.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": ENVIRONMENT.log_level},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Giving huey's logger our handler stops run_huey from adding a second one.
        "huey": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
