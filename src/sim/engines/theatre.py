"""The front graph compiled to indices: what both engines need to move axes along routes."""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from ..scenario.schema import GOVERNMENT, REBELS, Scenario


@dataclass(frozen=True)
class Theatre:
    """Index form of a scenario's graph.

    ``routes[a, j]`` is the node index of step ``j`` of axis ``a`` (-1 past its end);
    ``route_len[a]`` the number of nodes on it; ``road_of[a, j]`` the index into ``scenario.roads``
    of the leg from step ``j`` to ``j + 1``; ``capital_step[a]`` the step at which the route reaches
    the capital (-1 if it does not).
    """

    node_names: tuple[str, ...]
    axis_names: tuple[str, ...]
    ally_names: tuple[str, ...]
    capital: int
    rebel_at_start: np.ndarray      # (nodes,) bool
    routes: np.ndarray              # (axes, max_len) int
    route_len: np.ndarray           # (axes,) int
    road_of: np.ndarray             # (axes, max_len - 1) int, -1 padding
    capital_step: np.ndarray        # (axes,) int
    ally_government: np.ndarray     # (allies,) bool: True if on the government side
    ally_deploy: np.ndarray         # (allies,) int node index (capital when not given)
    fallback: np.ndarray            # (nodes,) int: next node on the shortest road path to the capital, -1 if none

    @property
    def n_nodes(self) -> int:
        return len(self.node_names)

    @property
    def n_axes(self) -> int:
        return len(self.axis_names)

    @property
    def n_allies(self) -> int:
        return len(self.ally_names)

    @classmethod
    def from_scenario(cls, s: Scenario) -> "Theatre":
        names = [n.name for n in s.nodes]
        index = {n: i for i, n in enumerate(names)}
        road_index = {frozenset((r.a, r.b)): k for k, r in enumerate(s.roads)}
        max_len = max([len(a.route) for a in s.axes], default=2)
        k = len(s.axes)
        routes = np.full((k, max_len), -1, dtype=np.int64)
        road_of = np.full((k, max_len - 1), -1, dtype=np.int64)
        capital_step = np.full(k, -1, dtype=np.int64)
        for a, axis in enumerate(s.axes):
            routes[a, : len(axis.route)] = [index[n] for n in axis.route]
            for j, (u, v) in enumerate(zip(axis.route, axis.route[1:])):
                road_of[a, j] = road_index[frozenset((u, v))]
            if s.capital in axis.route:
                capital_step[a] = axis.route.index(s.capital)
        return cls(
            node_names=tuple(names),
            axis_names=tuple(a.name for a in s.axes),
            ally_names=tuple(a.name for a in s.allies),
            capital=index[s.capital],
            rebel_at_start=np.array([n.controller == REBELS for n in s.nodes], dtype=bool),
            routes=routes,
            route_len=np.array([len(a.route) for a in s.axes], dtype=np.int64),
            road_of=road_of,
            capital_step=capital_step,
            ally_government=np.array([a.side == GOVERNMENT for a in s.allies], dtype=bool),
            ally_deploy=np.array([index[a.deploy_to or s.capital] for a in s.allies], dtype=np.int64),
            fallback=roads_to_capital(s)[1],
        )


def roads_to_capital(s: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Every node's shortest road distance to the capital at the roads' mean km (inf: not
    connected), and its next hop on that path (-1 at the capital and where not connected), by
    Dijkstra from the capital; nodes in the scenario's order."""
    index = {n.name: i for i, n in enumerate(s.nodes)}
    n = len(index)
    adjacent: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for r in s.roads:
        a, b, km = index[r.a], index[r.b], float(r.km.mean)
        adjacent[a].append((b, km))
        adjacent[b].append((a, km))
    distance = np.full(n, np.inf)
    hop = np.full(n, -1, dtype=np.int64)
    capital = index[s.capital]
    distance[capital] = 0.0
    heap = [(0.0, capital)]
    while heap:
        d, u = heapq.heappop(heap)
        if d > distance[u]:
            continue
        for v, km in adjacent[u]:
            # ties go to the node listed first, so the path is the same on every machine
            if d + km < distance[v] or (d + km == distance[v] and u < hop[v]):
                distance[v], hop[v] = d + km, u
                heapq.heappush(heap, (d + km, v))
    return distance, hop
