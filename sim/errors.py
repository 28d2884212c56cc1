"""The error types the boundary raises for bad input: one line each, ready for a CLI to print."""

from __future__ import annotations


def one_line(text: str) -> str:
    """``text`` with every control character (newlines included) escaped, so it prints as one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


class ScenarioError(ValueError):
    """A scenario file or override is invalid.

    ``str(error)`` is one line: ``FILE: KEY: what is wrong``, ready for a CLI to print. Control
    characters that came from the file (a key with a newline in it) are escaped.
    """

    def __init__(self, source: str, key: str, message: str):
        self.source = str(source)
        self.key = key
        self.message = message
        where = f"{self.source}: {key}" if key else self.source
        super().__init__(one_line(f"{where}: {message}"))


class ResultsError(ValueError):
    """A results folder is missing, incomplete, unreadable or cannot be written.

    ``str(error)`` is one line: ``FOLDER: what is wrong``.
    """

    def __init__(self, path, message: str):
        self.path = str(path)
        self.message = message
        super().__init__(one_line(f"{self.path}: {message}"))


class SweepError(ValueError):
    """A sweep, sensitivity analysis or calibration that cannot run as asked (a folder holding another
    study, no Dask, an unreachable or failed scheduler): one line."""
