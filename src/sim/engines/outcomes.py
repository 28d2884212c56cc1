"""Per-replication outcomes: tidy columns, one row per replication."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

CAPTURED, COLLAPSED, HOLDS = 0, 1, 2
END_STATES = ("captured", "collapsed", "holds")

# How a node first fell (node_fall_how): ASSAULT, an axis's combat round broke its defenders;
# ABANDONED, taken without a fight (an axis arrived while it was open, or its garrison dissolved in
# the cascade while an axis assaulted it); RISING, taken by a latent group (an axis whose
# rises_below is under 1), whichever way; COLLAPSE, the capital, as the regime collapsed.
NOT_FALLEN, ASSAULT, ABANDONED, RISING, COLLAPSE = -1, 0, 1, 2, 3
FALL_MODES = ("assault", "abandoned", "rising", "collapse")


@dataclass
class Outcomes:
    """Outcomes of ``n`` replications. Days are counted from the scenario's ``as_of``; NaN means never.

    end_state           (n,) int8    CAPTURED (the capital taken by assault), COLLAPSED (the regime
                                     ends first: the capital's garrison dissolves, or the ruler
                                     negotiates a hand-over), HOLDS (at the horizon)
    end_day             (n,) float   day of capture or collapse (the capital's fall day either way)
    node_fall_day       (n, nodes)   day each node first fell (the capital's is end_day when it fell)
    node_fall_how       (n, nodes)   int8: how it first fell, a FALL_MODES index (ASSAULT, ABANDONED,
                                     RISING, COLLAPSE); NOT_FALLEN (-1) where node_fall_day is NaN
    node_retaken_day    (n, nodes)   day a fallen node was retaken by the government
    leader_fled_day     (n,)         day the ruler fled (the regime may survive him: a succession)
    handover_day        (n,)         day of a negotiated hand-over (it ends the regime)
    dispersed           (n,)         government fighters who abandoned their posts and dispersed
    ally_arrival_day    (n, allies)  day each ally's support arrived (0 if there at as_of)
    ally_withdrawal_day (n, allies)  day each ally withdrew
    final_belief        (n,)         pi, the belief that the regime survives, at the end
    """

    end_state: np.ndarray
    end_day: np.ndarray
    node_fall_day: np.ndarray
    node_fall_how: np.ndarray
    node_retaken_day: np.ndarray
    leader_fled_day: np.ndarray
    handover_day: np.ndarray
    dispersed: np.ndarray
    ally_arrival_day: np.ndarray
    ally_withdrawal_day: np.ndarray
    final_belief: np.ndarray

    @classmethod
    def empty(cls, n: int, n_nodes: int, n_allies: int) -> "Outcomes":
        nan = lambda *shape: np.full(shape, np.nan)  # noqa: E731
        return cls(
            end_state=np.full(n, HOLDS, dtype=np.int8), end_day=nan(n), node_fall_day=nan(n, n_nodes),
            node_fall_how=np.full((n, n_nodes), NOT_FALLEN, dtype=np.int8),
            node_retaken_day=nan(n, n_nodes), leader_fled_day=nan(n), handover_day=nan(n), dispersed=np.zeros(n),
            ally_arrival_day=nan(n, n_allies), ally_withdrawal_day=nan(n, n_allies), final_belief=nan(n),
        )

    def __len__(self) -> int:
        return len(self.end_state)

    @classmethod
    def concatenate(cls, parts: list["Outcomes"]) -> "Outcomes":
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)})

    def take(self, rows: slice) -> "Outcomes":
        """The replications in ``rows``, as views."""
        return Outcomes(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})

    def columns(self, node_names, ally_names) -> dict[str, np.ndarray]:
        """Flat named columns, one value per replication, for the columnar results file."""
        cols = {
            "end_state": self.end_state, "end_day": self.end_day, "leader_fled_day": self.leader_fled_day,
            "handover_day": self.handover_day, "dispersed": self.dispersed, "final_belief": self.final_belief,
        }
        cols.update({f"fall_day.{name}": self.node_fall_day[:, i] for i, name in enumerate(node_names)})
        cols.update({f"fall_how.{name}": self.node_fall_how[:, i] for i, name in enumerate(node_names)})
        cols.update({f"retaken_day.{name}": self.node_retaken_day[:, i] for i, name in enumerate(node_names)})
        cols.update({f"ally_arrival_day.{name}": self.ally_arrival_day[:, i] for i, name in enumerate(ally_names)})
        cols.update({f"ally_withdrawal_day.{name}": self.ally_withdrawal_day[:, i]
                     for i, name in enumerate(ally_names)})
        return cols
