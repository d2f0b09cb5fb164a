"""Unit tests of the BG/NBD and Gamma-Gamma estimators and the forecast measures, no database."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from patron.insights.estimators.bgnbd import (
    BgNbdFit,
    bgnbd_expected_purchases,
    bgnbd_expected_purchases_new,
    bgnbd_fit,
    bgnbd_log_likelihood,
    bgnbd_probability_alive,
    bgnbd_probability_no_purchase,
)
from patron.insights.estimators.evaluation import (
    CalibrationRow,
    calibration_by_frequency,
    roc_auc,
)
from patron.insights.estimators.gamma_gamma import (
    GammaGammaFit,
    gamma_gamma_expected_value,
    gamma_gamma_fit,
)

# The published CDNOW estimates: realistic parameters for the forecast tests.
CDNOW_FIT = BgNbdFit(
    r=0.243,
    alpha=4.414,
    a=0.793,
    b=2.426,
    standard_errors={},
    log_likelihood=-9582.4,
    customer_count=2357,
    is_converged=True,
)
GAMMA_GAMMA_FIT = GammaGammaFit(
    p=6.25,
    q=3.74,
    gamma=15.44,
    standard_errors={},
    log_likelihood=-4055.9,
    customer_count=946,
    is_converged=True,
)


def naive_bgnbd_likelihood(
    r: float, alpha: float, a: float, b: float, x: int, t_x: float, age: float
) -> float:
    """Equation 6 of Fader, Hardie & Lee (2005), term by term, without logarithms."""
    gamma_part = math.gamma(r + x) * alpha**r / math.gamma(r)
    beta_part = special.beta(a, b + x) / special.beta(a, b)
    survived = (1 / (alpha + age)) ** (r + x)
    dropped = a / (b + x - 1) * (1 / (alpha + t_x)) ** (r + x) if x > 0 else 0.0
    return gamma_part * beta_part * (survived + dropped)


def simulate_bgnbd(
    generator: np.random.Generator,
    customers: int,
    r: float,
    alpha: float,
    a: float,
    b: float,
    ages: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(x, t_x) of customers watched for ``ages`` since their first purchase.

    Each buys at a Poisson rate lambda ~ Gamma(r, alpha) and leaves right after a repeat
    purchase with probability p ~ Beta(a, b).
    """
    rates = generator.gamma(shape=r, scale=1 / alpha, size=customers)
    drop_probabilities = generator.beta(a, b, size=customers)
    frequency = np.zeros(customers, dtype=np.int64)
    recency = np.zeros(customers)
    clock = np.zeros(customers)
    # Drop-out happens right after a repeat purchase; everyone is active after their first.
    is_active = np.ones(customers, dtype=bool)
    while np.any(is_active):
        clock[is_active] += generator.exponential(1 / rates[is_active])
        is_active &= clock <= ages
        frequency[is_active] += 1
        recency[is_active] = clock[is_active]
        is_active &= generator.random(customers) >= drop_probabilities
    return frequency, recency


def test_bgnbd_log_likelihood_equals_the_naive_formula_on_hand_cases() -> None:
    # given customers with no repeat, several repeats, a repeat on day one, and age 0
    frequency = np.array([0, 2, 1, 5, 0])
    recency = np.array([0.0, 5.0, 0.0, 9.5, 0.0])
    age = np.array([10.0, 10.0, 3.0, 12.0, 0.0])
    r, alpha, a, b = 0.7, 3.0, 1.2, 2.5

    # when
    log_likelihood = bgnbd_log_likelihood(np.array([r, alpha, a, b]), frequency, recency, age)

    # then
    expected = sum(
        math.log(naive_bgnbd_likelihood(r, alpha, a, b, x, t_x, big_t))
        for x, t_x, big_t in zip(frequency.tolist(), recency.tolist(), age.tolist(), strict=True)
    )
    assert log_likelihood == pytest.approx(expected, rel=1e-12)


