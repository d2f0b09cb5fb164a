"""Fixtures every app's tests share: actors, sources with write keys, API keys."""

from __future__ import annotations

import pytest

from patron.accounts.services.keys import CreatedSecret, api_key_create, source_create
from patron.core.actors import Actor


@pytest.fixture
def system_actor() -> Actor:
    return Actor.system("tests")


@pytest.fixture
def web_source(db: None, system_actor: Actor) -> CreatedSecret:
    """A source named 'Web shop' with its plaintext write key."""
    return source_create(name="Web shop", actor=system_actor)


@pytest.fixture
def make_api_key(db: None, system_actor: Actor):  # type: ignore[no-untyped-def]
    def make(*scopes: str, name: str = "test key") -> CreatedSecret:
        return api_key_create(name=name, scopes=list(scopes), actor=system_actor)

    return make
