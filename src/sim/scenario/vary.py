"""One way to vary a scenario by parameter path: a validated document and its origins, from which a
scenario with some parameters fixed to given values is built through the loader's own checks.

Sweeps, sensitivity analyses and calibration all go through :class:`Variant`, so a value out of its
parameter's range is refused with the same one-line error as in a file, the scenario's resolved
TOML is true to the values, and errors name the file (or the option) each key came from.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ScenarioError, did_you_mean_path
from .load import apply_overrides, resolved_document, scenario_from_document
from .schema import Scenario

__all__ = ["Variant", "override"]


def override(path: str, value: float) -> str:
    """The ``--set`` text fixing ``path`` to ``value``. The repr of a float is a TOML float literal
    (0.3, 1e-05, 2.0), so the loader reads back exactly the same number."""
    return f"{path}={float(value)!r}"


@dataclass(frozen=True)
class Variant:
    """A scenario document (overrides applied) and the file each key came from. Picklable: it travels
    with each task of a sweep. Build one with :meth:`Variant.load`, which validates it once."""

    document: dict
    origins: dict
    file: str
    base: Scenario = field(repr=False, compare=False)  # the scenario itself, validated once
    allow_lookahead: bool = False

    @classmethod
    def load(cls, path: str | Path, overrides=(), *, posterior: str | Path | None = None,
             allow_lookahead: bool = False) -> "Variant":
        """Read and validate the scenario at ``path`` with ``overrides`` (``PATH=VALUE`` strings),
        ``posterior`` and ``allow_lookahead`` as :func:`~sim.scenario.load.load_scenario` does, raising its errors."""
        doc, origins = resolved_document(path, overrides, posterior=posterior)
        base = scenario_from_document(copy.deepcopy(doc), dict(origins), str(path), allow_lookahead=allow_lookahead)
        return cls(doc, origins, str(path), base, allow_lookahead)

    @property
    def resolved_toml(self) -> str:
        return self.base.resolved_toml

    def scenario(self, values: dict[str, float] | None = None, *, origin: str = "--param") -> Scenario:
        """The scenario with ``values`` (path -> number) fixed (the validated scenario itself when
        there are none); an invalid value raises :class:`ScenarioError` naming ``origin`` and the path."""
        if not values:
            return self.base
        doc, origins = copy.deepcopy(self.document), dict(self.origins)
        apply_overrides(doc, origins, [override(p, v) for p, v in values.items()])
        for p in values:  # errors in these values name where they came from, not --set
            origins[tuple(k.strip() for k in p.split("."))] = origin
        return scenario_from_document(doc, origins, self.file, allow_lookahead=self.allow_lookahead)

    def check_paths(self, paths, *, origin: str = "--param") -> None:
        """Raise :class:`ScenarioError` unless every path names a numeric parameter of the scenario."""
        known = [p for p, _ in self.scenario().parameters()]
        for path in paths:
            if path not in known:
                hint = did_you_mean_path(path, known)
                raise ScenarioError(origin, path, f"unknown parameter path{hint} (a numeric parameter such as "
                                                  "rebels.NAME.momentum; see docs/MODEL.md section 9)")
