"""A one-line progress bar for long sweeps, drawn on a terminal (standard error) and nowhere else."""

from __future__ import annotations

import sys
import time


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


class ProgressBar:
    """Points done, replications per second and time left, redrawn in place at most ten times a
    second. Draws nothing unless ``stream`` is a terminal (or ``enabled`` says so)."""

    WIDTH = 24

    def __init__(self, stream=None, enabled: bool | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.description = ""
        self._last = 0.0
        self._drawn = False

    def start(self, progress, description: str) -> None:
        """Called once the executor is ready (``progress`` is a :class:`sim.studies.points.Progress`)."""
        self.description = description
        self.update(progress, force=True)

    def update(self, progress, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1 and progress.done < progress.total:
            return
        self._last = now
        filled = int(self.WIDTH * progress.done / progress.total) if progress.total else self.WIDTH
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        rate = progress.rate
        left = 0.0 if progress.done >= progress.total else progress.seconds_left
        unit = getattr(progress, "unit", "points")
        rate_unit = getattr(progress, "rate_unit", "reps/s")
        line = (f"[{bar}] {progress.done:,}/{progress.total:,} {unit} · {rate:,.{0 if rate >= 10 else 1}f} {rate_unit} · "
                f"{_duration(left)} left · {self.description}")
        self.stream.write("\r" + line + "\x1b[K")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """End the line (before anything else is printed)."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
