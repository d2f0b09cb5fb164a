"""Customers and what identifies, groups and describes them."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from patron.core.actors import ActorKind
from patron.core.models import TimestampedModel


class LifecycleStage(models.TextChoices):
    LEAD = "lead", "Lead"
    NEW = "new", "New"
    ACTIVE = "active", "Active"
    AT_RISK = "at_risk", "At risk"
    LAPSED = "lapsed", "Lapsed"
    REACTIVATED = "reactivated", "Reactivated"


class Company(TimestampedModel):
    """A B2B account; its people are customers linked through CompanyContact."""

    name = models.CharField(max_length=300)
    external_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    domain = models.CharField(max_length=255, null=True, blank=True, unique=True)
    industry = models.CharField(max_length=200, blank=True, default="")
    employee_count = models.PositiveIntegerField(null=True, blank=True)
    plan = models.CharField(max_length=120, blank=True, default="")
    website = models.URLField(max_length=2048, blank=True, default="")
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name_plural = "companies"
        indexes = [models.Index(Lower("name"), name="customers_company_name_lower")]

    def __str__(self) -> str:
        return self.name


class Customer(TimestampedModel):
    """One person. Anonymous visitors are customers too until identify tells who they are."""

    # The list's (created_at, id) index serves every lookup by creation time.
    created_at = models.DateTimeField(auto_now_add=True)
    first_name = models.CharField(max_length=200, blank=True, default="")
    last_name = models.CharField(max_length=200, blank=True, default="")
    email = models.CharField(max_length=320, null=True, blank=True)
    phone = models.CharField(max_length=20, null=True, blank=True, help_text="E.164")
    locale = models.CharField(max_length=35, blank=True, default="")
    timezone = models.CharField(max_length=64, blank=True, default="", help_text="IANA zone name")
    country = models.CharField(max_length=2, blank=True, default="", help_text="ISO 3166-1 alpha-2")
    city = models.CharField(max_length=200, blank=True, default="")
    lifecycle_stage = models.CharField(
        max_length=16, choices=LifecycleStage.choices, default=LifecycleStage.LEAD
    )
    is_identified = models.BooleanField(
        default=True, help_text="False for an anonymous visitor known only by an anonymous id."
    )
    # Not indexed: ingestion moves them with every batch, and on PostgreSQL an update that
    # changes no indexed column is HOT (no entry in the table's other indexes), which the
    # table's free space per page (migration 0006) leaves room for.
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    # Order figures kept on the profile (orders sits above customers and writes them through
    # customers' service) so the customer list filters and sorts a million rows by index. The
    # database defaults let bulk loaders that write raw rows leave them out.
    order_count = models.PositiveIntegerField(default=0, db_default=0)
    total_spent = models.DecimalField(max_digits=14, decimal_places=2, default=0, db_default=0)
    first_order_at = models.DateTimeField(null=True, blank=True)
    last_order_at = models.DateTimeField(null=True, blank=True)
    companies: models.ManyToManyField[Company, CompanyContact] = models.ManyToManyField(
        Company, through="CompanyContact", related_name="contacts"
    )
    tags: models.ManyToManyField[Tag, CustomerTag] = models.ManyToManyField(
        "Tag", through="CustomerTag", related_name="customers"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(lifecycle_stage__in=LifecycleStage.values),
                name="customers_customer_lifecycle_valid",
            ),
            models.CheckConstraint(
                condition=Q(email__isnull=True) | Q(email__contains="@"),
                name="customers_customer_email_has_at",
            ),
            models.CheckConstraint(
                condition=Q(phone__isnull=True) | Q(phone__startswith="+"),
                name="customers_customer_phone_e164",
            ),
        ]
        indexes = [
            models.Index(fields=["email"], name="customers_customer_email"),
            models.Index(fields=["phone"], name="customers_customer_phone"),
            # The customer list's sorts: each ends with id, the keyset cursor's tie-breaker. The
            # name index also serves the search by a prefix of the last name, the next one a
            # prefix of the first name.
            models.Index(
                Lower("last_name"), Lower("first_name"), "id", name="customers_customer_name_id"
            ),
            models.Index(Lower("first_name"), name="customers_customer_first_name"),
            models.Index(fields=["last_order_at", "id"], name="customers_customer_last_order"),
            models.Index(fields=["first_order_at", "id"], name="customers_customer_first_order"),
            models.Index(fields=["total_spent", "id"], name="customers_customer_spent"),
            models.Index(fields=["order_count", "id"], name="customers_customer_order_count"),
            models.Index(fields=["created_at", "id"], name="customers_customer_created"),
            # A stage goes with the figures (at-risk customers are the ones whose last order
            # is old), so a stage filter sorted by a figure walks its own index from the
            # stage's start rather than the whole figure index. Counting per stage reads the
            # first of them.
            models.Index(
                fields=["lifecycle_stage", "last_order_at", "id"], name="customers_customer_stage"
            ),
            models.Index(
                fields=["lifecycle_stage", "total_spent", "id"],
                name="customers_customer_stage_sum",
            ),
            models.Index(
                fields=["lifecycle_stage", "order_count", "id"],
                name="customers_customer_stage_count",
            ),
            # Country with stage: "at risk in Germany" is counted from the index alone, where
            # (country, id) read every German customer's row to check the stage.
            models.Index(
                fields=["country", "lifecycle_stage", "id"], name="customers_customer_country"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.email or self.phone or f"Customer #{self.pk}"


class IdentityKind(models.TextChoices):
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    USER_ID = "user_id", "User id"
    ANONYMOUS_ID = "anonymous_id", "Anonymous id"
    EXTERNAL_ID = "external_id", "External id"


class Identity(TimestampedModel):
    """A (kind, value) that points at exactly one customer."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="identities", db_index=False
    )
    kind = models.CharField(max_length=16, choices=IdentityKind.choices)
    value = models.CharField(max_length=320)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "value"], name="customers_identity_kind_value_unique"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=IdentityKind.values), name="customers_identity_kind_valid"
            ),
            models.CheckConstraint(
                condition=~Q(value=""), name="customers_identity_value_not_empty"
            ),
        ]
        indexes = [models.Index(fields=["customer", "kind"], name="customers_identity_customer")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class IdentityConflict(models.Model):
    """Two known people claimed by one message; recorded and shown, never merged silently."""

    kind = models.CharField(max_length=16, choices=IdentityKind.choices)
    value = models.CharField(max_length=320)
    existing_customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="conflicts_as_existing"
    )
    claiming_customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="conflicts_as_claiming"
    )
    reason = models.CharField(max_length=500)
    message_id = models.CharField(max_length=255, blank=True, default="")
    detected_at = models.DateTimeField(db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"conflict on {self.kind}:{self.value}"


class CompanyContact(TimestampedModel):
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="memberships")
    title = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "customer"], name="customers_contact_unique")
        ]