def test_bgnbd_log_likelihood_weights_count_rows() -> None:
    # given
    parameters = np.array([0.5, 2.0, 0.9, 1.7])
    frequency, recency, age = np.array([0, 3]), np.array([0.0, 4.0]), np.array([6.0, 8.0])

    # when
    weighted = bgnbd_log_likelihood(parameters, frequency, recency, age, np.array([3.0, 2.0]))

    # then
    expanded = bgnbd_log_likelihood(
        parameters,
        np.array([0, 0, 0, 3, 3]),
        np.array([0, 0, 0, 4.0, 4.0]),
        np.array([6.0, 6.0, 6.0, 8.0, 8.0]),
    )
    assert weighted == pytest.approx(expanded, rel=1e-12)


def test_bgnbd_fit_recovers_the_parameters_it_was_simulated_from() -> None:
    # given 20,000 customers simulated from the BG/NBD process, watched 20 to 60 weeks
    generator = np.random.default_rng(20050601)
    true_parameters = {"r": 0.5, "alpha": 4.0, "a": 0.8, "b": 2.5}
    ages = generator.uniform(20.0, 60.0, size=20_000)
    frequency, recency = simulate_bgnbd(generator, 20_000, 0.5, 4.0, 0.8, 2.5, ages)

    # when
    fit = bgnbd_fit(frequency, recency, ages)

    # then each estimate lies within 3 of its own standard errors of the truth (a 0.3 % miss
    # rate per parameter for a correct estimator), and those errors are small enough that this
    # pins r within 5 %, alpha within 7 %, a within 15 % and b within 20 % of the truth.
    assert fit.is_converged
    assert fit.customer_count == 20_000
    largest_relative_miss = {"r": 0.05, "alpha": 0.07, "a": 0.15, "b": 0.20}
    for name, true_value in true_parameters.items():
        estimate, error = fit.as_dict()[name], fit.standard_errors[name]
        assert abs(estimate - true_value) < 3 * error, (name, estimate, error)
        assert 3 * error < largest_relative_miss[name] * true_value, (name, error)
    assert fit.log_likelihood == pytest.approx(
        bgnbd_log_likelihood(np.array(list(fit.as_dict().values())), frequency, recency, ages),
        rel=1e-12,
    )


def test_bgnbd_fit_with_weights_equals_the_fit_of_the_expanded_rows() -> None:
    # given simulated customers in whole weeks, so that many rows repeat
    generator = np.random.default_rng(7)
    ages = generator.integers(10, 40, size=3_000).astype(np.float64)
    frequency, recency = simulate_bgnbd(generator, 3_000, 0.6, 5.0, 0.9, 3.0, ages)
    recency = np.floor(recency)
    rows, counts = np.unique(
        np.stack([frequency, recency, ages], axis=1), axis=0, return_counts=True
    )

    # when
    expanded = bgnbd_fit(frequency, recency, ages)
    compressed = bgnbd_fit(rows[:, 0], rows[:, 1], rows[:, 2], weights=counts)

    # then
    assert len(rows) < 1_500
    assert compressed.customer_count == expanded.customer_count == 3_000
    assert compressed.log_likelihood == pytest.approx(expanded.log_likelihood, rel=1e-9)
    for name, value in expanded.as_dict().items():
        assert compressed.as_dict()[name] == pytest.approx(value, rel=1e-4), name
        assert compressed.standard_errors[name] == pytest.approx(
            expanded.standard_errors[name], rel=1e-3
        ), name


