"""Files out: atomic text and JSON writes, and the fields every manifest shares.

A file is written to a temporary file beside it, flushed to disk and renamed over the old one, so
a reader never sees half of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np


def git_commit() -> str | None:
    """The commit of the checkout the package runs from, if it is one."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def json_bytes(data) -> bytes:
    """``data`` as the bytes :func:`write_json` writes (two-space indent, a final newline)."""
    return (json.dumps(data, indent=2, default=_json_default) + "\n").encode("utf-8")


def write_text(path: Path, text: str) -> None:
    """Write ``text`` atomically: a temporary file in the same folder, fsync, then rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode(0o666))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    write_text(path, json_bytes(data).decode("utf-8"))


def mode(full: int) -> int:
    """``full`` less the process umask (temporary files and folders are created private)."""
    umask = os.umask(0)
    os.umask(umask)
    return full & ~umask


def _json_default(v):
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")
