"""The only reader of os.environ: every PATRON_* variable is parsed and documented here."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BASE_DIRECTORY = Path(__file__).resolve().parent.parent.parent


class ConfigurationError(RuntimeError):
    """A required or malformed environment variable; the message names it."""


def _text(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _flag(name: str, default: bool) -> bool:
    raw = _text(name)
    if not raw:
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name} must be true or false, not {raw!r}")


def _integer(name: str, default: int) -> int:
    raw = _text(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as error:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}") from error


def _list(name: str) -> list[str]:
    return [part.strip() for part in _text(name).split(",") if part.strip()]


@dataclass(frozen=True)
class Environment:
    environment: str
    database_url: str
    secret_key: str
    allowed_hosts: list[str]
    csrf_trusted_origins: list[str]
    redis_url: str
    data_directory: Path
    debug: bool
    email_url: str
    default_from_email: str
    log_level: str
    ingest_rate_limit_per_minute: int
    is_behind_https_proxy: bool

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def settings_module(self) -> str:
        return (
            "patron.config.settings.production"
            if self.is_production
            else "patron.config.settings.base"
        )


def read() -> Environment:
    environment = _text("PATRON_ENV", "development").lower()
    if environment not in {"development", "production", "test"}:
        raise ConfigurationError(
            f"PATRON_ENV must be development, production or test, not {environment!r}"
        )
    data_directory = Path(_text("PATRON_DATA_DIR") or BASE_DIRECTORY / "var")
    return Environment(
        environment=environment,
        database_url=_text("PATRON_DATABASE_URL")
        or f"sqlite:///{data_directory / 'patron.sqlite3'}",
        secret_key=_text("PATRON_SECRET_KEY"),
        allowed_hosts=_list("PATRON_ALLOWED_HOSTS"),
        csrf_trusted_origins=_list("PATRON_CSRF_TRUSTED_ORIGINS"),
        redis_url=_text("PATRON_REDIS_URL"),
        data_directory=data_directory,
        debug=_flag("PATRON_DEBUG", default=False),
        email_url=_text("PATRON_EMAIL_URL"),
        default_from_email=_text("PATRON_DEFAULT_FROM_EMAIL", "Patron <patron@localhost>"),
        log_level=_text("PATRON_LOG_LEVEL", "INFO").upper(),
        ingest_rate_limit_per_minute=_integer("PATRON_INGEST_RATE_LIMIT_PER_MINUTE", 6000),
        is_behind_https_proxy=_flag("PATRON_BEHIND_HTTPS_PROXY", default=True),
    )


def settings_module() -> str:
    """The settings module PATRON_ENV selects, for manage.py, WSGI and the CLI."""
    return read().settings_module
