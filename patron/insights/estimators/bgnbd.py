"""The BG/NBD estimator of repeat buying (Fader, Hardie & Lee 2005): its fit and its forecasts.

Every function takes per-customer arrays ``frequency`` (x, repeat purchases), ``recency``
(t_x, time from the first to the last purchase) and ``age`` (T, time from the first purchase
to now) in one time unit of the caller's choosing (Patron passes days, CDNOW weeks); the
fitted ``alpha`` and every horizon are in that same unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from patron.insights.estimators.likelihood import (
    checked_weights,
    maximum_likelihood_fit,
    weighted_mean_of_negatives,
)

PARAMETER_NAMES = ("r", "alpha", "a", "b")


@dataclass(frozen=True)
class BgNbdFit:
    """Fitted BG/NBD parameters: purchase rates ~ Gamma(r, alpha), drop-out ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float
    standard_errors: dict[str, float]  # from the inverse Hessian; nan where it is singular
    log_likelihood: float  # total over customers, weighted
    customer_count: int  # sum of the weights
    is_converged: bool

    def as_dict(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}


def bgnbd_log_likelihood(
    parameters: np.ndarray,
    frequency: np.ndarray,
    recency: np.ndarray,
    age: np.ndarray,
    weights: np.ndarray | None = None,
) -> float:
    """Total (weighted) log-likelihood of (r, alpha, a, b) for the given customers."""
    frequency, recency, age = _checked_summary(frequency, recency, age)
    row_weights = checked_weights(weights, len(frequency))
    r, alpha, a, b = _checked_parameters(parameters)
    terms, _ = _log_likelihood_and_gradient(r, alpha, a, b, _Customers.of(frequency, recency, age))
    return float((row_weights * terms).sum())


def bgnbd_fit(
    frequency: np.ndarray,
    recency: np.ndarray,
    age: np.ndarray,
    *,
    weights: np.ndarray | None = None,
) -> BgNbdFit:
    """Maximum-likelihood fit; ``weights`` count identical (x, t_x, T) rows compressed into one."""
    frequency, recency, age = _checked_summary(frequency, recency, age)
    row_weights = checked_weights(weights, len(frequency))
    total_weight = float(row_weights.sum())
    if total_weight <= 0:
        raise ValueError("bgnbd_fit needs at least one customer (weights sum to 0)")
    customers = _Customers.of(frequency, recency, age)

    def mean_negative_log_likelihood(parameters: np.ndarray) -> tuple[float, np.ndarray]:
        # Mean rather than total, so the optimiser's tolerances mean the same for any size.
        r, alpha, a, b = parameters
        terms, gradient_terms = _log_likelihood_and_gradient(r, alpha, a, b, customers)
        return weighted_mean_of_negatives(terms, gradient_terms, row_weights, total_weight)

    weighted_mean_age = float((row_weights * age).sum()) / total_weight
    # alpha is on the scale of the inter-purchase time, so start it at the customers' own time
    # scale; r = 1 and a = b = 1 (a flat drop-out prior) are neutral starting shapes.
    starting_alpha = weighted_mean_age if weighted_mean_age > 0 else 1.0
    fit = maximum_likelihood_fit(
        mean_negative_log_likelihood,
        np.array([1.0, starting_alpha, 1.0, 1.0]),
        names=PARAMETER_NAMES,
        total_weight=total_weight,
    )
    r, alpha, a, b = fit.parameters
    return BgNbdFit(
        r=float(r),
        alpha=float(alpha),
        a=float(a),
        b=float(b),
        standard_errors=fit.standard_errors,
        log_likelihood=fit.log_likelihood,
        customer_count=fit.customer_count,
        is_converged=fit.is_converged,
    )


