"""Configuration: scenario files read, merged, overridden and validated once into frozen objects."""

from .distributions import DISTRIBUTIONS, Bernoulli, Beta, Distribution, Fixed, LogNormal, Normal, Triangular, Uniform
from .load import load_scenario
from .schema import GOVERNMENT, REBELS, SECTIONS, SIDES, Ally, Axis, Node, Param, Road, Scenario, param_fields, unit_of

__all__ = [
    "DISTRIBUTIONS", "GOVERNMENT", "REBELS", "SECTIONS", "SIDES", "Ally", "Axis", "Bernoulli", "Beta", "Distribution",
    "Fixed", "LogNormal", "Node", "Normal", "Param", "Road", "Scenario", "Triangular", "Uniform", "load_scenario",
    "param_fields", "unit_of",
]
