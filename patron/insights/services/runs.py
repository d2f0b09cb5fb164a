"""Starting insight refreshes, rescoring customers after new facts, and the insight settings."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from patron.accounts.models import User
from patron.accounts.services.audit import audit_record
from patron.core import clock
from patron.core.actors import Actor, ActorKind
from patron.core.errors import Conflict, ValidationFailed
from patron.core.progress import ProgressCallback, ignore_progress
from patron.insights.estimators.lifecycle import LifecycleRules
from patron.insights.models import CustomerInsight, InsightRun, InsightSettings, RunStatus
from patron.insights.services.refresh import (
    RefreshOptions,
    customers_rescore,
    insights_refresh,
    reporting_currency_choose,
)

logger = logging.getLogger(__name__)

# A refresh that has not reported progress for this long died with its worker; another may start.
STALE_RUN_HOURS = 6
MAXIMUM_HORIZON_DAYS = 3650  # ten years: beyond that a purchase forecast means nothing


def staff_user_of(actor: Actor) -> User | None:
    if actor.kind != ActorKind.STAFF or not actor.identifier.isdigit():
        return None
    return User.objects.filter(pk=int(actor.identifier)).first()


def insight_settings_get() -> InsightSettings:
    settings, _ = InsightSettings.objects.get_or_create(pk=1)
    return settings


@dataclass(frozen=True)
class InsightSettingsChange:
    reporting_currency: str
    horizon_days: int
    churn_days: int
    new_days: int
    at_risk_days: int
    lapsed_days: int


def _days_check(name: str, value: int) -> None:
    if not 1 <= value <= MAXIMUM_HORIZON_DAYS:
        raise ValidationFailed(
            f"must be between 1 and {MAXIMUM_HORIZON_DAYS} days", field=name, code="invalid"
        )


def insight_settings_update(*, change: InsightSettingsChange, actor: Actor) -> InsightSettings:
    """Save the settings; they apply from the next refresh."""
    currency = change.reporting_currency.strip().upper()
    if currency and (len(currency) != 3 or not currency.isalpha() or not currency.isascii()):
        raise ValidationFailed(
            "must be a three-letter ISO 4217 code such as EUR", field="reporting_currency"
        )
    for name in ("horizon_days", "churn_days", "new_days", "at_risk_days", "lapsed_days"):
        _days_check(name, getattr(change, name))
    rules = LifecycleRules(
        new_days=change.new_days, at_risk_days=change.at_risk_days, lapsed_days=change.lapsed_days
    )
    try:
        rules.validate()
    except ValueError as error:
        raise ValidationFailed(str(error), field="at_risk_days") from error
    with transaction.atomic():
        settings = insight_settings_get()
        settings.reporting_currency = currency
        settings.horizon_days = change.horizon_days
        settings.churn_days = change.churn_days
        settings.new_days = change.new_days
        settings.at_risk_days = change.at_risk_days
        settings.lapsed_days = change.lapsed_days
        settings.updated_by = staff_user_of(actor)
        settings.save()
        audit_record(
            actor=actor,
            action="insights.settings_changed",
            subject_type="insight_settings",
            subject_id="1",
            changes={
                "reporting_currency": currency,
                "horizon_days": change.horizon_days,
                "churn_days": change.churn_days,
                "new_days": change.new_days,
                "at_risk_days": change.at_risk_days,
                "lapsed_days": change.lapsed_days,
            },
        )
    return settings


def refresh_options(
    *,
    as_of: datetime | None = None,
    horizon_days: int | None = None,
    churn_days: int | None = None,
) -> RefreshOptions:
    """Options from the settings, overridden by what the caller gives."""
    settings = insight_settings_get()
    now = clock.now()
    if as_of is not None and as_of > now:
        raise ValidationFailed("cannot compute as of a moment in the future", field="as_of")
    moment = as_of or now
    horizon = settings.horizon_days if horizon_days is None else horizon_days
    churn = settings.churn_days if churn_days is None else churn_days
    _days_check("horizon_days", horizon)
    _days_check("churn_days", churn)
    return RefreshOptions(
        as_of=moment,
        horizon_days=horizon,
        churn_days=churn,
        reporting_currency=reporting_currency_choose(settings.reporting_currency, moment),
        rules=_lifecycle_rules(settings),
        is_backtest=as_of is not None,
    )


def _lifecycle_rules(settings: InsightSettings) -> LifecycleRules:
    return LifecycleRules(
        new_days=settings.new_days,
        at_risk_days=settings.at_risk_days,
        lapsed_days=settings.lapsed_days,
    )


def run_options(run: InsightRun, *, is_rescoring: bool = False) -> RefreshOptions:
    """The options a recorded run was created with: its horizon, churn window and reporting
    currency (the one its Gamma-Gamma fit is in). A backtest keeps its moment unless customers
    are rescored after new facts, which is always as of now."""
    is_backtest = run.is_backtest and not is_rescoring
    return RefreshOptions(
        as_of=run.as_of if is_backtest else clock.now(),
        horizon_days=run.horizon_days,
        churn_days=run.churn_days,
        reporting_currency=run.reporting_currency,
        rules=_lifecycle_rules(insight_settings_get()),
        is_backtest=is_backtest,
    )


def run_latest_done() -> InsightRun | None:
    return InsightRun.objects.filter(status=RunStatus.DONE).order_by("-finished_at", "-id").first()


def run_busy() -> InsightRun | None:
    """A refresh queued or running (one that stopped reporting long ago does not count)."""
    cutoff = clock.now() - timedelta(hours=STALE_RUN_HOURS)
    return (
        InsightRun.objects.filter(
            status__in=(RunStatus.QUEUED, RunStatus.RUNNING), created_at__gte=cutoff
        )
        .order_by("-created_at")
        .first()
    )


def run_create(*, options: RefreshOptions, actor: Actor) -> InsightRun:
    """Record a refresh to run; refuses while another is queued or running."""
    with transaction.atomic():
        busy = run_busy()
        if busy is not None:
            raise Conflict(
                f"a refresh started at {busy.created_at:%Y-%m-%d %H:%M} UTC is still "
                f"{busy.get_status_display().lower()}",
                code="refresh_running",
            )
        return InsightRun.objects.create(
            as_of=options.as_of,
            is_backtest=options.is_backtest,
            horizon_days=options.horizon_days,
            churn_days=options.churn_days,
            reporting_currency=options.reporting_currency,
            requested_by=staff_user_of(actor),
            created_at=clock.now(),
        )


def run_execute(
    run: InsightRun, options: RefreshOptions, *, progress: ProgressCallback = ignore_progress
) -> InsightRun:
    return insights_refresh(run, options, progress=progress)


def run_execute_by_id(run_id: int) -> InsightRun | None:
    """The worker's entry: run a queued refresh with the options it was created with."""
    run = InsightRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).first()
    if run is None:
        return None
    return insights_refresh(run, run_options(run))


def customers_rescore_after_facts(
    customer_ids: Iterable[int], *, changed_at: datetime | None = None
) -> int:
    """Rescore customers whose orders or events changed, with the last refresh's population;
    returns how many were rescored.

    Customers scored since `changed_at` are skipped: one request that stores an order from an
    event tells both the events and the orders hook, and the second rescore would repeat the
    first. Before any refresh there is no population to score against; the first refresh
    scores them.
    """
    run = run_latest_done()
    if run is None:
        return 0
    wanted = set(customer_ids)
    if changed_at is not None:
        wanted -= set(
            CustomerInsight.objects.filter(
                customer_id__in=wanted, computed_at__gt=changed_at
            ).values_list("customer_id", flat=True)
        )
    if not wanted:
        return 0
    return customers_rescore(sorted(wanted), run, run_options(run, is_rescoring=True))