class Tag(TimestampedModel):
    name = models.CharField(max_length=100)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("name"), name="customers_tag_name_unique")]

    def __str__(self) -> str:
        return self.name


class CustomerTag(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, db_index=False)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "tag"], name="customers_customertag_unique")
        ]

    def __str__(self) -> str:
        return f"{self.tag_id} on {self.customer_id}"


class Note(TimestampedModel):
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="notes", db_index=False
    )
    body = models.TextField()
    author_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    author_identifier = models.CharField(max_length=255)
    author_label = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(body=""), name="customers_note_body_not_empty")
        ]
        indexes = [models.Index(fields=["customer", "created_at"], name="customers_note_customer")]


class AttributeType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    INTEGER = "integer", "Whole number"
    BOOLEAN = "boolean", "Yes/no"
    DATE = "date", "Date"
    DATETIME = "datetime", "Date and time"
    CHOICE = "choice", "One of a list"


class AttributeDefinition(TimestampedModel):
    """Declares a custom attribute; values of any other type are rejected, never stored as text."""

    key = models.SlugField(max_length=64, unique=True)
    label = models.CharField(max_length=200)
    type = models.CharField(max_length=16, choices=AttributeType.choices)
    choices = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(type__in=AttributeType.values), name="customers_attribute_type_valid"
            )
        ]

    def __str__(self) -> str:
        return self.key


class MilestoneKind(models.TextChoices):
    BIRTHDAY = "birthday", "Birthday"
    ANNIVERSARY = "anniversary", "Anniversary"
    OTHER = "other", "Other occasion"


class Milestone(TimestampedModel):
    """A dated occasion; recurring ones (birthdays) come round every year."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="milestones", db_index=False
    )
    kind = models.CharField(max_length=16, choices=MilestoneKind.choices)
    label = models.CharField(max_length=200, blank=True, default="")
    date = models.DateField()
    is_recurring_yearly = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind", "label"], name="customers_milestone_unique"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=MilestoneKind.values), name="customers_milestone_kind_valid"
            ),
        ]
        indexes = [models.Index(fields=["kind", "date"], name="customers_milestone_date")]
