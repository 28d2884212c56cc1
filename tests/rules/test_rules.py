"""The rule functions: closed forms, monotonicity, and scalar/array agreement."""

import numpy as np
import pytest

from sim import rules


def test_momentum_decays_towards_one_and_jumps_are_capped():
    assert rules.momentum.daily_decay(2.0, np.log(2)) == pytest.approx(1.5)
    assert rules.momentum.daily_decay(0.5, np.log(2)) == pytest.approx(0.75)
    assert rules.momentum.after_capture(3.9, 0.3, 4.0) == 4.0
    assert rules.momentum.after_setback(2.0, 0.25) == 1.5
    assert rules.momentum.mean_active(np.array([2.0, 4.0, 9.0]), np.array([True, True, False])) == 3.0
    assert rules.momentum.mean_active(np.array([2.0]), np.array([False])) == 1.0


def test_cohesion_loss_recovery_and_collapse():
    assert rules.cohesion.after_loss(0.8, 0.1, 2.0) == pytest.approx(0.64)
    assert rules.cohesion.after_loss(0.8, 0.6, 2.0) == 0.0  # shock x importance is capped at 1
    assert rules.cohesion.daily(0.5, 0.7, 0.5, 0.0, 0.1) == pytest.approx(0.6)
    assert rules.cohesion.daily(0.05, 0.0, 0.0, 1.0, 0.1) == 0.0
    assert rules.cohesion.target(0.6, 0.2, 0.1, False) == pytest.approx(0.7)
    assert rules.cohesion.target(0.6, 0.2, 0.1, True) == 0.0
    assert rules.cohesion.combat_factor(0.2, 0.5) == pytest.approx(0.6)
    assert rules.cohesion.collapsed(0.09, 0.1) and not rules.cohesion.collapsed(0.1, 0.1)


def test_desertion_hazard_rises_with_every_driver():
    base = dict(base_rate=0.01, cohesion=0.7, mean_momentum=1.2, unrest=0.2, node_threat=0.3,
                cohesion_sensitivity=2.0, momentum_sensitivity=1.0, unrest_sensitivity=1.0, threat_sensitivity=2.0)
    h0 = rules.desertion.hazard(**base)
    assert h0 == pytest.approx(0.01 * np.exp(2 * 0.3 + 0.2 + 0.2 + 0.6))
    for key, more in [("cohesion", 0.5), ("mean_momentum", 2.0), ("unrest", 0.6), ("node_threat", 0.9)]:
        assert rules.desertion.hazard(**{**base, key: more}) > h0
    g, d = rules.desertion.wave(1000.0, 0.1)
    assert (g, d) == (900.0, 100.0)


def test_lanchester_round_means_follow_the_square_law():
    d_loss, a_loss = rules.combat.round_means(1000.0, 500.0, 1.5, 2.0, 0.8, 0.02, 0.5, 0.0)
    assert d_loss == pytest.approx(0.02 * 1000 * 1.5 / 2.0)
    assert a_loss == pytest.approx(0.02 * 500 * 2.0 * 0.8 * 1.5)


def test_breakpoints_and_resolution():
    assert rules.combat.broken(1000, 700, 0.3) and not rules.combat.broken(1000, 701, 0.3)
    assert rules.combat.broken(0.0, 0.0, 0.5)  # an empty garrison has nothing left to lose
    out = rules.combat.resolve(np.array([True, True, False, False]), np.array([True, False, True, False]))
    assert out.tolist() == [rules.combat.REPULSED, rules.combat.REPULSED, rules.combat.FALLS, rules.combat.CONTINUE]


def test_losses_never_exceed_the_force():
    rng = np.random.default_rng(1)
    assert np.all(rules.combat.draw_losses(np.full(1000, 50.0), np.full(1000, 10.0), rng=rng) <= 10.0)


def test_unrest_and_leadership():
    assert rules.unrest.daily(0.5, 1.0, 2.0, 0.5, 0.1, 0.2) == pytest.approx(0.5 + 0.2 - 0.05)
    assert rules.unrest.daily(0.95, 1.0, 2.0, 0.0, 0.1, 0.2) == 1.0
    assert rules.unrest.after_wave(0.99, 0.05) == 1.0
    h = rules.leadership.hazard(0.001, 1.0, 0.5, 0.5, 3.0, 2.0, 2.0)
    assert h == pytest.approx(0.001 * np.exp(3 + 1 + 1))


def test_allies_and_threat():
    arrived = np.array([True, False, True])
    assert rules.allies.side_total(arrived, np.array([0.5, 1, 1]), np.array([2.0, 5, 1]),
                                   np.array([True, True, False])) == pytest.approx(1.0)
    assert rules.movement.threat(0.0, 50) == 1.0
    assert rules.movement.threat(np.inf, 50) == 0.0
    assert rules.movement.advance_speed(20.0, 1.5, 1.0, 1.0) == pytest.approx(15.0)


@pytest.mark.parametrize("fn,args", [
    (rules.desertion.hazard, (0.01, 0.5, 1.2, 0.3, 0.4, 2.0, 1.0, 1.0, 2.0)),
    (rules.combat.round_means, (1000.0, 800.0, 1.3, 1.5, 0.7, 0.02, 0.3, 0.1)),
    (rules.cohesion.daily, (0.5, 0.6, 0.1, 0.3, 0.02)),
    (rules.unrest.daily, (0.2, 0.5, 1.4, 0.6, 0.05, 0.05)),
    (rules.leadership.hazard, (0.001, 0.5, 0.4, 0.3, 3.0, 3.0, 2.0)),
])
def test_rules_give_the_same_numbers_on_scalars_and_arrays(fn, args):
    scalar = fn(*args)
    arrays = fn(*[np.full(4, a) for a in args])
    for s, a in zip(np.atleast_1d(scalar) if not isinstance(scalar, tuple) else scalar,
                    arrays if isinstance(arrays, tuple) else [arrays]):
        assert np.allclose(a, s)
