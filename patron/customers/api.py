"""REST routers for customers, their identities, tags and notes, companies and attributes.

Authentication and scopes are attached where config/api.py mounts these routers.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Status

from patron.core.api import PageQuery, RowId, request_actor
from patron.core.errors import ValidationFailed
from patron.core.pagination import Page, keyset_page
from patron.customers import selectors
from patron.customers.models import (
    AttributeDefinition,
    Company,
    CompanyContact,
    Customer,
    Identity,
    Note,
)
from patron.customers.schemas import (
    AttributeDefinitionIn,
    AttributeDefinitionOut,
    AttributeDefinitionPage,
    CompanyCreateIn,
    CompanyListQuery,
    CompanyOut,
    CompanyPage,
    CompanyUpdateIn,
    ContactIn,
    ContactOut,
    ContactPage,
    CustomerCreateIn,
    CustomerListQuery,
    CustomerOut,
    CustomerPage,
    CustomerUpdateIn,
    IdentityIn,
    IdentityOut,
    IdentityPage,
    NoteIn,
    NoteOut,
    NotePage,
    TagsIn,
)
from patron.customers.services import attributes as attribute_services
from patron.customers.services import companies as company_services
from patron.customers.services import notes as note_services
from patron.customers.services import profile as profile_services
from patron.customers.services import tags as tag_services

customers_router = Router(tags=["customers"])
companies_router = Router(tags=["companies"])
attributes_router = Router(tags=["attributes"])

# Body keys that are not profile fields; the services take them as their own arguments.
_PROFILE_EXTRAS = {"attributes", "external_id", "tags"}
_COMPANY_EXTRAS = {"attributes", "external_id"}


@customers_router.post("", response={201: CustomerOut})
def customer_create(request: HttpRequest, payload: CustomerCreateIn) -> Status[Customer]:
    """Create a customer. An email, phone or external id that another customer has is a
    conflict (409)."""
    customer = profile_services.customer_create(
        actor=request_actor(request),
        fields=payload.model_dump(exclude_unset=True, exclude=_PROFILE_EXTRAS),
        attributes=payload.attributes,
        external_id=payload.external_id,
        tags=payload.tags,
    )
    return Status(201, selectors.customer_get_for_display(customer.pk))


@customers_router.get("", response=CustomerPage)
def customer_list(request: HttpRequest, query: Query[CustomerListQuery]) -> Page[Customer]:
    """Customers, newest first, narrowed by every filter given."""
    filters = selectors.CustomerFilters(**query.model_dump(exclude={"cursor", "limit"}))
    return keyset_page(
        selectors.customer_list(filters=filters), cursor=query.cursor, limit=query.limit
    )


@customers_router.get("/{customer_id}", response=CustomerOut)
def customer_read(request: HttpRequest, customer_id: RowId) -> Customer:
    """One customer with tags and external ids."""
    return selectors.customer_get_for_display(customer_id)


@customers_router.patch("/{customer_id}", response=CustomerOut)
def customer_update(
    request: HttpRequest, customer_id: RowId, payload: CustomerUpdateIn
) -> Customer:
    """Change only the fields sent; null clears a field; attributes are merged and an
    attribute sent as null is removed."""
    profile_services.customer_update(
        customer=selectors.customer_get(customer_id),
        actor=request_actor(request),
        fields=payload.model_dump(exclude_unset=True, exclude=_PROFILE_EXTRAS),
        attributes=payload.attributes,
    )
    return selectors.customer_get_for_display(customer_id)


@customers_router.get("/{customer_id}/identities", response=IdentityPage)
def identity_list(
    request: HttpRequest, customer_id: RowId, query: Query[PageQuery]
) -> Page[Identity]:
    """What identifies this customer: emails, phones, user, anonymous and external ids."""
    selectors.customer_get(customer_id)
    return keyset_page(
        selectors.identity_list(customer_id=customer_id),
        cursor=query.cursor,
        limit=query.limit,
        newest_first=False,
    )


@customers_router.post("/{customer_id}/identities", response={200: IdentityOut, 201: IdentityOut})
def identity_add(request: HttpRequest, customer_id: RowId, payload: IdentityIn) -> Status[Identity]:
    """Attach an identity (emails and phones are normalised). 201 when new, 200 when the
    customer already had it, 409 when it belongs to someone else."""
    identity, created = profile_services.identity_add(
        customer=selectors.customer_get(customer_id),
        kind=payload.kind,
        value=payload.value,
        actor=request_actor(request),
    )
    return Status(201 if created else 200, identity)


@customers_router.delete("/{customer_id}/identities/{identity_id}", response={204: None})
def identity_remove(request: HttpRequest, customer_id: RowId, identity_id: RowId) -> Status[None]:
    """Detach an identity. Refused (409) for the customer's last identity and for the email
    or phone the profile still shows."""
    profile_services.identity_remove(
        customer=selectors.customer_get(customer_id),
        identity_id=identity_id,
        actor=request_actor(request),
    )
    return Status(204, None)


@customers_router.post("/{customer_id}/tags", response=CustomerOut)
def customer_tags_add(request: HttpRequest, customer_id: RowId, payload: TagsIn) -> Customer:
    """Add tags (created on first use, matched ignoring case); tags already there stay."""
    tag_services.customer_tags_add(
        customer=selectors.customer_get(customer_id),
        names=payload.tags,
        actor=request_actor(request),
    )
    return selectors.customer_get_for_display(customer_id)


@customers_router.delete("/{customer_id}/tags/{tag}", response={204: None})
def customer_tag_remove(request: HttpRequest, customer_id: RowId, tag: str) -> Status[None]:
    """Take one tag off the customer (matched ignoring case)."""
    tag_services.customer_tag_remove(
        customer=selectors.customer_get(customer_id), name=tag, actor=request_actor(request)
    )
    return Status(204, None)


@customers_router.get("/{customer_id}/notes", response=NotePage)
def note_list(request: HttpRequest, customer_id: RowId, query: Query[PageQuery]) -> Page[Note]:
    """Notes on this customer, newest first."""
    selectors.customer_get(customer_id)
    return keyset_page(
        selectors.note_list(customer_id=customer_id), cursor=query.cursor, limit=query.limit
    )


@customers_router.post("/{customer_id}/notes", response={201: NoteOut})
def note_add(request: HttpRequest, customer_id: RowId, payload: NoteIn) -> Status[Note]:
    """Leave a note on the customer; the API key is recorded as its author."""
    note = note_services.note_add(
        customer=selectors.customer_get(customer_id),
        body=payload.body,
        actor=request_actor(request),
    )
    return Status(201, note)


@attributes_router.get("", response=AttributeDefinitionPage)
def attribute_definition_list(
    request: HttpRequest, query: Query[PageQuery]
) -> Page[AttributeDefinition]:
    """Declared custom attributes, oldest first."""
    return keyset_page(
        selectors.attribute_definition_list(),
        cursor=query.cursor,
        limit=query.limit,
        newest_first=False,
    )


@attributes_router.post("", response={201: AttributeDefinitionOut})
def attribute_define(
    request: HttpRequest, payload: AttributeDefinitionIn
) -> Status[AttributeDefinition]:
    """Declare a custom attribute before customers use it; its key is permanent (409 when
    taken)."""
    definition = attribute_services.attribute_define(
        key=payload.key,
        label=payload.label,
        type_=payload.type,
        choices=payload.choices,
        actor=request_actor(request),
    )
    return Status(201, definition)


@companies_router.post("", response={200: CompanyOut, 201: CompanyOut})
def company_upsert(request: HttpRequest, payload: CompanyCreateIn) -> Status[Company]:
    """Create a company, or update the one with this external id or domain: 201 when
    created, 200 when an existing company was found."""
    company, created = company_services.company_upsert(
        actor=request_actor(request),
        fields=payload.model_dump(exclude_unset=True, exclude=_COMPANY_EXTRAS),
        external_id=payload.external_id,
        attributes=payload.attributes,
    )
    return Status(201 if created else 200, company)


@companies_router.get("", response=CompanyPage)
def company_list(request: HttpRequest, query: Query[CompanyListQuery]) -> Page[Company]:
    """Companies, newest first, optionally narrowed by a prefix of their name."""
    return keyset_page(selectors.company_list(q=query.q), cursor=query.cursor, limit=query.limit)


@companies_router.get("/{company_id}", response=CompanyOut)
def company_read(request: HttpRequest, company_id: RowId) -> Company:
    """One company."""
    return selectors.company_get(company_id)


@companies_router.patch("/{company_id}", response=CompanyOut)
def company_update(request: HttpRequest, company_id: RowId, payload: CompanyUpdateIn) -> Company:
    """Change only the fields sent; attributes are merged and one sent as null is removed."""
    return company_services.company_update(
        company=selectors.company_get(company_id),
        actor=request_actor(request),
        fields=payload.model_dump(exclude_unset=True, exclude=_COMPANY_EXTRAS),
        attributes=payload.attributes,
    )


@companies_router.get("/{company_id}/contacts", response=ContactPage)
def company_contact_list(
    request: HttpRequest, company_id: RowId, query: Query[PageQuery]
) -> Page[CompanyContact]:
    """The customers who are contacts of this company, in the order they were added."""
    selectors.company_get(company_id)
    return keyset_page(
        selectors.company_contact_list(company_id=company_id),
        cursor=query.cursor,
        limit=query.limit,
        newest_first=False,
    )


@companies_router.post("/{company_id}/contacts", response={200: ContactOut, 201: ContactOut})
def company_contact_add(
    request: HttpRequest, company_id: RowId, payload: ContactIn
) -> Status[CompanyContact]:
    """Make a customer a contact of the company: 201 when linked now, 200 when already."""
    company = selectors.company_get(company_id)
    customer = selectors.customer_find(payload.customer_id)
    if customer is None:
        raise ValidationFailed(f"no customer with id {payload.customer_id}", field="customer_id")
    created = company_services.company_contact_add(
        company=company, customer=customer, actor=request_actor(request), title=payload.title
    )
    return Status(
        201 if created else 200,
        selectors.company_contact_get(company_id=company.pk, customer_id=payload.customer_id),
    )
