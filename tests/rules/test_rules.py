"""The rule functions: closed forms, monotonicity, and scalar/array agreement."""

import numpy as np
import pytest

from sim import rules


def test_momentum_decays_towards_one_and_jumps_are_capped():
    assert rules.momentum.daily_decay(2.0, np.log(2)) == pytest.approx(1.5)
    assert rules.momentum.daily_decay(0.5, np.log(2)) == pytest.approx(0.75)
    assert rules.momentum.after_capture(3.9, 0.3, 4.0) == 4.0
    assert rules.momentum.after_setback(2.0, 0.25) == 1.5


def test_belief_anchor_relaxation_and_shocks():
    b = rules.belief
    assert b.probability(b.logit(0.3)) == pytest.approx(0.3)
    # at parity of power and with no allies the anchor is the baseline; more government power raises it
    assert b.anchor(0.6, 1.0, 1000.0, 1000.0, 0.0, 0.0) == pytest.approx(b.logit(0.6))
    assert b.anchor(0.6, 1.0, 2999.0, 999.0, 0.0, 0.0) == pytest.approx(b.logit(0.6) + np.log(3))
    assert b.anchor(0.6, 1.0, 1000.0, 1000.0, 0.5, 0.2) == pytest.approx(b.logit(0.6) + 0.3)
    assert b.relax(2.0, 0.0, np.log(2)) == pytest.approx(1.0)
    assert b.shock(29.9, 5.0) == b.MAX_LOG_ODDS and b.shock(0.0, -0.5) == -0.5


def test_cascade_share_gone_ratchets_and_abandons():
    c = rules.cascade
    z = c.propensity(0.4, 0.2, 0.5, 0.1, 1.0, 1.0, 0.5)
    assert z == pytest.approx(0.6 + 0.2 + 0.25 - 0.1)
    assert c.share_gone(0.8, 0.8, 0.25) == pytest.approx(0.5)
    standing, leaving = c.abandon(1000.0, 0.5, 0.75)  # half the remaining units go
    assert (standing, leaving) == (500.0, 500.0)
    assert c.abandon(1000.0, 0.5, 0.3) == (1000.0, 0.0)  # gone units never return
    assert c.abandon(10.0, 1.0, 1.0) == (0.0, 10.0)
    assert c.is_open(0.5) and not c.is_open(1.0)


def test_threat_is_the_balance_of_force():
    t = rules.threat
    assert t.odds(1000.0, 1000.0, 1.0) == pytest.approx(0.5)
    assert t.odds(1000.0, 23000.0, 1.0) == pytest.approx(1 / 24)  # a small axis at the gates is no threat
    assert t.odds(0.0, 100.0, 1.0) == 0.0 and t.odds(5.0, 0.0, 1.0) == 1.0 and t.odds(0.0, 0.0, 1.0) == 0.0
    assert t.odds(2000.0, 1000.0, 3.0) == pytest.approx(8 / 9)
    assert t.reach(0.0, 50) == 1.0 and t.reach(np.inf, 50) == 0.0
    assert t.power(100.0, 2.0, 0.5) == 300.0


def test_the_rulers_exit_switches_on_below_his_threshold():
    lead = rules.leadership
    assert lead.reading(0.5, 0.2, 0.5) == pytest.approx(0.2)
    # the threat gate: doubt 1 - 0.2 weighted by theta_cap^g; no enemy at the capital, no doubt
    assert lead.reading(0.5, 0.2, 0.5, 1.0) == pytest.approx(1 - 0.8 * 0.2)
    assert lead.reading(0.5, 0.2, 0.5, 2.0) == pytest.approx(1 - 0.8 * 0.04)
    assert lead.reading(0.01, 0.0, 1.0, 0.5) == 1.0 and lead.reading(0.01, 0.0, 1.0, 0.0) == 0.01
    assert lead.reading(np.array([0.5, 0.5]), 0.2, 0.5, np.array([0.0, 1.0])) == pytest.approx([0.2, 0.84])
    assert lead.flight_threshold(0.15, 0.5, 0.2) == pytest.approx(0.25)
    assert lead.hazard(0.25, 0.25, 0.05, 3.0) == pytest.approx(1.5)
    assert lead.hazard(0.0, 0.25, 0.05, 3.0) > 2.99  # can reach its ceiling, at least 1 a day
    assert lead.hazard(0.6, 0.25, 0.05, 3.0) < 1e-10  # and is negligible when his odds are good


