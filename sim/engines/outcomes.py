"""Per-replication outcomes: tidy columns, one row per replication."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

CAPTURED, COLLAPSED, HOLDS = 0, 1, 2
END_STATES = ("captured", "collapsed", "holds")


@dataclass
class Outcomes:
    """Outcomes of ``n`` replications. Days are counted from the scenario's ``as_of``; NaN means never.

    end_state         (n,) int8    CAPTURED (the capital taken by assault), COLLAPSED (the regime
                                   ends first: the ruler's flight collapsing cohesion, a hand-over, or
                                   cohesion falling below its threshold), HOLDS (at the horizon)
    end_day           (n,) float   day of capture or collapse (the capital's fall day either way)
    node_fall_day     (n, nodes)   day each node fell (the capital's is end_day when it fell)
    leader_fled_day   (n,)         day the ruler fled
    uprising_day      (n,)         day of the capital's uprising
    desertions        (n,)         fighters lost to desertion waves
    ally_arrival_day  (n, allies)  day each ally's support arrived
    final_cohesion    (n,)         C at the end of the replication
    """

    end_state: np.ndarray
    end_day: np.ndarray
    node_fall_day: np.ndarray
    leader_fled_day: np.ndarray
    uprising_day: np.ndarray
    desertions: np.ndarray
    ally_arrival_day: np.ndarray
    final_cohesion: np.ndarray

    @classmethod
    def empty(cls, n: int, n_nodes: int, n_allies: int) -> "Outcomes":
        nan = lambda *shape: np.full(shape, np.nan)  # noqa: E731
        return cls(
            end_state=np.full(n, HOLDS, dtype=np.int8), end_day=nan(n), node_fall_day=nan(n, n_nodes),
            leader_fled_day=nan(n), uprising_day=nan(n), desertions=np.zeros(n),
            ally_arrival_day=nan(n, n_allies), final_cohesion=nan(n),
        )

    def __len__(self) -> int:
        return len(self.end_state)

    @classmethod
    def concatenate(cls, parts: list["Outcomes"]) -> "Outcomes":
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)})

    def columns(self, node_names, ally_names) -> dict[str, np.ndarray]:
        """Flat named columns, one value per replication, for the columnar results file."""
        cols = {
            "end_state": self.end_state, "end_day": self.end_day, "leader_fled_day": self.leader_fled_day,
            "uprising_day": self.uprising_day, "desertions": self.desertions,
            "final_cohesion": self.final_cohesion,
        }
        cols.update({f"fall_day.{name}": self.node_fall_day[:, i] for i, name in enumerate(node_names)})
        cols.update({f"ally_arrival_day.{name}": self.ally_arrival_day[:, i] for i, name in enumerate(ally_names)})
        return cols
