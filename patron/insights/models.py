"""Per-customer insights, the population fits behind them, refresh runs and their settings.

Everything here is derived from the facts (orders, lines, events) and can be recomputed at any
time by `insights_refresh`; nothing else writes these tables. Reasons in words are not stored:
they are written from the stored figures when read (patron.insights.reasons), so a million rows
carry numbers, not sentences.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from patron.catalog.models import Product
from patron.customers.models import Customer

DEFAULT_HORIZON_DAYS = 365
DEFAULT_CHURN_DAYS = 90


class FitKind(models.TextChoices):
    BG_NBD = "bg_nbd", "BG/NBD (repeat purchases)"
    GAMMA_GAMMA = "gamma_gamma", "Gamma-Gamma (spend per order)"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Waiting for a worker"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class RfmGroup(models.TextChoices):
    CHAMPIONS = "champions", "Champions"
    LOYAL = "loyal", "Loyal"
    POTENTIAL_LOYALISTS = "potential_loyalists", "Potential loyalists"
    NEW = "new", "New"
    AT_RISK = "at_risk", "At risk"
    CANT_LOSE = "cant_lose", "Can't lose"
    HIBERNATING = "hibernating", "Hibernating"
    LOST = "lost", "Lost"


class Band(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class Confidence(models.TextChoices):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"
    POPULATION = "population", "From the population"
    NONE = "none", "Not enough data"


class EngagementTier(models.TextChoices):
    HIGHLY_ENGAGED = "highly_engaged", "Highly engaged"
    ENGAGED = "engaged", "Engaged"
    COOLING = "cooling", "Cooling"
    DORMANT = "dormant", "Dormant"
    NOT_ENOUGH_DATA = "not_enough_data", "Not enough data"


class PriceBand(models.TextChoices):
    BUDGET = "budget", "Budget"
    MID = "mid", "Mid-range"
    PREMIUM = "premium", "Premium"


class ReplenishmentState(models.TextChoices):
    NOT_DUE = "not_due", "Not due"
    DUE_SOON = "due_soon", "Due soon"
    DUE = "due", "Due"
    OVERDUE = "overdue", "Overdue"
    LAPSED = "lapsed", "Lapsed"


class InsightSettings(models.Model):
    """The workspace's choices for insights: one row (id 1), edited by admins."""

    reporting_currency = models.CharField(
        max_length=3,
        blank=True,
        default="",
        help_text="Values are computed in this currency; empty means the most common one.",
    )
    horizon_days = models.PositiveIntegerField(default=DEFAULT_HORIZON_DAYS)
    churn_days = models.PositiveIntegerField(default=DEFAULT_CHURN_DAYS)
    new_days = models.PositiveIntegerField(default=30)
    at_risk_days = models.PositiveIntegerField(default=90)
    lapsed_days = models.PositiveIntegerField(default=180)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "insight settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(horizon_days__gte=1) & Q(churn_days__gte=1) & Q(new_days__gte=1),
                name="insights_settings_days_positive",
            ),
            models.CheckConstraint(
                condition=Q(new_days__lte=models.F("at_risk_days"))
                & Q(at_risk_days__lt=models.F("lapsed_days")),
                name="insights_settings_lifecycle_ordered",
            ),
        ]

    def __str__(self) -> str:
        return "Insight settings"


class InsightRun(models.Model):
    """One full refresh of the population: its options, progress and outcome."""

    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    as_of = models.DateTimeField(help_text="Facts after this moment were ignored.")
    is_backtest = models.BooleanField(
        default=False, help_text="Computed as of a past date; the stored insights were left alone."
    )
    horizon_days = models.PositiveIntegerField()
    churn_days = models.PositiveIntegerField()
    reporting_currency = models.CharField(max_length=3, blank=True, default="")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    stage = models.CharField(max_length=64, blank=True, default="")
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    customer_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    population = models.JSONField(
        default=dict,
        blank=True,
        help_text="What rescoring one customer needs of the population: RFM percentiles, "
        "product cycles, the send-time histogram.",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RunStatus.values), name="insights_run_status_valid"
            )
        ]

    def __str__(self) -> str:
        return f"Insight refresh as of {self.as_of:%Y-%m-%d} ({self.status})"

    @property
    def is_busy(self) -> bool:
        return self.status in (RunStatus.QUEUED, RunStatus.RUNNING)


