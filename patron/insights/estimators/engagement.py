"""Email and site engagement: machine-open detection and a recency-decayed score with its tier."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

import numpy as np

from patron.insights.estimators.arrays import finite, indexes, same_sizes, vector

# Apple Mail Privacy Protection fetches every message's images through its proxy moments after
# delivery, and link scanners (Barracuda, Mimecast, Proofpoint …) open within seconds; a person
# seldom opens within ten seconds of arrival, so an open that early is taken as a machine's.
MACHINE_OPEN_SECONDS = 10.0
# Apple's proxy sends exactly this user agent, nothing after it.
APPLE_PROXY_USER_AGENT = "mozilla/5.0"
# Case-insensitive substrings of user agents that fetch mail without a person reading it:
# security gateways and link scanners that prefetch every image and link, and Outlook's
# autodiscovery probe. Left out on purpose: GoogleImageProxy and YahooMailProxy fetch the
# images when the recipient opens the message (cached afterwards), so their opens are people's.
MACHINE_USER_AGENT_MARKERS: tuple[str, ...] = (
    "barracuda",
    "mimecast",
    "proofpoint",
    "ppops-",  # Proofpoint's URL defence
    "messagelabs",
    "symantec",
    "ironport",
    "cisco",
    "forcepoint",
    "zscaler",
    "sophos",
    "trendmicro",
    "trend micro",
    "fortiguard",
    "fireeye",
    "agari",
    "protocol discovery",  # "Microsoft Office/16.0 (… Microsoft Outlook …; Pro) Protocol Discovery"
    "headlesschrome",
    "python-requests",
    "go-http-client",
    "curl/",
    "wget/",
    "libwww-perl",
    "java/",
    "bot/",
    "spider",
    "crawler",
)
# Points per signal: a purchase says most about interest, a click asks for effort, a day on the
# site shows intent, an open is the weakest sign (and often hidden by image blocking).
SIGNAL_WEIGHTS = {"open": 1.0, "click": 3.0, "visit": 2.0, "purchase": 5.0}
# A signal counts half after three months: the rhythm of a monthly newsletter and of most
# replenishment cycles, so one quiet quarter halves the score.
HALF_LIFE_DAYS = 90.0
# Score = 100 · points / (points + this): one recent purchase (5 points) gives 50.
HALF_SCORE_POINTS = 5.0
# Tiers by score: a recent purchase and some opens make "highly engaged"; one recent click or
# visit "engaged"; decayed or weak signals "cooling"; almost nothing "dormant".
HIGHLY_ENGAGED_SCORE = 60.0
ENGAGED_SCORE = 30.0
COOLING_SCORE = 10.0


class SignalKind(IntEnum):
    OPEN = 0  # a human open: the caller leaves out machine opens
    CLICK = 1
    VISIT = 2  # a day with site visits
    PURCHASE = 3


class EngagementTier(StrEnum):
    HIGHLY_ENGAGED = "highly_engaged"
    ENGAGED = "engaged"
    COOLING = "cooling"
    DORMANT = "dormant"
    NOT_ENOUGH_DATA = "not_enough_data"


@dataclass(frozen=True)
class Engagement:
    score: np.ndarray  # float64 0..100, nan where not enough data
    tier: np.ndarray  # EngagementTier values
    points: np.ndarray  # float64: the decayed weighted sum behind the score
    open_count: np.ndarray  # int64
    click_count: np.ndarray
    visit_count: np.ndarray
    purchase_count: np.ndarray
    delivery_count: np.ndarray
    days_since_last_signal: np.ndarray  # float64, nan without signals


def machine_open_mask(
    *,
    open_seconds: np.ndarray,
    delivered_seconds: np.ndarray,
    user_agents: np.ndarray,
) -> np.ndarray:
    """True for opens made by a machine, not a person.

    An open is a machine's when it comes within MACHINE_OPEN_SECONDS after its delivery
    (delivered_seconds is nan or negative when unknown), when its user agent is exactly Apple's
    proxy "Mozilla/5.0", or when it contains one of MACHINE_USER_AGENT_MARKERS.
    """
    opened = vector("open_seconds", open_seconds, dtype=np.float64)
    delivered = vector("delivered_seconds", delivered_seconds, dtype=np.float64)
    agents = vector("user_agents", user_agents, dtype=object)
    same_sizes(open_seconds=opened, delivered_seconds=delivered, user_agents=agents)
    finite("open_seconds", opened)

    known = np.isfinite(delivered) & (delivered >= 0)
    lag = np.where(known, opened - delivered, np.inf)
    early = known & (lag >= 0) & (lag <= MACHINE_OPEN_SECONDS)
    # Few distinct user agents repeat over millions of opens: match each once.
    texts = np.array(["" if agent is None else str(agent) for agent in agents], dtype=object)
    if texts.size == 0:
        return early
    distinct, inverse = np.unique(texts, return_inverse=True)
    distinct_is_machine = np.array(
        [_is_machine_agent(agent) for agent in distinct.tolist()], dtype=bool
    )
    return early | distinct_is_machine[inverse.ravel()]


def _is_machine_agent(agent: str) -> bool:
    lowered = agent.strip().lower()
    return lowered == APPLE_PROXY_USER_AGENT or any(
        marker in lowered for marker in MACHINE_USER_AGENT_MARKERS
    )


def engagement_estimate(
    *,
    customer_count: int,
    signal_customer: np.ndarray,
    signal_kind: np.ndarray,
    signal_age_days: np.ndarray,
    deliveries_per_customer: np.ndarray,
) -> Engagement:
    """Score 0..100 from recency-decayed, weighted signals, and its tier.

    points = Σ weight(kind) · 0.5^(age / HALF_LIFE_DAYS); score = 100 · points / (points +
    HALF_SCORE_POINTS). Tiers: highly engaged ≥ 60, engaged ≥ 30, cooling ≥ 10, dormant below;
    not enough data only for customers with no signal and no delivery (someone who received
    mail and never reacted is dormant, which is a finding). Signals dated in the future (clock
    skew) count as today's.
    """
    customers = indexes("signal_customer", signal_customer, count=customer_count)
    kinds = vector("signal_kind", signal_kind)
    if kinds.size and not np.issubdtype(kinds.dtype, np.integer):
        raise ValueError(f"signal_kind must hold integers, got {kinds.dtype}")
    kinds = kinds.astype(np.int64, copy=False)
    if kinds.size and (kinds.min() < 0 or kinds.max() >= len(SignalKind)):
        raise ValueError(f"signal_kind must be a SignalKind (0..{len(SignalKind) - 1})")
    ages = vector("signal_age_days", signal_age_days, dtype=np.float64)
    same_sizes(signal_customer=customers, signal_kind=kinds, signal_age_days=ages)
    finite("signal_age_days", ages)
    deliveries = vector("deliveries_per_customer", deliveries_per_customer, size=customer_count)
    if deliveries.size and not np.issubdtype(deliveries.dtype, np.integer):
        raise ValueError(f"deliveries_per_customer must hold integers, got {deliveries.dtype}")
    deliveries = deliveries.astype(np.int64, copy=False)
    if np.any(deliveries < 0):
        raise ValueError("deliveries_per_customer must not be negative")

    ages = np.maximum(ages, 0.0)
    weight_by_kind = np.array([SIGNAL_WEIGHTS[kind.name.lower()] for kind in SignalKind])
    contribution = weight_by_kind[kinds] * np.exp2(-ages / HALF_LIFE_DAYS)
    points = np.bincount(customers, weights=contribution, minlength=customer_count)
    counts = np.bincount(
        customers * len(SignalKind) + kinds, minlength=customer_count * len(SignalKind)
    ).reshape(customer_count, len(SignalKind))
    last = np.full(customer_count, np.inf)
    np.minimum.at(last, customers, ages)
    last[np.isinf(last)] = np.nan

    has_signal = counts.sum(axis=1) > 0
    has_data = has_signal | (deliveries > 0)
    score = np.where(has_data, 100.0 * points / (points + HALF_SCORE_POINTS), np.nan)
    tier = np.full(customer_count, EngagementTier.NOT_ENOUGH_DATA.value, dtype=object)
    tier[has_data] = EngagementTier.DORMANT.value
    tier[has_data & (score >= COOLING_SCORE)] = EngagementTier.COOLING.value
    tier[has_data & (score >= ENGAGED_SCORE)] = EngagementTier.ENGAGED.value
    tier[has_data & (score >= HIGHLY_ENGAGED_SCORE)] = EngagementTier.HIGHLY_ENGAGED.value
    return Engagement(
        score=score,
        tier=tier,
        points=points,
        open_count=counts[:, SignalKind.OPEN].astype(np.int64),
        click_count=counts[:, SignalKind.CLICK].astype(np.int64),
        visit_count=counts[:, SignalKind.VISIT].astype(np.int64),
        purchase_count=counts[:, SignalKind.PURCHASE].astype(np.int64),
        delivery_count=deliveries,
        days_since_last_signal=last,
    )
