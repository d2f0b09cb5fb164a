"""Who made a write: a staff user, an API key, an ingestion source or a system job."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class ActorKind(models.TextChoices):
    STAFF = "staff", "Staff user"
    API_KEY = "api_key", "API key"
    SOURCE = "source", "Source"
    SYSTEM = "system", "System job"


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    identifier: str
    label: str

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls(kind=ActorKind.SYSTEM, identifier=job, label=job)

    def __str__(self) -> str:
        return f"{self.kind.label}: {self.label}"
