"""Building blocks every app's REST router shares: id and page parameters, the caller."""

from __future__ import annotations

from typing import Annotated

from django.http import HttpRequest
from ninja import Path, Schema
from pydantic import ConfigDict, Field, StrictStr

from patron.core.actors import Actor
from patron.core.pagination import DEFAULT_PAGE_SIZE, MAXIMUM_PAGE_SIZE

# The largest value a BigAutoField holds; a larger id in a path cannot name a row and would
# overflow the database driver instead of answering 404.
MAXIMUM_ROW_ID = 2**63 - 1

RowId = Annotated[int, Path(ge=1, le=MAXIMUM_ROW_ID)]

# Timestamps arrive as ISO 8601 text and are parsed by the services (naive means UTC), so a
# number is rejected rather than read as seconds since 1970.
TimestampText = Annotated[
    StrictStr, Field(max_length=64, json_schema_extra={"format": "date-time"})
]


class PageQuery(Schema):
    """Cursor pagination parameters every list endpoint takes."""

    model_config = ConfigDict(extra="forbid")

    cursor: StrictStr | None = Field(
        None, max_length=200, description="next_cursor from the previous page; omit for the first"
    )
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAXIMUM_PAGE_SIZE)


def request_actor(request: HttpRequest) -> Actor:
    """Who is calling: the actor the router's authentication put on the request."""
    actor = getattr(request, "auth", None)
    if not isinstance(actor, Actor):
        raise TypeError("this endpoint is mounted without authentication")
    return actor