@pytest.mark.parametrize(
    ("frequency", "recency", "age", "weights", "message"),
    [
        ([1, 2], [1.0], [2.0], None, "equal lengths"),
        ([-1], [0.0], [2.0], None, "frequency must be non-negative"),
        ([1], [-1.0], [2.0], None, "recency must be non-negative"),
        ([1], [1.0], [float("nan")], None, "age must be finite"),
        ([1], [1.0], [float("inf")], None, "age must be finite"),
        ([1], [3.0], [2.0], None, "recency must not exceed age"),
        ([0], [1.0], [2.0], None, "recency must be 0 when frequency is 0"),
        ([1.5], [1.0], [2.0], None, "frequency must count whole purchases"),
        ([1], [1.0], [2.0], [1.0, 2.0], "weights must have one entry per row"),
        ([1], [1.0], [2.0], [-1.0], "weights must be finite and non-negative"),
        ([1], [1.0], [2.0], [0.0], "at least one customer"),
    ],
)
def test_bgnbd_fit_rejects_bad_input_naming_the_problem(
    frequency: list[float],
    recency: list[float],
    age: list[float],
    weights: list[float] | None,
    message: str,
) -> None:
    # given the arrays above; when / then
    with pytest.raises(ValueError, match=message):
        bgnbd_fit(
            np.array(frequency),
            np.array(recency),
            np.array(age),
            weights=None if weights is None else np.array(weights),
        )


def test_bgnbd_log_likelihood_rejects_non_positive_parameters() -> None:
    # given
    one_customer = (np.array([1]), np.array([1.0]), np.array([2.0]))

    # when / then
    with pytest.raises(ValueError, match="must be finite and positive"):
        bgnbd_log_likelihood(np.array([0.5, 0.0, 1.0, 1.0]), *one_customer)
    with pytest.raises(ValueError, match=r"must be \(r, alpha, a, b\)"):
        bgnbd_log_likelihood(np.array([0.5, 1.0, 1.0]), *one_customer)


def test_customers_of_age_zero_and_recency_zero_get_finite_forecasts() -> None:
    # given a customer whose first order is today, and one whose repeats were all on day one
    frequency, recency, age = np.array([0, 3]), np.array([0.0, 0.0]), np.array([0.0, 10.0])

    # when
    alive = bgnbd_probability_alive(CDNOW_FIT, frequency, recency, age)
    expected = bgnbd_expected_purchases(CDNOW_FIT, 39.0, frequency, recency, age)
    silent = bgnbd_probability_no_purchase(CDNOW_FIT, 39.0, frequency, recency, age)
    log_likelihood = bgnbd_log_likelihood(
        np.array(list(CDNOW_FIT.as_dict().values())), frequency, recency, age
    )

    # then the newcomer forecasts as a new customer would, over the same horizon
    assert np.all(np.isfinite(alive)) and np.all(np.isfinite(expected))
    assert np.all(np.isfinite(silent)) and math.isfinite(log_likelihood)
    assert alive[0] == 1.0
    assert expected[0] == pytest.approx(bgnbd_expected_purchases_new(CDNOW_FIT, 39.0), rel=1e-12)
    assert 0.0 < alive[1] < 1.0


def test_a_customer_with_very_many_purchases_gets_finite_forecasts() -> None:
    # given 10,000 repeats in 100 weeks, the last one long ago or a moment ago
    frequency = np.array([10_000, 10_000])
    recency, age = np.array([50.0, 99.999]), np.array([100.0, 100.0])

    # when
    alive = bgnbd_probability_alive(CDNOW_FIT, frequency, recency, age)
    expected = bgnbd_expected_purchases(CDNOW_FIT, 10.0, frequency, recency, age)

    # then the long-silent one is surely gone; the recent one buys at its posterior rate
    # (r+x)/(alpha+T) a week, a little less as it may still drop out (p ~ Beta(a, b+x)).
    assert alive[0] == 0.0 and expected[0] == 0.0
    assert alive[1] == pytest.approx(1.0, abs=1e-3)
    purchases_if_staying = (0.243 + 10_000) / (4.414 + 100) * 10
    assert 0.9 * purchases_if_staying < expected[1] < purchases_if_staying


def test_probability_alive_is_one_without_repeat_purchases() -> None:
    # given
    frequency, recency, age = np.zeros(3), np.zeros(3), np.array([0.0, 5.0, 500.0])

    # when
    alive = bgnbd_probability_alive(CDNOW_FIT, frequency, recency, age)

    # then
    assert alive.tolist() == [1.0, 1.0, 1.0]


