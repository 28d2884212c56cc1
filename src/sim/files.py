"""Files in and out, guarded once for every command.

In: :func:`read_bytes` reads a regular file only (never a FIFO, a device or a folder, which could
block or never end), up to a size limit, and turns every failure into one line.

Out: a file is written to a temporary file beside it, flushed and renamed over the old one
(:func:`write_text`), and a folder is written whole or not at all (:func:`staged_folder`): into a
hidden sibling marked ``INCOMPLETE``, renamed into place once its last file, ``manifest.json``, is
written. A folder is replaced only if it is provably one of ours and of the same kind; anything
else is refused.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import shutil
import socket
import stat
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ._version import __version__
from .errors import ResultsError

MANIFEST = "manifest.json"   # the last file of every output folder: its commit point
INCOMPLETE = "INCOMPLETE"    # marker file: present in a folder until it is complete
PARTIAL = ".partial"         # suffix of a staging folder
WRITTEN_BY = "sim"           # the manifests' and markers' signature


# --------------------------------------------------------------------------- reading

def _open_regular(path, error: Callable[[str], Exception], what: str) -> tuple[int, os.stat_result]:
    """An open descriptor of the regular file ``path`` and its status; ``error(message)`` otherwise."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)  # a FIFO opens at once
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise error("file not found") from None
    except IsADirectoryError:
        raise error(f"is a directory, not a {what}") from None
    except OSError as exc:
        raise error(f"cannot be read ({exc.strerror or exc})") from None
    except ValueError:  # a NUL byte in the path
        raise error("not a valid file path") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise error(f"is a directory, not a {what}")
        if not stat.S_ISREG(st.st_mode):
            raise error("is not a regular file (a FIFO, a device or a socket is never read)")
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def check_regular(path, *, error: Callable[[str], Exception], what: str = "file") -> None:
    """Raise ``error(message)`` unless ``path`` is a regular file that can be opened (for readers,
    such as numpy's, that open the file themselves)."""
    fd, _ = _open_regular(path, error, what)
    os.close(fd)


def read_bytes(path, *, limit: int, error: Callable[[str], Exception], what: str = "file") -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them; ``error(message)`` is
    raised (one line) for a missing, unreadable, oversized or not-regular file."""
    fd, st = _open_regular(path, error, what)
    too_big = f"file is larger than {limit:,} bytes, the limit for a {what}"
    try:
        if st.st_size > limit:
            raise error(too_big)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise error(f"cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if size > limit:  # it grew while being read
        raise error(too_big)
    return b"".join(chunks)


def read_json(path, *, limit: int = 50_000_000, what: str = "results file"):
    """A JSON file of ours, read through :func:`read_bytes`; :class:`ResultsError` if it is not valid JSON."""
    raw = read_bytes(path, limit=limit, error=lambda m: ResultsError(path, m), what=what)
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ResultsError(path, f"is not valid JSON ({exc})") from None
    except RecursionError:
        raise ResultsError(path, "is not valid JSON (nested too deep)") from None


def read_npz(path, *, limit: int = 2_000_000_000) -> dict[str, np.ndarray]:
    """The arrays of an .npz file of ours (a backtest's curves), read through :func:`read_bytes`, all
    at once; object arrays are refused (numpy loads no code) and any failure (BadZipFile,
    zlib.error, ValueError...) is a damaged file: :class:`ResultsError`."""
    import io

    raw = read_bytes(path, limit=limit, error=lambda m: ResultsError(path, m), what="results file")
    try:
        with np.load(io.BytesIO(raw)) as z:  # object arrays are refused: numpy loads no code
            return {k: z[k] for k in z.files}
    except Exception as exc:
        raise ResultsError(path, f"cannot be read ({type(exc).__name__}: {exc})") from None


# --------------------------------------------------------------------------- writing files

def git_commit() -> str | None:
    """The commit of the checkout the package runs from, if it is one."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def json_bytes(data, *, allow_nan: bool = True) -> bytes:
    """``data`` as the bytes :func:`write_json` writes (two-space indent, a final newline);
    ``allow_nan=False`` refuses NaN (tables whose byte contract has None for 'not defined')."""
    return (json.dumps(data, indent=2, default=_json_default, allow_nan=allow_nan) + "\n").encode("utf-8")


def write_text(path: Path, text: str) -> None:
    """Write ``text`` atomically: a temporary file in the same folder, fsync, then rename."""
    path = Path(path)
    tmp = fresh_sibling(path, ".tmp")  # named first: an interruption at any point knows what to remove
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode(0o666))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data, *, allow_nan: bool = True) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    write_text(path, json_bytes(data, allow_nan=allow_nan).decode("utf-8"))


def finite(v):
    """``v`` for JSON, which has no infinities: a non-finite float (a log score of -inf, zero
    probability on what happened) becomes null, in nested dicts and lists too."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [finite(x) for x in v]
    return v


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


# --------------------------------------------------------------------------- folders: whose and how complete

def marker(kind: str) -> str:
    """The INCOMPLETE marker's text: whose folder, of what kind, being written by which process."""
    return json.dumps({"written_by": WRITTEN_BY, "kind": kind, "pid": os.getpid(), "host": socket.gethostname(),
                       "note": "sim has not finished writing this folder"}) + "\n"


def peek_json(path, *, limit: int = 1_000_000):
    """The JSON in ``path`` if it is a small readable file of valid JSON, else None: for telling
    whether a folder is one of ours, where a missing or damaged file just means "no"."""
    try:
        return read_json(path, limit=limit)
    except ResultsError:
        return None


