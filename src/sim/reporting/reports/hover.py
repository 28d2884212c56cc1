"""An interactive cumulative curve for a report: an inline SVG drawn here, and a small inline script
(:data:`SCRIPT`, no library, nothing loaded) that shows, under the cursor, the day, its date and each
curve's probability by then.

A curve is a step function: ``p[k]`` holds from ``x[k]`` (days after its own as_of) up to
``x[k + 1]``. Curves of runs with different as_of dates share one calendar axis.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from html import escape

import numpy as np

from ..style import DAY_MONTH, GREY, MONTH_YEAR, SERIES, SKY

WIDTH, HEIGHT = 900, 340                           # SVG user units (the chart scales to the page width)
LEFT, RIGHT, TOP, BOTTOM = 64, 20, 16, 46          # plot margins, same units
TICK_STEPS = (1, 2, 7, 14, 30, 61, 91, 182, 365, 730)   # days between date ticks; the first giving <= 9 ticks


@dataclass
class Curve:
    """One step curve: ``p[k]`` from day ``x[k]`` after ``as_of``; an optional band (``low``, ``high``)."""

    label: str
    as_of: dt.date
    x: np.ndarray
    p: np.ndarray
    low: np.ndarray | None = None
    high: np.ndarray | None = None


def _scale(lo: float, hi: float, a: float, b: float):
    return lambda v: a + (np.asarray(v, dtype=float) - lo) / (hi - lo) * (b - a)


def _steps(xs: np.ndarray, ys: np.ndarray) -> str:
    """An SVG path through the steps (horizontal, then vertical)."""
    parts = [f"M{xs[0]:.1f},{ys[0]:.1f}"]
    for k in range(1, len(xs)):
        parts.append(f"H{xs[k]:.1f}V{ys[k]:.1f}")
    return "".join(parts)


def _ticks(start: dt.date, days: float) -> list[tuple[float, str]]:
    step = next((s for s in TICK_STEPS if days / s <= 9), TICK_STEPS[-1])
    fmt = DAY_MONTH if days < 300 else MONTH_YEAR
    return [(d, f"{start + dt.timedelta(days=d):{fmt}}") for d in range(0, int(days) + 1, step)]


def curve_chart(curves: list[Curve], *, right_day: float, what: str, chart_id: str) -> str:
    """The chart as HTML: an ``<svg>`` with the curves over ``right_day`` days from the earliest as_of,
    a readout above it, and the curves' numbers as JSON for :data:`SCRIPT`. ``what`` names the
    probability (``P(capital fallen by then)``)."""
    start = min(c.as_of for c in curves)
    sx = _scale(0.0, right_day, LEFT, WIDTH - RIGHT)
    sy = _scale(0.0, 1.0, HEIGHT - BOTTOM, TOP)
    out = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(what)} by date" '
           'preserveAspectRatio="xMidYMid meet">']
    for q in (0, 0.25, 0.5, 0.75, 1.0):
        y = float(sy(q))
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
                   f'<text class="tick" x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{q:.0%}</text>')
    for d, label in _ticks(start, right_day):
        x = float(sx(d))
        out.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"/>'
                   f'<text class="tick" x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">{escape(label)}</text>')
    out.append(f'<text class="axis" x="{(LEFT + WIDTH - RIGHT) / 2:.0f}" y="{HEIGHT - 6}" text-anchor="middle">'
               f'date (day 0: {start:%-d %b %Y})</text>')
    data = []
    for i, c in enumerate(curves):
        colour = "#000000" if len(curves) == 1 else SERIES[i % len(SERIES)]
        offset = (c.as_of - start).days
        keep = c.x + offset <= right_day
        xs = np.append(sx(c.x[keep] + offset), sx(right_day))
        if c.low is not None:
            lo = sy(np.append(c.low[keep], c.low[keep][-1]))
            hi = sy(np.append(c.high[keep], c.high[keep][-1]))
            back = "".join(f"V{lo[k - 1]:.1f}H{xs[k - 1]:.1f}" for k in range(len(xs) - 1, 0, -1))
            out.append(f'<path class="band" fill="{SKY}" d="{_steps(xs, hi)}{back}Z"/>')
        p = np.append(c.p[keep], c.p[keep][-1])
        out.append(f'<path class="curve" stroke="{colour}" d="{_steps(xs, sy(p))}"/>')
        out.append(f'<circle class="dot" r="4.5" fill="{colour}" cx="-10" cy="-10"/>')
        data.append({"label": c.label, "offset": offset, "x": [round(float(v), 4) for v in c.x[keep]],
                     "p": [round(float(v), 5) for v in c.p[keep]], "colour": colour})
    out.append(f'<line class="cursor" x1="-10" x2="-10" y1="{TOP}" y2="{HEIGHT - BOTTOM}"/>')
    out.append(f'<rect class="hit" x="{LEFT}" y="{TOP}" width="{WIDTH - RIGHT - LEFT}" height="{HEIGHT - BOTTOM - TOP}"/>')
    out.append("</svg>")
    spec = {"start": start.isoformat(), "right": right_day, "what": what, "curves": data,
            "frame": [LEFT, WIDTH - RIGHT, HEIGHT - BOTTOM, TOP]}
    legend = "" if len(curves) == 1 else '<p class="legend">' + " ".join(
        f'<span><i style="background:{d["colour"]}"></i>{escape(d["label"])}</span>' for d in data) + "</p>"
    payload = json.dumps(spec, separators=(",", ":")).replace("</", "<\\/")  # never closes the script element
    return (f'<div class="hover" id="{escape(chart_id)}">{legend}'
            f'<output class="readout" aria-live="polite">Move the pointer over the chart to read the values.</output>'
            + "".join(out) + f'<script type="application/json">{payload}</script></div>')


# One script for every chart of a page: day under the pointer -> the step each curve is on.
SCRIPT = """
(function () {
  var MONTHS = ["Jan","Feb","Mar","Apr","May","Jun","Jul","Aug","Sep","Oct","Nov","Dec"];
  function date(start, day) {
    var d = new Date(Date.parse(start + "T00:00:00Z") + Math.floor(day) * 86400000);
    return d.getUTCDate() + " " + MONTHS[d.getUTCMonth()] + " " + d.getUTCFullYear();
  }
  function pct(p) { return (100 * p).toFixed(1) + "%"; }
  function step(xs, v) {
    var lo = 0, hi = xs.length - 1;
    if (v < xs[0]) return -1;
    while (lo < hi) { var mid = (lo + hi + 1) >> 1; if (xs[mid] <= v) lo = mid; else hi = mid - 1; }
    return lo;
  }
  document.querySelectorAll("div.hover").forEach(function (box) {
    var spec = JSON.parse(box.querySelector("script[type='application/json']").textContent);
    var svg = box.querySelector("svg"), out = box.querySelector("output"), f = spec.frame;
    var cursor = svg.querySelector(".cursor"), dots = svg.querySelectorAll(".dot");
    function show(evt) {
      var pt = svg.createSVGPoint(); pt.x = evt.clientX; pt.y = evt.clientY;
      var u = pt.matrixTransform(svg.getScreenCTM().inverse());
      var day = Math.max(0, Math.min(spec.right, (u.x - f[0]) / (f[1] - f[0]) * spec.right));
      var whole = Math.floor(day), x = f[0] + whole / spec.right * (f[1] - f[0]);
      cursor.setAttribute("x1", x); cursor.setAttribute("x2", x);
      var parts = [];
      spec.curves.forEach(function (c, i) {
        var k = step(c.x, whole - c.offset), p = k < 0 ? 0 : c.p[k];
        dots[i].setAttribute("cx", x); dots[i].setAttribute("cy", f[2] + p * (f[3] - f[2]));
        var own = whole - c.offset;
        parts.push((spec.curves.length > 1 ? c.label + ": " : "") + "day " + own + " \u00b7 " + spec.what + " " + pct(p));
      });
      out.textContent = date(spec.start, whole) + " \u00b7 " + parts.join(" | ");
    }
    svg.querySelector(".hit").addEventListener("mousemove", show);
  });
})();
"""

STYLE = """
div.hover { margin: 0.8em 0 1.6em; } div.hover svg { width: 100%; height: auto; display: block; }
div.hover output { display: block; min-height: 1.5em; font-variant-numeric: tabular-nums; font-weight: 600; }
div.hover .grid { stroke: #e3e3e3; } div.hover .tick { font-size: 13px; fill: """ + GREY + """; }
div.hover .axis { font-size: 13px; fill: #333; } div.hover .curve { fill: none; stroke-width: 2.2; }
div.hover .band { opacity: 0.45; stroke: none; } div.hover .cursor { stroke: #333; stroke-dasharray: 3 3; }
div.hover .hit { fill: transparent; cursor: crosshair; }
p.legend span { margin-right: 1.2em; white-space: nowrap; }
p.legend i { display: inline-block; width: 1.4em; height: 0.35em; vertical-align: middle; margin-right: 0.4em; }
"""