def test_probability_alive_falls_with_time_since_the_last_purchase() -> None:
    # given three customers with 4 repeats, the last 0, 10 and 30 weeks ago
    frequency, recency, age = np.full(3, 4), np.array([30.0, 20.0, 0.0]), np.full(3, 30.0)

    # when
    alive = bgnbd_probability_alive(CDNOW_FIT, frequency, recency, age)

    # then, against 1 / (1 + a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))
    odds = 0.793 / (2.426 + 3) * ((4.414 + 30) / (4.414 + recency)) ** (0.243 + 4)
    assert alive == pytest.approx(1 / (1 + odds), rel=1e-12)
    assert alive[0] > alive[1] > alive[2]


def test_expected_purchases_match_equation_ten_and_grow_with_the_horizon() -> None:
    # given one customer with 2 repeats, the last at week 20 of 30, and growing horizons
    horizons = np.array([0.0, 1.0, 10.0, 39.0, 100.0, 1000.0])
    frequency, recency, age = np.full(6, 2), np.full(6, 20.0), np.full(6, 30.0)

    # when
    expected = bgnbd_expected_purchases(CDNOW_FIT, horizons, frequency, recency, age)
    silent = bgnbd_probability_no_purchase(CDNOW_FIT, horizons, frequency, recency, age)

    # then equation 10 as printed (its 2F1 argument stays below 0.98 here, where hyp2f1 is exact)
    r, alpha, a, b, x = 0.243, 4.414, 0.793, 2.426, 2
    printed = (
        (a + b + x - 1)
        / (a - 1)
        * (
            1
            - ((alpha + 30) / (alpha + 30 + horizons[:-1])) ** (r + x)
            * special.hyp2f1(
                r + x, b + x, a + b + x - 1, horizons[:-1] / (alpha + 30 + horizons[:-1])
            )
        )
        / (1 + a / (b + x - 1) * ((alpha + 30) / (alpha + 20)) ** (r + x))
    )
    assert expected[:-1] == pytest.approx(printed, rel=1e-9, abs=1e-15)
    assert expected[0] == 0.0 and silent[0] == 1.0
    assert np.all(np.diff(expected) > 0)
    assert np.all(np.diff(silent) < 0)


def test_probability_no_purchase_is_the_dropped_plus_the_silent_alive() -> None:
    # given
    frequency, recency, age = np.array([0, 3]), np.array([0.0, 12.0]), np.array([20.0, 25.0])

    # when
    silent = bgnbd_probability_no_purchase(CDNOW_FIT, 39.0, frequency, recency, age)

    # then
    alive = bgnbd_probability_alive(CDNOW_FIT, frequency, recency, age)
    silent_if_alive = ((4.414 + age) / (4.414 + age + 39.0)) ** (0.243 + frequency)
    assert silent == pytest.approx(1 - alive + alive * silent_if_alive, rel=1e-12)


def test_expected_purchases_of_a_new_customer_match_equation_seven() -> None:
    # given
    horizons = np.array([1.0, 39.0, 78.0])

    # when
    expected = bgnbd_expected_purchases_new(CDNOW_FIT, horizons)

    # then
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    printed = (
        (a + b - 1)
        / (a - 1)
        * (
            1
            - (alpha / (alpha + horizons)) ** r
            * special.hyp2f1(r, b, a + b - 1, horizons / (alpha + horizons))
        )
    )
    assert expected == pytest.approx(printed, rel=1e-9)


def test_bgnbd_fit_without_any_repeat_buyer_reports_no_convergence() -> None:
    # given nobody ever came back: the likelihood has no interior optimum
    age = np.linspace(1.0, 50.0, 100)

    # when
    fit = bgnbd_fit(np.zeros(100), np.zeros(100), age)

    # then
    assert not fit.is_converged
    assert all(math.isnan(error) for error in fit.standard_errors.values())


