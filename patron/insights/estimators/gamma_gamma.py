"""The Gamma-Gamma estimator of spend per transaction (Fader & Hardie 2013): fit and forecasts.

A customer's transaction values are Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers;
only the number of repeat transactions x and their mean value m_x enter, so the first
transaction is left out by the caller when it is atypical (as in CDNOW).
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

PARAMETER_NAMES = ("p", "q", "gamma")
MINIMUM_CUSTOMERS = 2  # three parameters need more than one customer's average to pin down


@dataclass(frozen=True)
class GammaGammaFit:
    """Fitted Gamma-Gamma parameters; the population mean spend is p * gamma / (q - 1)."""

    p: float
    q: float
    gamma: float
    standard_errors: dict[str, float]  # from the inverse Hessian; nan where it is singular
    log_likelihood: float  # total over customers, weighted
    customer_count: int  # sum of the weights
    is_converged: bool

    def as_dict(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "gamma": self.gamma}


def _paired(frequency: np.ndarray, average_value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    frequencies = np.asarray(frequency, dtype=np.float64).reshape(-1)
    averages = np.asarray(average_value, dtype=np.float64).reshape(-1)
    if len(frequencies) != len(averages):
        raise ValueError(
            "frequency and average_value must have equal lengths, "
            f"got {len(frequencies)} and {len(averages)}"
        )
    return frequencies, averages


def gamma_gamma_fit(
    frequency: np.ndarray,
    average_value: np.ndarray,
    *,
    weights: np.ndarray | None = None,
) -> GammaGammaFit:
    """Maximum-likelihood fit over customers with at least one repeat transaction.

    frequency: repeat transactions (x > 0); average_value: their mean value (> 0).
    """
    frequencies, averages = _paired(frequency, average_value)
    for name, values in (("frequency", frequencies), ("average_value", averages)):
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{name} must be finite (row {int(np.argmin(np.isfinite(values)))})")
        if np.any(values <= 0):
            raise ValueError(
                f"{name} must be positive: fit only customers with repeat transactions "
                f"(row {int(np.argmax(values <= 0))})"
            )
    row_weights = checked_weights(weights, len(frequencies))
    total_weight = float(row_weights.sum())
    if np.count_nonzero(row_weights) < MINIMUM_CUSTOMERS or total_weight < MINIMUM_CUSTOMERS:
        raise ValueError(
            f"gamma_gamma_fit needs at least {MINIMUM_CUSTOMERS} customers, got {total_weight:g}"
        )

    def mean_negative_log_likelihood(parameters: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, gamma = parameters
        terms, gradient_terms = _log_likelihood_and_gradient(p, q, gamma, frequencies, averages)
        return weighted_mean_of_negatives(terms, gradient_terms, row_weights, total_weight)

    # gamma is on the scale of money: start it so that the population mean p * gamma / (q - 1)
    # equals the observed mean spend, with shapes p = 1 and q = 2 (the smallest whole q that
    # gives a finite mean).
    mean_value = float((row_weights * averages).sum()) / total_weight
    fit = maximum_likelihood_fit(
        mean_negative_log_likelihood,
        np.array([1.0, 2.0, mean_value]),
        names=PARAMETER_NAMES,
        total_weight=total_weight,
    )
    p, q, gamma = fit.parameters
    return GammaGammaFit(
        p=float(p),
        q=float(q),
        gamma=float(gamma),
        standard_errors=fit.standard_errors,
        log_likelihood=fit.log_likelihood,
        customer_count=fit.customer_count,
        is_converged=fit.is_converged,
    )


def gamma_gamma_expected_value(
    fit: GammaGammaFit, frequency: np.ndarray, average_value: np.ndarray
) -> np.ndarray:
    """E[mean transaction value | x, m_x]: a weighted mean of m_x and the population mean.

    For x = 0 it is the population mean p * gamma / (q - 1) (infinite when q <= 1, where the
    fitted population has no finite mean).
    """
    frequencies, averages = _paired(frequency, average_value)
    for name, values in (("frequency", frequencies), ("average_value", averages)):
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError(f"{name} must be finite and non-negative")
    population_mean = fit.p * fit.gamma / (fit.q - 1.0) if fit.q > 1.0 else np.inf
    # Weight on the customer's own mean: p x / (p x + q - 1), 0 for a customer with no repeat.
    with np.errstate(divide="ignore", invalid="ignore"):
        own_weight = fit.p * frequencies / (fit.p * frequencies + fit.q - 1.0)
        blended = own_weight * averages + (1.0 - own_weight) * population_mean
    return np.where(frequencies > 0, blended, population_mean)


def _log_likelihood_and_gradient(
    p: float, q: float, gamma: float, frequency: np.ndarray, average_value: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log density of m_x given x, and its gradient, shape (3, customers)."""
    shape = p * frequency
    log_total = np.log(gamma + average_value * frequency)
    terms = (
        special.gammaln(shape + q)
        - special.gammaln(shape)
        - special.gammaln(q)
        + q * np.log(gamma)
        + (shape - 1.0) * np.log(average_value)
        + shape * np.log(frequency)
        - (shape + q) * log_total
    )
    digamma_shape_q = special.digamma(shape + q)
    gradient = np.empty((3, len(frequency)))
    gradient[0] = frequency * (
        digamma_shape_q
        - special.digamma(shape)
        + np.log(average_value)
        + np.log(frequency)
        - log_total
    )
    gradient[1] = digamma_shape_q - special.digamma(q) + np.log(gamma) - log_total
    gradient[2] = q / gamma - (shape + q) / (gamma + average_value * frequency)
    return terms, gradient