class Fit(models.Model):
    """A population fit: the parameters every customer's prediction uses until the next one."""

    run = models.ForeignKey(InsightRun, on_delete=models.CASCADE, related_name="fits")
    kind = models.CharField(max_length=16, choices=FitKind.choices)
    parameters = models.JSONField(help_text="Name -> value.")
    standard_errors = models.JSONField(help_text="Name -> standard error (null if unknown).")
    log_likelihood = models.FloatField()
    customer_count = models.PositiveIntegerField()
    is_converged = models.BooleanField()
    calibration_start = models.DateTimeField(help_text="The earliest first order in the fit.")
    calibration_end = models.DateTimeField(help_text="The as-of moment of the fit.")
    time_unit = models.CharField(max_length=8, default="days")
    currency = models.CharField(max_length=3, blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=FitKind.values), name="insights_fit_kind")
        ]
        indexes = [models.Index(fields=["kind", "created_at"], name="insights_fit_kind_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} fit of {self.created_at:%Y-%m-%d %H:%M}"


class CustomerInsight(models.Model):
    """Every score of one customer, as computed at `computed_at` from the facts up to `as_of`.

    A null figure means "not enough data"; its confidence then says "none".
    """

    customer = models.OneToOneField(
        Customer, primary_key=True, on_delete=models.CASCADE, related_name="insight"
    )
    computed_at = models.DateTimeField()
    as_of = models.DateTimeField()
    # What the figures stand on: counted orders (not cancelled, not fully refunded) up to as_of.
    order_count = models.PositiveIntegerField()
    repeat_count = models.PositiveIntegerField(help_text="Purchase days after the first.")
    first_order_at = models.DateTimeField(null=True, blank=True)
    last_order_at = models.DateTimeField(null=True, blank=True)
    mean_days_between_orders = models.FloatField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")
    historic_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    other_currency_order_count = models.PositiveIntegerField(
        default=0, help_text="Orders in other currencies: counted as purchases, not as value."
    )
    # RFM: quintiles 1..5 among customers with orders (5 best); 0 without orders.
    recency_score = models.PositiveSmallIntegerField(default=0)
    frequency_score = models.PositiveSmallIntegerField(default=0)
    monetary_score = models.PositiveSmallIntegerField(default=0)
    rfm_group = models.CharField(max_length=24, choices=RfmGroup.choices, blank=True, default="")
    # BG/NBD and Gamma-Gamma over the horizon stored on the run.
    horizon_days = models.PositiveIntegerField()
    predicted_orders = models.FloatField(null=True, blank=True)
    predicted_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    expected_order_value = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True
    )
    probability_alive = models.FloatField(null=True, blank=True)
    prediction_confidence = models.CharField(
        max_length=12, choices=Confidence.choices, default=Confidence.NONE
    )
    churn_days = models.PositiveIntegerField()
    churn_probability = models.FloatField(null=True, blank=True)
    churn_band = models.CharField(max_length=8, choices=Band.choices, blank=True, default="")
    next_order_at = models.DateTimeField(null=True, blank=True)
    # Engagement: clicks, visits, purchases and opens that were not machine opens.
    engagement_score = models.FloatField(null=True, blank=True)
    engagement_tier = models.CharField(
        max_length=16, choices=EngagementTier.choices, default=EngagementTier.NOT_ENOUGH_DATA
    )
    human_open_count = models.PositiveIntegerField(default=0)
    machine_open_count = models.PositiveIntegerField(default=0)
    click_count = models.PositiveIntegerField(default=0)
    visit_day_count = models.PositiveIntegerField(default=0)
    # Best send time in the customer's own zone, from clicks, visits and purchases.
    best_hour = models.PositiveSmallIntegerField(null=True, blank=True)
    best_weekday = models.PositiveSmallIntegerField(null=True, blank=True, help_text="0 = Monday")
    send_time_observations = models.PositiveIntegerField(default=0)
    send_time_confidence = models.CharField(
        max_length=12, choices=Confidence.choices, default=Confidence.NONE
    )
    # Affinities: [[name, share of spend], ...] best first.
    top_categories = models.JSONField(default=list)
    top_brands = models.JSONField(default=list)
    price_band = models.CharField(max_length=8, choices=PriceBand.choices, blank=True, default="")
    discount_share = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(rfm_group__in=[*RfmGroup.values, ""]), name="insights_rfm_group_valid"
            ),
            models.CheckConstraint(
                condition=Q(churn_band__in=[*Band.values, ""]), name="insights_churn_band_valid"
            ),
            models.CheckConstraint(
                condition=Q(engagement_tier__in=EngagementTier.values),
                name="insights_engagement_tier_valid",
            ),
            models.CheckConstraint(
                condition=Q(best_hour__isnull=True) | Q(best_hour__lte=23),
                name="insights_best_hour_range",
            ),
            models.CheckConstraint(
                condition=Q(best_weekday__isnull=True) | Q(best_weekday__lte=6),
                name="insights_best_weekday_range",
            ),
        ]
        # List endpoints and the Insights page filter and sort by these.
        indexes = [
            models.Index(fields=["churn_band", "churn_probability"], name="insights_churn"),
            models.Index(fields=["rfm_group"], name="insights_rfm_group"),
            models.Index(fields=["engagement_tier"], name="insights_engagement"),
            models.Index(fields=["predicted_value"], name="insights_predicted_value"),
            models.Index(fields=["next_order_at"], name="insights_next_order"),
        ]

    def __str__(self) -> str:
        return f"Insights of customer {self.customer_id}"


