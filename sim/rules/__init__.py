"""The model's rules, once: pure numpy functions of state and parameters that work on a scalar
(one replication, the reference engine) and on arrays (many, the vectorised engine) alike."""

from . import allies, cohesion, combat, desertion, leadership, momentum, movement, unrest

__all__ = ["allies", "cohesion", "combat", "desertion", "leadership", "momentum", "movement", "unrest"]
