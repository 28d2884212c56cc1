"""The error types the boundary raises for bad input: one line each, ready for a CLI to print."""

from __future__ import annotations

import difflib


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


def did_you_mean(word: str, choices, *, prefix: str = "") -> str:
    """`` (did you mean 'PREFIXX'?)`` for the choice X closest to a mistyped ``word``; '' if none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.75)
    return f" (did you mean {prefix + close[0]!r}?)" if close else ""


def did_you_mean_path(path: str, known) -> str:
    """:func:`did_you_mean` for a dotted parameter path: among the fields of its table when that table
    exists (so a long shared prefix does not make every field look close), else among all ``known``."""
    parent, _, leaf = path.rpartition(".")
    prefix = f"{parent}." if parent else ""
    siblings = [p[len(prefix):] for p in known if p.startswith(prefix) and "." not in p[len(prefix):]]
    return did_you_mean(leaf, siblings, prefix=prefix) if siblings else did_you_mean(path, known)