class ReplenishmentDue(models.Model):
    """When one customer will run out of one product they buy again, from their own intervals."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    computed_at = models.DateTimeField()
    purchase_count = models.PositiveIntegerField()
    units_last = models.PositiveIntegerField(help_text="Units bought the last time.")
    last_purchased_at = models.DateTimeField()
    customer_cycle_days = models.FloatField(
        null=True, blank=True, help_text="This customer's own days per unit; null if bought once."
    )
    product_cycle_days = models.FloatField(help_text="The product's typical days per unit.")
    expected_cycle_days = models.FloatField(help_text="The blend the due date uses.")
    due_at = models.DateTimeField()
    state = models.CharField(max_length=12, choices=ReplenishmentState.choices)
    confidence = models.CharField(max_length=12, choices=Confidence.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "product"], name="insights_replenishment_unique"
            ),
            models.CheckConstraint(
                condition=Q(state__in=ReplenishmentState.values),
                name="insights_replenishment_state_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "due_at"], name="insights_replenishment_due"),
            models.Index(fields=["due_at"], name="insights_replenishment_time"),
        ]

    def __str__(self) -> str:
        return f"Customer {self.customer_id} due for product {self.product_id}"


class HoldoutCheck(models.Model):
    """A backtest of the purchase predictions: fit on the facts before a holdout period, predict
    the holdout, and compare with what customers actually bought in it."""

    holdout_days = models.PositiveIntegerField()
    holdout_start = models.DateTimeField()
    holdout_end = models.DateTimeField()
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(
        default=dict,
        blank=True,
        help_text="Parameters, totals, AUCs and rows of predicted vs actual by frequency.",
    )
    error = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RunStatus.values), name="insights_holdout_status_valid"
            )
        ]

    def __str__(self) -> str:
        return f"Holdout check of {self.holdout_days} days ({self.status})"
