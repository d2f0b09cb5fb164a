"""Orders, their lines and refunds, and shopping carts."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q

from patron.accounts.models import Source
from patron.catalog.models import Product
from patron.core.models import TimestampedModel
from patron.customers.models import Customer

ZERO = Decimal("0")


def money(**options: object) -> models.DecimalField:
    """Money in the order's currency: 12 digits before the point covers any shop's totals."""
    return models.DecimalField(max_digits=14, decimal_places=2, **options)  # type: ignore[arg-type]


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    COMPLETED = "completed", "Completed"
    FULFILLED = "fulfilled", "Fulfilled"
    CANCELLED = "cancelled", "Cancelled"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"


class Order(TimestampedModel):
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    external_id = models.CharField(max_length=255)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.COMPLETED
    )
    currency = models.CharField(max_length=3)
    subtotal = money(default=ZERO)
    discount_total = money(default=ZERO)
    shipping_total = money(default=ZERO)
    tax_total = money(default=ZERO)
    total = money()
    refunded_total = money(default=ZERO)
    coupon = models.CharField(max_length=200, blank=True, default="")
    placed_at = models.DateTimeField()
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="orders_order_source_external_unique"
            ),
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values), name="orders_order_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(subtotal__gte=0)
                & Q(discount_total__gte=0)
                & Q(shipping_total__gte=0)
                & Q(tax_total__gte=0)
                & Q(total__gte=0)
                & Q(refunded_total__gte=0),
                name="orders_order_amounts_nonnegative",
            ),
            models.CheckConstraint(
                condition=Q(refunded_total__lte=F("total")), name="orders_order_refund_within_total"
            ),
            models.CheckConstraint(
                condition=~Q(external_id=""), name="orders_order_external_id_not_empty"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "placed_at"], name="orders_order_customer_time"),
            models.Index(fields=["placed_at"], name="orders_order_placed_at"),
            # How the dashboard rollups' refresh finds the orders changed since it last ran.
            models.Index(fields=["updated_at"], name="orders_order_updated_at"),
            # The orders page sorts by total and filters by status (cancelled, refunded: few
            # rows, which a placed_at walk would find only by reading the whole table).
            models.Index(fields=["total", "id"], name="orders_order_total"),
            models.Index(fields=["status", "placed_at"], name="orders_order_status_time"),
        ]

    def __str__(self) -> str:
        return f"Order {self.external_id}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_index=False)
    position = models.PositiveIntegerField()
    product = models.ForeignKey(
        Product,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="order_lines",
        db_index=False,
    )
    sku = models.CharField(max_length=128)
    name = models.CharField(max_length=300, blank=True, default="")
    quantity = models.PositiveIntegerField()
    unit_price = money()
    discount = money(default=ZERO)
    line_total = money()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order", "position"], name="orders_line_position_unique"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="orders_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0) & Q(discount__gte=0) & Q(line_total__gte=0),
                name="orders_line_amounts_nonnegative",
            ),
        ]
        indexes = [models.Index(fields=["product", "order"], name="orders_line_product")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class Refund(TimestampedModel):
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="refunds", db_index=False
    )
    external_id = models.CharField(max_length=255)
    amount = money()
    reason = models.CharField(max_length=500, blank=True, default="")
    refunded_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "external_id"], name="orders_refund_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="orders_refund_amount_positive"),
        ]


class CartStatus(models.TextChoices):
    OPEN = "open", "Open"
    CHECKOUT_STARTED = "checkout_started", "Checkout started"
    CONVERTED = "converted", "Converted to an order"
    ABANDONED = "abandoned", "Abandoned"


class Cart(TimestampedModel):
    """A shopping cart built from Product Added/Removed events; abandoned-cart flows read it."""

    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="carts", db_index=False
    )
    external_id = models.CharField(max_length=255)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="carts", db_index=False
    )
    status = models.CharField(max_length=20, choices=CartStatus.choices, default=CartStatus.OPEN)
    currency = models.CharField(max_length=3, blank=True, default="")
    last_activity_at = models.DateTimeField()
    checkout_started_at = models.DateTimeField(null=True, blank=True)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="carts"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="orders_cart_source_external_unique"
            ),
            models.CheckConstraint(
                condition=Q(status__in=CartStatus.values), name="orders_cart_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "status"], name="orders_cart_customer_status"),
            models.Index(fields=["status", "last_activity_at"], name="orders_cart_status_activity"),
        ]


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines", db_index=False)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL)
    sku = models.CharField(max_length=128)
    name = models.CharField(max_length=300, blank=True, default="")
    quantity = models.PositiveIntegerField()
    unit_price = money(default=ZERO)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cart", "sku"], name="orders_cartline_unique"),
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="orders_cartline_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


# Dashboard rollups: derived from the orders above by patron.orders.services.rollups, never
# written anywhere else, and recomputable from the facts at any time (rollups_refresh(full=True)).
# An order "counts" unless it is cancelled, as for the customers' order figures.


class SalesDay(models.Model):
    """One UTC day of counted orders: what the dashboard's figures and time series add up."""

    day = models.DateField(primary_key=True)
    orders = models.PositiveIntegerField()
    # Net of refunds, in the shop currency only (see RollupState.currency); revenue_orders is
    # how many orders that revenue comes from, the average order value's denominator.
    revenue = money()
    revenue_orders = models.PositiveIntegerField()
    # Customers whose first counted order was placed this day, and how many of them have
    # placed another counted order since (as of the refresh).
    new_customers = models.PositiveIntegerField()
    new_customers_returned = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"Sales of {self.day}"


class ProductSalesDay(models.Model):
    """Units and line revenue of one product on one UTC day, over counted orders."""

    day = models.DateField()
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    units = models.PositiveIntegerField()
    revenue = money()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "product"], name="orders_productsalesday_unique")
        ]

    def __str__(self) -> str:
        return f"Sales of product {self.product_id} on {self.day}"


class ProductSalesMonth(models.Model):
    """ProductSalesDay added up by calendar month, so a long range reads months, not days."""

    month = models.DateField()
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    units = models.PositiveIntegerField()
    revenue = money()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "product"], name="orders_productsalesmonth_unique"
            )
        ]

    def __str__(self) -> str:
        return f"Sales of product {self.product_id} in {self.month:%Y-%m}"


class CohortMonth(models.Model):
    """How many customers first ordered in cohort_month and ordered (again) in activity_month."""

    cohort_month = models.DateField()
    activity_month = models.DateField()
    customers = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cohort_month", "activity_month"], name="orders_cohortmonth_unique"
            )
        ]
        indexes = [models.Index(fields=["activity_month"], name="orders_cohortmonth_activity")]

    def __str__(self) -> str:
        return f"Cohort {self.cohort_month:%Y-%m} active in {self.activity_month:%Y-%m}"


class StageCount(models.Model):
    """Customers per lifecycle stage at the last refresh (a snapshot: counting live is a scan)."""

    stage = models.CharField(max_length=16, primary_key=True)
    customers = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.customers} {self.stage}"


class RollupState(models.Model):
    """The single row saying how fresh the rollups are and where the next refresh starts."""

    refreshed_at = models.DateTimeField()
    # Orders updated at or after this instant are looked at again by the next refresh.
    changes_since = models.DateTimeField()
    currency = models.CharField(max_length=3, blank=True, default="")
    first_day = models.DateField(null=True, blank=True)
    last_day = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Rollups as of {self.refreshed_at:%Y-%m-%d %H:%M}"