def test_roc_auc_of_a_hand_example() -> None:
    # given 2 positives and 2 negatives: 3 of 4 pairs ordered right
    scores, labels = np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])

    # when / then
    assert roc_auc(scores, labels) == 0.75


def test_roc_auc_counts_ties_as_half() -> None:
    # given pairs (0.5 vs 0.5) tied, (0.5 vs 0.2), (0.9 vs 0.5), (0.9 vs 0.2) right
    scores, labels = np.array([0.5, 0.5, 0.2, 0.9]), np.array([True, False, False, True])

    # when / then
    assert roc_auc(scores, labels) == 0.875


def test_roc_auc_needs_both_classes() -> None:
    # given / when / then
    with pytest.raises(ValueError, match="both classes"):
        roc_auc(np.array([0.2, 0.3]), np.array([1, 1]))
    with pytest.raises(ValueError, match="equal lengths"):
        roc_auc(np.array([0.2, 0.3]), np.array([1]))


def test_calibration_by_frequency_averages_per_frequency_with_an_open_last_row() -> None:
    # given
    frequency = np.array([0, 0, 1, 2, 3, 9])
    predicted = np.array([0.25, 0.75, 1.0, 2.0, 3.0, 5.0])
    actual = np.array([0, 1, 2, 1, 4, 6])

    # when
    rows = calibration_by_frequency(frequency, predicted, actual, max_frequency=3)

    # then
    assert rows == [
        CalibrationRow("0", 2, 0.5, 0.5),
        CalibrationRow("1", 1, 1.0, 2.0),
        CalibrationRow("2", 1, 2.0, 1.0),
        CalibrationRow("3+", 2, 4.0, 5.0),
    ]


def test_gamma_gamma_expected_value_shrinks_toward_the_population_mean() -> None:
    # given customers who spent 100 on average over 1, 5 and 50 repeats, and one with none
    frequency, average_value = np.array([1, 5, 50, 0]), np.array([100.0, 100.0, 100.0, 0.0])

    # when
    expected = gamma_gamma_expected_value(GAMMA_GAMMA_FIT, frequency, average_value)

    # then each lies between the population mean and its own mean, nearer its own the more it bought
    population_mean = 6.25 * 15.44 / (3.74 - 1)
    own_weight = 6.25 * frequency[:3] / (6.25 * frequency[:3] + 3.74 - 1)
    assert expected[:3] == pytest.approx(own_weight * 100 + (1 - own_weight) * population_mean)
    assert population_mean < expected[0] < expected[1] < expected[2] < 100.0
    assert expected[3] == pytest.approx(population_mean, rel=1e-12)


def simulate_gamma_gamma(
    generator: np.random.Generator, customers: int, p: float, q: float, gamma: float
) -> tuple[np.ndarray, np.ndarray]:
    """(x, mean value) of customers with spend rate nu ~ Gamma(q, gamma), values ~ Gamma(p, nu)."""
    frequency = generator.integers(1, 10, size=customers)
    rates = generator.gamma(shape=q, scale=1 / gamma, size=customers)
    # The mean of x independent Gamma(p, nu) values is Gamma(p x, nu x).
    average_value = generator.gamma(shape=p * frequency, scale=1 / (rates * frequency))
    return frequency, average_value


def test_gamma_gamma_fit_recovers_simulated_parameters() -> None:
    # given 5,000 simulated repeat buyers
    generator = np.random.default_rng(2013)
    true_parameters = {"p": 6.0, "q": 4.0, "gamma": 15.0}
    frequency, average_value = simulate_gamma_gamma(generator, 5_000, 6.0, 4.0, 15.0)

    # when
    fit = gamma_gamma_fit(frequency, average_value)

    # then within 3 of its own standard errors (0.3 % miss rate per parameter)
    assert fit.is_converged
    assert fit.customer_count == 5_000
    for name, true_value in true_parameters.items():
        estimate, error = fit.as_dict()[name], fit.standard_errors[name]
        assert abs(estimate - true_value) < 3 * error, (name, estimate, error)