def test_allies_escalate_with_the_stake_and_quit_a_lost_cause():
    al = rules.allies
    assert al.escalation_hazard(0.5, 0.5) == pytest.approx(0.5)
    assert al.escalation_hazard(0.5, 0.9) < al.escalation_hazard(0.5, 0.6)
    assert al.client_odds(0.3, True) == 0.3 and al.client_odds(0.3, False) == pytest.approx(0.7)
    assert al.commits(0.5, np.log(2)) is np.False_ or not al.commits(0.5, np.log(2))
    assert al.commits(0.49, np.log(2))
    assert al.quits(0.1, 0.2, 0.0, 1e5) and al.quits(0.9, 0.2, 5.0, 5.0) and not al.quits(0.9, 0.2, 4.0, 5.0)


def test_recruitment_and_culmination():
    assert rules.recruitment.joiners(300.0, 0.25) == pytest.approx(225.0)
    assert rules.recruitment.mobilises(0.5, 0.5) and not rules.recruitment.mobilises(0.49, 0.5)
    assert rules.combat.culminated(600.0, 1000.0, 0.6) and not rules.combat.culminated(599.0, 1000.0, 0.6)
    assert rules.combat.counterattack_hazard(0.1, 0.4) == 0.0
    assert rules.combat.counterattack_hazard(0.1, 0.75) == pytest.approx(0.05)
    assert rules.combat.split_losses(30.0, 100.0, 200.0) == pytest.approx((10.0, 20.0))


def test_lanchester_round_means_follow_the_square_law():
    d_loss, a_loss = rules.combat.round_means(1000.0, 500.0, 1.5, 2.0, 0.02, 0.5, 0.0)
    assert d_loss == pytest.approx(0.02 * 1000 * 1.5 / 2.0)
    assert a_loss == pytest.approx(0.02 * 500 * 2.0 * 1.5)


def test_breakpoints_and_resolution():
    assert rules.combat.broken(1000, 700, 0.3) and not rules.combat.broken(1000, 701, 0.3)
    assert rules.combat.broken(0.0, 0.0, 0.5)  # an empty garrison has nothing left to lose
    out = rules.combat.resolve(np.array([True, True, False, False]), np.array([True, False, True, False]))
    assert out.tolist() == [rules.combat.REPULSED, rules.combat.REPULSED, rules.combat.FALLS, rules.combat.CONTINUE]


def test_losses_never_exceed_the_force():
    rng = np.random.default_rng(1)
    assert np.all(rules.combat.draw_losses(np.full(1000, 50.0), np.full(1000, 10.0), rng=rng) <= 10.0)


def test_advance_speed():
    assert rules.movement.advance_speed(20.0, 1.5, 1.0, 1.0) == pytest.approx(15.0)


@pytest.mark.parametrize("fn,args", [
    (rules.combat.round_means, (1000.0, 800.0, 1.3, 1.5, 0.02, 0.3, 0.1)),
    (rules.belief.anchor, (0.6, 1.0, 5000.0, 3000.0, 0.2, 0.1)),
    (rules.cascade.propensity, (0.4, 0.2, 0.5, 0.1, 1.0, 1.0, 0.5)),
    (rules.cascade.abandon, (1000.0, 0.2, 0.6)),
    (rules.threat.odds, (3000.0, 2000.0, 1.5)),
    (rules.leadership.hazard, (0.2, 0.25, 0.05, 3.0)),
    (rules.allies.escalation_hazard, (0.3, 0.4)),
])
def test_rules_give_the_same_numbers_on_scalars_and_arrays(fn, args):
    scalar = fn(*args)
    arrays = fn(*[np.full(4, a) for a in args])
    for s, a in zip(np.atleast_1d(scalar) if not isinstance(scalar, tuple) else scalar,
                    arrays if isinstance(arrays, tuple) else [arrays]):
        assert np.allclose(a, s)