def bgnbd_probability_alive(
    fit: BgNbdFit, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """P(still active at T | x, t_x, T); 1 for a customer with no repeat purchase (x = 0)."""
    frequency, recency, age = _checked_summary(frequency, recency, age)
    return _probability_alive(fit, frequency, recency, age)


def _probability_alive(
    fit: BgNbdFit, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> np.ndarray:
    # 1 / (1 + odds) computed from the log-odds, so a huge x neither overflows nor gives nan.
    return np.exp(-np.logaddexp(0.0, _log_odds_dropped(fit, frequency, recency, age)))


def bgnbd_expected_purchases(
    fit: BgNbdFit,
    horizon: float | np.ndarray,
    frequency: np.ndarray,
    recency: np.ndarray,
    age: np.ndarray,
) -> np.ndarray:
    """E[purchases in (T, T + horizon] | x, t_x, T] (equation 10 of the paper).

    ``horizon`` is one number for everyone or one per customer.
    """
    frequency, recency, age = _checked_summary(frequency, recency, age)
    horizons = _checked_horizon(horizon)
    shape = fit.r + frequency
    # Pfaff's transformation turns ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z) with
    # z = t/(alpha+T+t) into one 2F1 of a non-positive argument, which neither overflows for a
    # large x nor loses precision near z = 1.
    hypergeometric = special.hyp2f1(
        shape, fit.a - 1.0, fit.a + fit.b + frequency - 1.0, -horizons / (fit.alpha + age)
    )
    # scipy's 2F1 gives nan for an argument below -1 once a and b are large (a population with
    # almost no dropout drives them toward their bound); the untransformed form, with its
    # argument in [0, 1), stays finite there.
    failed = ~np.isfinite(hypergeometric)
    if np.any(failed):
        horizon_all = np.broadcast_to(horizons, hypergeometric.shape)[failed]
        base = fit.alpha + np.broadcast_to(age, hypergeometric.shape)[failed]
        repeats = np.broadcast_to(frequency, hypergeometric.shape)[failed]
        hypergeometric = np.array(hypergeometric, dtype=np.float64)
        hypergeometric[failed] = np.exp(
            (fit.r + repeats) * np.log(base / (base + horizon_all))
        ) * special.hyp2f1(
            fit.r + repeats,
            fit.b + repeats,
            fit.a + fit.b + repeats - 1.0,
            horizon_all / (base + horizon_all),
        )
    scale = (fit.a + fit.b + frequency - 1.0) / (fit.a - 1.0)
    probability_alive = _probability_alive(fit, frequency, recency, age)
    expected = scale * (1.0 - hypergeometric) * probability_alive
    return np.maximum(np.asarray(expected, dtype=np.float64), 0.0)  # no rounding below zero


def bgnbd_probability_no_purchase(
    fit: BgNbdFit,
    horizon: float | np.ndarray,
    frequency: np.ndarray,
    recency: np.ndarray,
    age: np.ndarray,
) -> np.ndarray:
    """P(no purchase in (T, T + horizon] | x, t_x, T): dropped out, or alive and silent."""
    frequency, recency, age = _checked_summary(frequency, recency, age)
    horizons = _checked_horizon(horizon)
    probability_alive = _probability_alive(fit, frequency, recency, age)
    # P(a purchase | alive) = 1 - ((alpha+T)/(alpha+T+t))^(r+x), via expm1 for small horizons.
    probability_purchase_if_alive = -np.expm1(
        -(fit.r + frequency) * np.log1p(horizons / (fit.alpha + age))
    )
    return np.asarray(1.0 - probability_alive * probability_purchase_if_alive, dtype=np.float64)


def bgnbd_churn_probability(
    fit: BgNbdFit,
    horizon: float | np.ndarray,
    frequency: np.ndarray,
    recency: np.ndarray,
    age: np.ndarray,
) -> np.ndarray:
    """Patron's churn risk: exp(-E[X(T, T + horizon)]), no purchase in the horizon read as a
    Poisson count with the BG/NBD's conditional expectation.

    Chosen by measurement, not habit (docs/insights.md): on the CDNOW holdout it ranks the
    customers who bought nothing exactly as the expected purchases do (AUC 0.7725 on the
    sample, 0.7630 on all 23,570), better than the BG/NBD's own P(no purchase) (0.7569, 0.7466)
    and far better than 1 - P(alive) (0.32: every one-time buyer is "alive" by construction);
    its Brier score is also lower (0.1603 against 0.1612 on the sample).
    """
    expected = bgnbd_expected_purchases(fit, horizon, frequency, recency, age)
    return np.asarray(np.exp(-expected), dtype=np.float64)


# Bisection steps for the next-purchase wait: 2^-12 of a 365-day horizon is about two hours.
WAIT_BISECTION_STEPS = 12


def bgnbd_next_purchase_wait(
    fit: BgNbdFit,
    horizon: float,
    frequency: np.ndarray,
    recency: np.ndarray,
    age: np.ndarray,
) -> np.ndarray:
    """The wait until a purchase becomes more likely than not, by the churn reading above:
    the w at which exp(-E[X(T, T + w)]) falls to 1/2, i.e. E[X] = ln 2. nan where that does
    not happen within the horizon (the customer is not expected to buy in it)."""
    frequency, recency, age = _checked_summary(frequency, recency, age)
    if not np.isfinite(horizon) or horizon <= 0:
        raise ValueError(f"horizon must be a positive number, got {horizon}")
    target = np.log(2.0)
    wait = np.full(frequency.size, np.nan)
    reaches = bgnbd_expected_purchases(fit, horizon, frequency, recency, age) >= target
    low = np.zeros(int(reaches.sum()))
    high = np.full(low.size, float(horizon))
    f, r, a = frequency[reaches], recency[reaches], age[reaches]
    for _ in range(WAIT_BISECTION_STEPS):
        middle = (low + high) / 2
        above = bgnbd_expected_purchases(fit, middle, f, r, a) >= target
        high = np.where(above, middle, high)
        low = np.where(above, low, middle)
    wait[reaches] = high
    return wait


def bgnbd_expected_purchases_new(fit: BgNbdFit, horizon: float | np.ndarray) -> np.ndarray:
    """E[X(t)]: repeat purchases in its first ``horizon`` of a new customer (equation 7)."""
    horizons = _checked_horizon(horizon)
    # The same Pfaff transformation as in bgnbd_expected_purchases, with x = 0 and T = 0.
    hypergeometric = special.hyp2f1(fit.r, fit.a - 1.0, fit.a + fit.b - 1.0, -horizons / fit.alpha)
    scale = (fit.a + fit.b - 1.0) / (fit.a - 1.0)
    return np.maximum(np.asarray(scale * (1.0 - hypergeometric), dtype=np.float64), 0.0)


def _log_odds_dropped(
    fit: BgNbdFit, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """log[(a/(b+x-1)) ((alpha+T)/(alpha+t_x))^(r+x)] for x > 0, -inf for x = 0."""
    has_repeat = frequency > 0
    repeats = np.where(has_repeat, frequency, 1.0)
    log_odds = (
        np.log(fit.a)
        - np.log(fit.b + repeats - 1.0)
        + (fit.r + repeats) * (np.log(fit.alpha + age) - np.log(fit.alpha + recency))
    )
    return np.where(has_repeat, log_odds, -np.inf)


@dataclass(frozen=True)
class _Customers:
    """The checked arrays plus what the likelihood needs of x, computed once per fit.

    Special functions of x are evaluated once per distinct x (a few hundred values even for
    a million customers) and spread back through ``frequency_index``.
    """

    frequency: np.ndarray
    recency: np.ndarray
    age: np.ndarray
    distinct_frequency: np.ndarray
    frequency_index: np.ndarray
    has_repeat: np.ndarray

    @classmethod
    def of(cls, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray) -> _Customers:
        distinct_frequency, frequency_index = np.unique(frequency, return_inverse=True)
        return cls(
            frequency=frequency,
            recency=recency,
            age=age,
            distinct_frequency=distinct_frequency,
            frequency_index=frequency_index.reshape(-1),
            has_repeat=frequency > 0,
        )


def _log_likelihood_and_gradient(
    r: float, alpha: float, a: float, b: float, customers: _Customers
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood (equation 6) and its gradient, shape (4, customers)."""
    frequency, recency, age = customers.frequency, customers.recency, customers.age
    distinct, index, has_repeat = (
        customers.distinct_frequency,
        customers.frequency_index,
        customers.has_repeat,
    )
    distinct_repeats = np.maximum(distinct, 1.0)  # keeps b + x - 1 > 0 on x = 0 rows
    log_alpha_age = np.log(alpha + age)
    log_alpha_recency = np.log(alpha + recency)
    # L = Gamma part * Beta part * [(alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x)]
    gamma_part = (special.gammaln(r + distinct) - special.gammaln(r) + r * np.log(alpha))[index]
    beta_part = (
        special.gammaln(a + b)
        + special.gammaln(b + distinct)
        - special.gammaln(b)
        - special.gammaln(a + b + distinct)
    )[index]
    survived_term = -(r + frequency) * log_alpha_age
    dropped_term = np.where(
        has_repeat,
        (np.log(a) - np.log(b + distinct_repeats - 1.0))[index]
        - (r + frequency) * log_alpha_recency,
        -np.inf,
    )
    mixture = np.logaddexp(survived_term, dropped_term)
    terms = gamma_part + beta_part + mixture
    # Shares of the two branches of the mixture, for its derivatives.
    dropped_share = np.exp(dropped_term - mixture)
    survived_share = 1.0 - dropped_share

    digamma_a_b = special.digamma(a + b)
    digamma_a_b_x = special.digamma(a + b + distinct)
    gradient = np.empty((4, len(frequency)))
    gradient[0] = (
        (special.digamma(r + distinct) - special.digamma(r) + np.log(alpha))[index]
        - survived_share * log_alpha_age
        - dropped_share * log_alpha_recency
    )
    gradient[1] = (
        r / alpha
        - survived_share * (r + frequency) / (alpha + age)
        - dropped_share * (r + frequency) / (alpha + recency)
    )
    gradient[2] = (digamma_a_b - digamma_a_b_x)[index] + dropped_share / a
    gradient[3] = (
        digamma_a_b + special.digamma(b + distinct) - special.digamma(b) - digamma_a_b_x
    )[index] - dropped_share / (b + distinct_repeats - 1.0)[index]
    return terms, gradient


def _checked_parameters(parameters: np.ndarray) -> tuple[float, float, float, float]:
    values = np.asarray(parameters, dtype=np.float64).reshape(-1)
    if values.shape != (4,):
        raise ValueError(f"parameters must be (r, alpha, a, b), got {values.shape[0]} values")
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"parameters (r, alpha, a, b) must be finite and positive, got {values}")
    r, alpha, a, b = (float(value) for value in values)
    return r, alpha, a, b


def _checked_summary(
    frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three arrays as float64 vectors, or ValueError naming what is wrong."""
    arrays = {
        "frequency": np.asarray(frequency, dtype=np.float64).reshape(-1),
        "recency": np.asarray(recency, dtype=np.float64).reshape(-1),
        "age": np.asarray(age, dtype=np.float64).reshape(-1),
    }
    lengths = {name: len(values) for name, values in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"frequency, recency and age must have equal lengths, got {lengths}")
    for name, values in arrays.items():
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{name} must be finite (row {int(np.argmin(np.isfinite(values)))})")
        if np.any(values < 0):
            raise ValueError(f"{name} must be non-negative (row {int(np.argmax(values < 0))})")
    frequency_values, recency_values, age_values = arrays.values()
    if np.any(frequency_values != np.round(frequency_values)):
        row = int(np.argmax(frequency_values != np.round(frequency_values)))
        raise ValueError(f"frequency must count whole purchases (row {row})")
    if np.any(recency_values > age_values):
        row = int(np.argmax(recency_values > age_values))
        raise ValueError(f"recency must not exceed age (row {row})")
    if np.any((frequency_values == 0) & (recency_values != 0)):
        row = int(np.argmax((frequency_values == 0) & (recency_values != 0)))
        raise ValueError(f"recency must be 0 when frequency is 0 (row {row})")
    return frequency_values, recency_values, age_values


def _checked_horizon(horizon: float | np.ndarray) -> np.ndarray:
    horizons = np.asarray(horizon, dtype=np.float64)
    if not np.all(np.isfinite(horizons)) or np.any(horizons < 0):
        raise ValueError("horizon must be finite and non-negative")
    return horizons
