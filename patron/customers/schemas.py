"""Request and response shapes of the customers, companies and attributes API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from ninja import Schema
from pydantic import ConfigDict, Field, JsonValue, StrictInt, StrictStr

from patron.core.api import MAXIMUM_ROW_ID, PageQuery, TimestampText
from patron.customers.models import (
    AttributeType,
    CompanyContact,
    Customer,
    IdentityKind,
    LifecycleStage,
)
from patron.customers.services.attributes import MAXIMUM_CHOICE_LENGTH, MAXIMUM_CHOICES
from patron.customers.services.notes import MAXIMUM_NOTE_LENGTH
from patron.customers.services.tags import MAXIMUM_TAG_LENGTH, MAXIMUM_TAGS_PER_REQUEST

# Custom attributes per record: generous for a profile, small enough to keep a row readable.
MAXIMUM_ATTRIBUTES = 100

TagName = Annotated[StrictStr, Field(max_length=MAXIMUM_TAG_LENGTH)]


class ProfileFields(Schema):
    """Profile fields a create or update may send; null clears one (the stage cannot be cleared)."""

    model_config = ConfigDict(extra="forbid")

    first_name: StrictStr | None = Field(None, max_length=200)
    last_name: StrictStr | None = Field(None, max_length=200)
    email: StrictStr | None = Field(None, max_length=320)
    phone: StrictStr | None = Field(
        None, max_length=40, description="E.164 (+44 20 7946 0958) or national with country set"
    )
    locale: StrictStr | None = Field(None, max_length=35, description="e.g. en-GB")
    timezone: StrictStr | None = Field(None, max_length=64, description="IANA name")
    country: StrictStr | None = Field(None, max_length=2, description="ISO 3166-1 alpha-2")
    city: StrictStr | None = Field(None, max_length=200)
    lifecycle_stage: LifecycleStage | None = None
    attributes: dict[str, JsonValue] = Field(
        default_factory=dict,
        max_length=MAXIMUM_ATTRIBUTES,
        description="Values of declared attributes (see /attributes); null removes one",
    )


class CustomerCreateIn(ProfileFields):
    model_config = ConfigDict(extra="forbid")

    external_id: StrictStr | None = Field(
        None, min_length=1, max_length=255, description="Your system's id for this person"
    )
    tags: list[TagName] = Field(default_factory=list, max_length=MAXIMUM_TAGS_PER_REQUEST)


class CustomerUpdateIn(ProfileFields):
    model_config = ConfigDict(extra="forbid")


class CustomerListQuery(PageQuery):
    model_config = ConfigDict(extra="forbid")

    q: StrictStr | None = Field(
        None,
        max_length=200,
        description="Prefix of first or last name, 'first last', email, phone or external id",
    )
    email: StrictStr | None = Field(None, max_length=320)
    lifecycle_stage: LifecycleStage | None = None
    country: StrictStr | None = Field(None, max_length=2)
    tag: StrictStr | None = Field(None, max_length=MAXIMUM_TAG_LENGTH)
    company_id: int | None = Field(None, ge=1, le=MAXIMUM_ROW_ID)
    updated_since: TimestampText | None = None


class CustomerOut(Schema):
    id: int
    display_name: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    locale: str
    timezone: str
    country: str
    city: str
    lifecycle_stage: LifecycleStage
    is_identified: bool
    attributes: dict[str, JsonValue]
    external_ids: list[str]
    tags: list[str]
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    created_at: datetime
    updated_at: datetime

    # Both read what customers_for_display prefetched, so a page costs the same few queries.
    @staticmethod
    def resolve_external_ids(customer: Customer) -> list[str]:
        return [identity.value for identity in customer.external_identities]  # type: ignore[attr-defined]

    @staticmethod
    def resolve_tags(customer: Customer) -> list[str]:
        return sorted((tag.name for tag in customer.tag_list), key=str.lower)  # type: ignore[attr-defined]


class CustomerPage(Schema):
    items: list[CustomerOut]
    next_cursor: str | None


class IdentityIn(Schema):
    model_config = ConfigDict(extra="forbid")

    kind: IdentityKind
    value: StrictStr = Field(max_length=320)


class IdentityOut(Schema):
    id: int
    kind: IdentityKind
    value: str
    last_seen_at: datetime | None
    created_at: datetime


class IdentityPage(Schema):
    items: list[IdentityOut]
    next_cursor: str | None


class TagsIn(Schema):
    model_config = ConfigDict(extra="forbid")

    tags: list[TagName] = Field(min_length=1, max_length=MAXIMUM_TAGS_PER_REQUEST)


class NoteIn(Schema):
    model_config = ConfigDict(extra="forbid")

    body: StrictStr = Field(min_length=1, max_length=MAXIMUM_NOTE_LENGTH)


class NoteOut(Schema):
    id: int
    body: str
    author_kind: str
    author_label: str
    created_at: datetime


class NotePage(Schema):
    items: list[NoteOut]
    next_cursor: str | None


class AttributeDefinitionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    key: StrictStr = Field(max_length=64, description="1 to 64 lower-case letters, digits, _ or -")
    label: StrictStr = Field(max_length=200)
    type: AttributeType
    choices: list[Annotated[StrictStr, Field(max_length=MAXIMUM_CHOICE_LENGTH)]] = Field(
        default_factory=list, max_length=MAXIMUM_CHOICES, description="Only for type choice"
    )


class AttributeDefinitionOut(Schema):
    id: int
    key: str
    label: str
    type: AttributeType
    choices: list[str]
    created_at: datetime


class AttributeDefinitionPage(Schema):
    items: list[AttributeDefinitionOut]
    next_cursor: str | None


class CompanyFields(Schema):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr | None = Field(None, max_length=300)
    domain: StrictStr | None = Field(None, max_length=255, description="e.g. example.com")
    industry: StrictStr | None = Field(None, max_length=200)
    employee_count: StrictInt | None = Field(None, ge=0, le=10_000_000)
    plan: StrictStr | None = Field(None, max_length=120)
    website: StrictStr | None = Field(None, max_length=2048)
    attributes: dict[str, JsonValue] = Field(
        default_factory=dict,
        max_length=MAXIMUM_ATTRIBUTES,
        description="Free-form values, merged into the stored ones; null removes one",
    )


class CompanyCreateIn(CompanyFields):
    model_config = ConfigDict(extra="forbid")

    external_id: StrictStr | None = Field(
        None, min_length=1, max_length=255, description="Your system's id (Segment groupId)"
    )


class CompanyUpdateIn(CompanyFields):
    model_config = ConfigDict(extra="forbid")


class CompanyListQuery(PageQuery):
    model_config = ConfigDict(extra="forbid")

    q: StrictStr | None = Field(None, max_length=300, description="Prefix of the name")


class CompanyOut(Schema):
    id: int
    name: str
    external_id: str | None
    domain: str | None
    industry: str
    employee_count: int | None
    plan: str
    website: str
    attributes: dict[str, JsonValue]
    created_at: datetime
    updated_at: datetime


class CompanyPage(Schema):
    items: list[CompanyOut]
    next_cursor: str | None


class ContactIn(Schema):
    model_config = ConfigDict(extra="forbid")

    customer_id: StrictInt = Field(ge=1, le=MAXIMUM_ROW_ID)
    title: StrictStr = Field("", max_length=200)


class ContactOut(Schema):
    customer_id: int
    display_name: str
    email: str | None
    title: str
    created_at: datetime

    @staticmethod
    def resolve_display_name(contact: CompanyContact) -> str:
        return contact.customer.display_name

    @staticmethod
    def resolve_email(contact: CompanyContact) -> str | None:
        return contact.customer.email


class ContactPage(Schema):
    items: list[ContactOut]
    next_cursor: str | None
