"""The one error type the boundary raises for bad scenarios and bad overrides."""

from __future__ import annotations


class ScenarioError(ValueError):
    """A scenario file or override is invalid.

    ``str(error)`` is one line: ``FILE: KEY: what is wrong``, ready for a CLI to print.
    """

    def __init__(self, source: str, key: str, message: str):
        self.source = str(source)
        self.key = key
        self.message = message
        where = f"{self.source}: {key}" if key else self.source
        super().__init__(f"{where}: {message}")
