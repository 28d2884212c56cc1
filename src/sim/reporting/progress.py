"""Progress of long work, drawn by tqdm: a bar in a terminal, a widget in a notebook, a line every
so often in a log file.

The layers below report progress through a plain callable, ``progress(done, total, unit)`` (work done
of ``total``, in ``unit``: replications, points, particle-cases); a :class:`Progress` is such a
callable. A new ``unit`` starts a new bar, so a command with stages (a calibration simulates, then
emulates, then forecasts) shows one bar a stage; a new ``total`` in the same unit is a new estimate
of the work (an adaptive run's) and moves the bar's end.
"""

from __future__ import annotations

import importlib.util
import io
import os
import sys

TERMINAL_DELAY = 0.5   # seconds before a bar appears on a terminal: quick commands draw none
LOG_DELAY = 2.0        # the same in a log file
LOG_INTERVAL = 15.0    # seconds between two lines in a log file
LOG_FORMAT = "{desc}: {percentage:3.0f}% {n_fmt}/{total_fmt}{unit} [{elapsed}<{remaining}, {rate_fmt}]"


class _Lines:
    """A stream for tqdm that writes each redraw as a line of its own (a log file has no carriage return)."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> None:
        text = text.strip("\r\n\x1b[A ")
        if text:
            self.stream.write(text + "\n")

    def flush(self) -> None:
        self.stream.flush()


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    try:
        return shell is not None and "IPKernelApp" in shell.get_ipython().config
    except Exception:  # not a running IPython, or one without a config: not a notebook
        return False


class Progress:
    """``progress(done, total, unit)`` drawn as a tqdm bar with rate and time left, on ``stream``
    (standard error by default). ``mode`` is "terminal", "notebook" or "log" (default: chosen from
    where the command runs); ``enabled=False`` draws nothing. Use it as a context manager, or call
    :meth:`close`, so the last bar ends before anything else is printed."""

    def __init__(self, description: str, *, enabled: bool = True, stream=None, mode: str | None = None,
                 delay: float | None = None, interval: float | None = None):
        self.description = description
        self.enabled = enabled
        self.stream = sys.stderr if stream is None else stream
        if mode is None:
            mode = "notebook" if _in_notebook() else "terminal" if _isatty(self.stream) else "log"
        self.mode = mode
        self.delay = delay if delay is not None else LOG_DELAY if mode == "log" else TERMINAL_DELAY
        self.interval = interval if interval is not None else LOG_INTERVAL if mode == "log" else 0.1
        self._bar = None
        self._key = None

    def __call__(self, done: float, total: float, unit: str = "replications") -> None:
        if not self.enabled:
            return
        if self._key != unit:
            self.close()
            self._bar, self._key = self._new(total, unit, initial=done), unit
            return
        if int(total) != self._bar.total:  # a new estimate of the work (an adaptive run's)
            self._bar.total = int(total)
        step = int(done) - self._bar.n
        if step > 0:  # a display only moves forward (blocks may be reported out of order)
            self._bar.update(step)

    def _new(self, total: float, unit: str, initial: float):
        common = dict(total=int(total), initial=int(initial), unit=f" {unit}", unit_scale=False,
                      desc=self.description, delay=self.delay, mininterval=self.interval, leave=True)
        if self.mode == "notebook" and importlib.util.find_spec("ipywidgets") is not None:
            from tqdm.notebook import tqdm as widget
            return widget(**common)
        from tqdm import tqdm  # without widgets a notebook shows the text bar in place too
        if self.mode == "log":
            return tqdm(file=_Lines(self.stream), bar_format=LOG_FORMAT, ascii=True, **common)
        sized = _columns(self.stream) > 0  # a terminal that reports no size (a bare pty) gets 80 columns
        return tqdm(file=self.stream, dynamic_ncols=sized, ncols=None if sized else 80, nrows=None if sized else 20,
                    **common)

    def close(self) -> None:
        """End the current bar (drawn full if its work is done)."""
        if self._bar is not None:
            self._bar.close()
            self._bar, self._key = None, None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _columns(stream) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError, io.UnsupportedOperation):  # no file descriptor, or not a terminal
        return 0


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
