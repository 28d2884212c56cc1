"""A minimal TOML writer for resolved scenarios (the standard library only reads TOML)."""

from __future__ import annotations

import datetime as dt
import json
import math
import re

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _string(s: str) -> str:
    """A TOML basic string. JSON escapes every control character TOML forbids but DEL; unlike
    ``ensure_ascii``, it leaves characters beyond U+FFFF whole (TOML has no surrogate-pair escapes)."""
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


def _key(k: str) -> str:
    return k if _BARE.fullmatch(k) else _string(k)  # fullmatch: "$" would let "a\n" through


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, (dt.date, dt.datetime, dt.time)):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _inline(v: dict, depth: int) -> bool:
    """Parameters and distributions (tables with ``value`` or ``dist``) and anything two tables deep go inline."""
    return "dist" in v or "value" in v or depth >= 2


def dumps(doc: dict) -> str:
    """TOML text for ``doc``: nested tables become ``[a.b]`` headers, parameters inline tables."""
    lines: list[str] = []

    def emit(table: dict, prefix: list[str]) -> None:
        here = {k: v for k, v in table.items() if not isinstance(v, dict) or (prefix and _inline(v, len(prefix)))}
        below = {k: v for k, v in table.items() if k not in here}
        if prefix and (here or not below):
            lines.extend(["", "[" + ".".join(_key(p) for p in prefix) + "]"])
        lines.extend(f"{_key(k)} = {_value(v)}" for k, v in here.items())
        for k, v in below.items():
            emit(v, prefix + [k])

    emit(doc, [])
    return "\n".join(lines).lstrip("\n") + "\n"
