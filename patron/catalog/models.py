"""Products and their category tree."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from patron.core.models import TimestampedModel


class Category(TimestampedModel):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class StockStatus(models.TextChoices):
    IN_STOCK = "in_stock", "In stock"
    LOW_STOCK = "low_stock", "Low stock"
    OUT_OF_STOCK = "out_of_stock", "Out of stock"
    PREORDER = "preorder", "Pre-order"
    DISCONTINUED = "discontinued", "Discontinued"
    UNKNOWN = "unknown", "Unknown"


class Product(TimestampedModel):
    sku = models.CharField(max_length=128, unique=True)
    name = models.CharField(max_length=300)
    brand = models.CharField(max_length=200, blank=True, default="")
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products"
    )
    price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")
    image_url = models.URLField(max_length=2048, blank=True, default="")
    url = models.URLField(max_length=2048, blank=True, default="")
    stock_status = models.CharField(
        max_length=16, choices=StockStatus.choices, default=StockStatus.UNKNOWN
    )
    supply_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="How long one unit lasts, e.g. 60 for a 60-day jar."
    )
    is_repeatable = models.BooleanField(
        default=True, help_text="False for things bought once, such as gift sets."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gte=0),
                name="catalog_product_price_nonnegative",
            ),
            models.CheckConstraint(
                condition=Q(supply_days__isnull=True) | Q(supply_days__gte=1),
                name="catalog_product_supply_days_positive",
            ),
            models.CheckConstraint(
                condition=Q(stock_status__in=StockStatus.values),
                name="catalog_product_stock_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["brand"], name="catalog_product_brand")]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"
