"""Production hardening on top of base.py; refuses to start without a secret and allowed hosts."""

from __future__ import annotations

from patron.config.env import ConfigurationError
from patron.config.settings.base import *  # noqa: F403
from patron.config.settings.base import ENVIRONMENT

if len(ENVIRONMENT.secret_key) < 50:
    raise ConfigurationError(
        "PATRON_SECRET_KEY must be set to a random string of at least 50 characters in production"
    )
if not ENVIRONMENT.allowed_hosts:
    raise ConfigurationError("PATRON_ALLOWED_HOSTS must list the host names Patron is served on")

SECRET_KEY = ENVIRONMENT.secret_key
ALLOWED_HOSTS = ENVIRONMENT.allowed_hosts
DEBUG = False

SECURE_SSL_REDIRECT = True
# The /v1 ingestion endpoints must never redirect (Segment clients treat a redirect as failure);
# TLS is terminated by the proxy in front, which also redirects plain HTTP there.
SECURE_REDIRECT_EXEMPT = [r"^v1/"]
if ENVIRONMENT.is_behind_https_proxy:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
