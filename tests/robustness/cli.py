"""The command line called in-process for robustness tests, with a time limit."""

from __future__ import annotations

import contextlib
import io
import signal
import traceback
import warnings
from pathlib import Path

from sim.cli import main

CASE_SECONDS = 60  # one case taking longer is a hang


class Hang(BaseException):
    pass


def _alarm(signum, frame):
    raise Hang()


def call_main(argv: list[str], cwd: Path, seconds: float = CASE_SECONDS) -> tuple[object, str, str]:
    """``main(argv)`` in ``cwd``: (exit status or the exception, stdout, stderr); a call longer than
    ``seconds`` is a hang (:class:`Hang`). Numeric warnings (overflow, invalid values) are errors:
    they mean a wrong number."""
    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            try:
                status = main([str(a) for a in argv])
            except SystemExit as exc:  # --help
                status = exc.code
            except BaseException:
                status = traceback.format_exc()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return status, out.getvalue(), err.getvalue()