def test_gamma_gamma_log_likelihood_matches_the_naive_density() -> None:
    # given 300 simulated repeat buyers
    frequency, average_value = simulate_gamma_gamma(np.random.default_rng(5), 300, 4.0, 3.0, 20.0)

    # when
    fit = gamma_gamma_fit(frequency, average_value)

    # then f(m | x) = G(px+q) / (G(px) G(q)) gamma^q m^(px-1) x^(px) / (gamma + m x)^(px+q),
    # G the gamma function
    p, q, gamma = fit.p, fit.q, fit.gamma
    naive = sum(
        math.lgamma(p * x + q)
        - math.lgamma(p * x)
        - math.lgamma(q)
        + q * math.log(gamma)
        + (p * x - 1) * math.log(m)
        + p * x * math.log(x)
        - (p * x + q) * math.log(gamma + m * x)
        for x, m in zip(frequency.tolist(), average_value.tolist(), strict=True)
    )
    assert fit.is_converged
    assert fit.log_likelihood == pytest.approx(naive, rel=1e-12)


def test_gamma_gamma_fit_weights_equal_repeated_rows() -> None:
    # given
    frequency, average_value = simulate_gamma_gamma(np.random.default_rng(11), 200, 4.0, 3.0, 20.0)
    weights = np.arange(200) % 3 + 1

    # when
    weighted = gamma_gamma_fit(frequency, average_value, weights=weights)
    expanded = gamma_gamma_fit(np.repeat(frequency, weights), np.repeat(average_value, weights))

    # then
    assert weighted.customer_count == expanded.customer_count == 399
    assert weighted.log_likelihood == pytest.approx(expanded.log_likelihood, rel=1e-9)
    for name, value in expanded.as_dict().items():
        assert weighted.as_dict()[name] == pytest.approx(value, rel=1e-4), name


@pytest.mark.parametrize(
    ("frequency", "average_value", "message"),
    [
        ([1, 0], [10.0, 12.0], "frequency must be positive"),
        ([1, 2], [10.0, 0.0], "average_value must be positive"),
        ([1, 2], [10.0, -3.0], "average_value must be positive"),
        ([1, 2], [10.0, float("nan")], "average_value must be finite"),
        ([1, 2], [10.0], "equal lengths"),
        ([3], [10.0], "at least 2 customers"),
    ],
)
def test_gamma_gamma_fit_rejects_bad_input_naming_the_problem(
    frequency: list[int], average_value: list[float], message: str
) -> None:
    # given the arrays above; when / then
    with pytest.raises(ValueError, match=message):
        gamma_gamma_fit(np.array(frequency), np.array(average_value))


def test_expected_purchases_stay_finite_when_a_and_b_are_huge() -> None:
    # given a fit of a population that almost never drops out: a and b near their bound, where
    # scipy's 2F1 of the Pfaff-transformed argument (below -1) returns nan
    fit = BgNbdFit(
        r=1.19,
        alpha=66.97,
        a=9.9e7,
        b=1.65e8,
        standard_errors={},
        log_likelihood=0.0,
        customer_count=1,
        is_converged=False,
    )
    frequency, recency, age = np.array([0.0, 1.0]), np.array([0.0, 80.0]), np.array([100.0, 100.0])
    # when
    expected = bgnbd_expected_purchases(fit, 365.0, frequency, recency, age)
    # then the untransformed form, (base/(base+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(base+t))
    base = fit.alpha + age
    direct = (
        (fit.a + fit.b + frequency - 1)
        / (fit.a - 1)
        * (
            1
            - (base / (base + 365.0)) ** (fit.r + frequency)
            * special.hyp2f1(
                fit.r + frequency,
                fit.b + frequency,
                fit.a + fit.b + frequency - 1,
                365.0 / (base + 365.0),
            )
        )
        * bgnbd_probability_alive(fit, frequency, recency, age)
    )
    assert np.all(np.isfinite(expected))
    np.testing.assert_allclose(expected, direct, rtol=1e-9)
