"""The model's rules, once: pure numpy functions of state and parameters that work on a scalar
(one replication, the reference engine) and on arrays (many, the vectorised engine) alike."""

from . import allies, belief, cascade, combat, leadership, momentum, movement, recruitment, threat

__all__ = ["allies", "belief", "cascade", "combat", "leadership", "momentum", "movement", "recruitment", "threat"]