def _own_json(path: Path):
    """:func:`peek_json` of a marker or manifest, never through a symbolic link."""
    return None if path.is_symlink() else peek_json(path)


def folder_kind(folder: Path) -> tuple[str | None, bool]:
    """``(kind, complete)`` of an output folder of ours: the kind its manifest.json names (complete)
    or its INCOMPLETE marker names (not complete); ``(None, False)`` if neither says it is ours."""
    folder = Path(folder)
    m = _own_json(folder / INCOMPLETE)
    if isinstance(m, dict) and m.get("written_by") == WRITTEN_BY and isinstance(m.get("kind"), str):
        return m["kind"], False
    m = _own_json(folder / MANIFEST)
    if isinstance(m, dict) and m.get("written_by") == WRITTEN_BY and isinstance(m.get("kind"), str) \
            and not (folder / INCOMPLETE).exists():
        return m["kind"], True
    return None, False


def manifest_base(kind: str, command=None) -> dict:
    """The fields every manifest.json starts with: whose, of what kind, written by which version."""
    return {"written_by": WRITTEN_BY, "kind": kind, "version": __version__, "git_commit": git_commit(),
            "python": platform.python_version(), "numpy": np.__version__,
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "command": list(command) if command is not None else sys.argv}


def check_destination(dest: Path, kind: str, owns: Callable[[Path], bool] | None = None) -> None:
    """Raise :class:`ResultsError` unless ``dest`` may be written as a folder of ``kind``: absent, an
    empty folder, or one of ours of that kind (``owns`` may recognise older folders too)."""
    dest = Path(dest)
    if dest.name in ("", ".", ".."):
        raise ResultsError(dest, "not a folder name to write into")
    try:
        if dest.is_symlink():
            raise ResultsError(dest, "is a symbolic link; refusing to replace it")
        if not dest.exists():
            return
        if not dest.is_dir():
            raise ResultsError(dest, "exists and is not a folder; refusing to replace it")
        if not any(dest.iterdir()):
            return
        found, _ = folder_kind(dest)
        if found == kind or (owns is not None and owns(dest)):
            return
    except OSError as exc:
        raise ResultsError(dest, f"cannot be inspected ({exc.strerror or exc})") from None
    what = f"holds sim's {found} folder, not a {kind} folder" if found else \
        f"exists and is not a {kind} folder written by sim"
    raise ResultsError(dest, f"{what}; refusing to replace it (choose another --out)")


def fresh_sibling(dest: Path, suffix: str) -> Path:
    """A fresh hidden name beside ``dest``: ``.NAME.XXXXXXXX<suffix>``. The name is known before the
    folder is made, so that code interrupted while making it (Ctrl-C can land on any bytecode, and
    another thread may take the signal) still knows what to remove."""
    return dest.parent / f".{dest.name}.{os.urandom(4).hex()}{suffix}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process
        return True
    return True


def remove_dead_staging(dest: Path) -> None:
    """Remove the staging folders beside ``dest`` that a writer killed outright left behind (their
    INCOMPLETE marker names a process of this host that no longer runs)."""
    dest = Path(dest)
    try:
        siblings = list(dest.parent.glob(f".{dest.name}.*{PARTIAL}"))
    except OSError:
        return
    host = socket.gethostname()
    for path in siblings:
        m = _own_json(path / INCOMPLETE)
        if isinstance(m, dict) and m.get("written_by") == WRITTEN_BY and m.get("host") == host \
                and isinstance(m.get("pid"), int) and not _alive(m["pid"]) and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def staged_folder(dest: Path, *, kind: str, owns: Callable[[Path], bool] | None = None,
                  error: str = "cannot write the folder") -> Iterator[Path]:
    """Yield a hidden sibling folder of ``dest`` to write a folder of ``kind`` into; when the body
    has written its last file, manifest.json, rename it over ``dest``.

    ``dest`` is checked first (:func:`check_destination`). The staging folder holds an INCOMPLETE
    marker until the end; an exception, Ctrl-C or SIGTERM removes it, and a process killed outright
    leaves it hidden and marked, to be removed by the next writer into ``dest``. OSErrors become
    :class:`ResultsError` (``error``: what could not be done).
    """
    dest = Path(dest)
    check_destination(dest, kind, owns)
    tmp = fresh_sibling(dest, PARTIAL)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        remove_dead_staging(dest)
        os.mkdir(tmp, 0o700)  # a clash of 32 random bits is an error, not a folder shared
        os.chmod(tmp, mode(0o777))
        (tmp / INCOMPLETE).write_text(marker(kind), encoding="utf-8")
        yield tmp
        if not (tmp / MANIFEST).is_file():
            raise RuntimeError(f"a {kind} folder was staged without its {MANIFEST}")
        (tmp / INCOMPLETE).unlink()
        _replace(tmp, dest)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise ResultsError(dest, f"{error} ({exc.strerror or exc})") from None
        raise


def _replace(tmp: Path, dest: Path) -> None:
    """Rename ``tmp`` to ``dest``; an existing ``dest`` is first renamed aside (to a name of its own,
    never another folder's) and removed once ``tmp`` is in place."""
    if not dest.exists():
        os.replace(tmp, dest)
        return
    old = fresh_sibling(dest, ".old")
    try:
        os.replace(dest, old)
        os.replace(tmp, dest)
    except BaseException:
        if old.exists() and not dest.exists():  # interrupted between the two: the earlier folder goes back
            os.replace(old, dest)
        raise
    shutil.rmtree(old, ignore_errors=True)
