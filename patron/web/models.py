"""What the workspace itself stores: staff members' saved views of lists."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from patron.core.models import TimestampedModel


class SavedViewList(models.TextChoices):
    CUSTOMERS = "customers", "Customers"


class SavedView(TimestampedModel):
    """A named set of a list's filters and sort, kept as the list's query string."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="saved_views",
        db_index=False,
    )
    list_name = models.CharField(max_length=32, choices=SavedViewList.choices)
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=2000, blank=True, default="")
    is_shared = models.BooleanField(
        default=False, help_text="Shown to the whole team, not only to its owner."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "list_name", "name"], name="web_savedview_owner_name_unique"
            ),
            models.CheckConstraint(
                condition=Q(list_name__in=SavedViewList.values), name="web_savedview_list_valid"
            ),
            models.CheckConstraint(condition=~Q(name=""), name="web_savedview_name_not_empty"),
        ]
        indexes = [
            models.Index(fields=["list_name", "owner"], name="web_savedview_owner"),
            models.Index(
                fields=["list_name", "is_shared"],
                condition=Q(is_shared=True),
                name="web_savedview_shared",
            ),
        ]

    def __str__(self) -> str:
        return self.name
