"""Speed overrides for the test suite only; everything else is base.py."""

from __future__ import annotations

from patron.config.settings.base import *  # noqa: F403
from patron.config.settings.base import HUEY

# Hashing is the slowest part of creating users and keys in tests; security is tested elsewhere.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
HUEY = {**HUEY, "immediate": True}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# A real SQLite file, not the in-memory default, so WAL and locking behave as users see them;
# pytest-xdist gives each worker its own copy by suffixing the name.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}  # noqa: F405

# Serve static files straight from the apps: tests never run collectstatic.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
