"""The maximum-likelihood minimiser both lifetime fits share."""

from __future__ import annotations

import numpy as np
from scipy import optimize

from patron.insights.estimators.gamma_gamma import _log_likelihood_and_gradient
from patron.insights.estimators.likelihood import (
    LBFGSB_OPTIONS,
    LOG_PARAMETER_BOUND,
    minimise_over_logarithms,
    weighted_mean_of_negatives,
)
from patron.insights.tests.test_estimators_lifetime import simulate_gamma_gamma


def test_a_stop_at_the_optimum_without_reported_success_is_converged_and_not_rescued() -> None:
    # given 1,000 simulated repeat buyers (parameters like the demo shop's) on which
    # L-BFGS-B's line search gives up once the mean log-likelihood stops changing
    frequency, average_value = simulate_gamma_gamma(
        np.random.default_rng(2), 1_000, 15.85, 7.34, 18.9
    )
    customers = np.ones(frequency.size)
    evaluations = 0

    def objective(parameters: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal evaluations
        evaluations += 1
        p, q, gamma = parameters
        terms, gradient_terms = _log_likelihood_and_gradient(
            p, q, gamma, frequency.astype(np.float64), average_value
        )
        return weighted_mean_of_negatives(terms, gradient_terms, customers, frequency.size)

    start = np.array([1.0, 2.0, float(average_value.mean())])

    def in_logarithms(log_parameters: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = objective(np.exp(log_parameters))
        return value, gradient * np.exp(log_parameters)

    plain = optimize.minimize(
        in_logarithms,
        np.log(start),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-LOG_PARAMETER_BOUND, LOG_PARAMETER_BOUND)] * 3,
        options=LBFGSB_OPTIONS,
    )
    assert not plain.success  # the case under test
    evaluations = 0

    # when
    result = minimise_over_logarithms(objective, start)

    # then it is the optimum, found without Nelder-Mead's thousands of evaluations
    assert result.is_converged
    assert evaluations < 3 * plain.nfev
    np.testing.assert_allclose(result.parameters, np.exp(plain.x), rtol=1e-6)
    _, gradient = objective(result.parameters)
    assert np.max(np.abs(gradient * result.parameters)) < 1e-6
