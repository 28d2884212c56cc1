"""The one page every report is: a self-contained HTML file (figures embedded as data, its only
script inline, nothing loaded from the network) with the headline numbers first, a table of
contents, then sections; and the pieces the reports share (tables, figures, commands).

Every string that came from a file is escaped here, where it enters the page.
"""

from __future__ import annotations

import base64
import shlex
from dataclasses import dataclass
from html import escape
from pathlib import Path

from . import hover

GENERATOR = '<meta name="generator" content="sim report">'
CONTENT_PX = 1100   # the widest the page's content gets (CSS px): figures are scaled to fit it

STYLE = f"""
body {{ font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1a1a1a;
       max-width: {CONTENT_PX}px; margin: 1.5em auto 3em; padding: 0 1.2em; }}
h1 {{ font-size: 1.65em; margin: 0.2em 0; line-height: 1.25; }}
h2 {{ margin-top: 2em; border-bottom: 1px solid #ccc; }} h3 {{ margin-bottom: 0.3em; }}
.meta {{ color: #555; font-size: 0.92em; }} .note {{ color: #555; font-style: italic; }}
.headline {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 0.7em;
            margin: 1em 0 0.6em; }}
.card {{ border: 1px solid #d6d6d6; border-radius: 6px; padding: 0.55em 0.8em; background: #fafafa; }}
.card .label {{ font-size: 0.86em; color: #444; }} .card .value {{ font-size: 1.65em; font-weight: 650;
  font-variant-numeric: tabular-nums; line-height: 1.25; }} .card .range {{ font-size: 0.84em; color: #555; }}
.basis {{ margin: 0.4em 0 0.2em; font-size: 0.95em; }}
nav.toc {{ margin: 1.2em 0; padding: 0.5em 1em; border-left: 3px solid #0072B2; background: #f5f8fb; }}
nav.toc ol {{ margin: 0.2em 0; padding-left: 1.4em; }} nav.toc ol.two {{ columns: 2; }} nav.toc li {{ margin: 0.1em 0; }}
table {{ border-collapse: collapse; margin: 0.8em 0; font-size: 0.93em; }}
th, td {{ border-bottom: 1px solid #e2e2e2; padding: 0.3em 0.7em; text-align: left; vertical-align: top; }}
th {{ background: #f3f3f3; }} td.num, th.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.wide {{ overflow-x: auto; }}
figure {{ margin: 1.5em 0; }} figure img {{ max-width: 100%; height: auto; border: 1px solid #ddd; }}
figcaption {{ color: #444; font-size: 0.93em; margin-top: 0.3em; }}
.params td {{ font-size: 0.92em; }}
pre.command {{ background: #f4f4f4; padding: 0.6em 0.9em; overflow-x: auto; white-space: pre-wrap;
              word-break: break-all; font-size: 0.92em; }}
details summary {{ cursor: pointer; margin: 0.6em 0; }}
{hover.STYLE}
"""


@dataclass
class Section:
    """One section of a page: its anchor, its heading (in the table of contents) and its HTML."""

    anchor: str
    title: str
    html: str


@dataclass
class Card:
    """A headline number: what it is, the number, and the line under it (an interval, a range)."""

    label: str
    value: str
    under: str = ""


def cards(items: list[Card]) -> str:
    """The headline numbers, one card each."""
    return '<div class="headline">' + "".join(
        f'<div class="card"><div class="label">{escape(c.label)}</div><div class="value">{escape(c.value)}</div>'
        + (f'<div class="range">{escape(c.under)}</div>' if c.under else "") + "</div>" for c in items) + "</div>"


def table(head: list[str], rows: list[list], numeric: set[int] = frozenset(), cls: str = "") -> str:
    """An HTML table of already formatted cells (escaped here); ``numeric`` columns align right."""
    def cell(tag: str, j: int, text) -> str:
        return f"<{tag}{' class=num' if j in numeric else ''}>{escape(str(text))}</{tag}>"
    th = "".join(cell("th", j, h) for j, h in enumerate(head))
    body = "".join("<tr>" + "".join(cell("td", j, c) for j, c in enumerate(r)) + "</tr>" for r in rows)
    return (f'<div class="wide"><table{f" class={cls}" if cls else ""}><thead><tr>{th}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def figure(anchor: str, title: str, png: bytes, caption: str) -> str:
    """A PNG embedded as data, scaled to the page's width, with its title and caption."""
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure id="{escape(anchor)}"><h3>{escape(title)}</h3>'
            f'<img alt="{escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>'


def paragraphs(text: str) -> str:
    return "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n") if p.strip())


def command_line(argv) -> str | None:
    """The command a manifest recorded (``command``: its argv), written as typed: ``sim run ...``;
    None when it was not sim's command line (the folder was written from Python)."""
    if not isinstance(argv, list) or len(argv) < 2 or not all(isinstance(a, str) for a in argv):
        return None
    head = Path(argv[0])
    if head.name == "sim":
        return shlex.join(["sim", *argv[1:]])
    if head.name == "__main__.py" and head.parent.name == "sim":   # python -m sim
        return shlex.join(["python", "-m", "sim", *argv[1:]])
    return None


def commands(items: list[tuple[str, str]]) -> str:
    """Commands to copy, each after a line saying what it does."""
    return "".join(f"<p>{escape(what)}</p><pre class=command>{escape(cmd)}</pre>" for what, cmd in items)


def page(title: str, meta: list[str], headline: str, sections: list[Section]) -> str:
    """The whole page: title, a line of facts, the headline numbers, the table of contents and the
    sections. ``meta`` items and ``headline`` are HTML (escaped by their makers)."""
    toc = "".join(f'<li><a href="#{escape(s.anchor)}">{escape(s.title)}</a></li>' for s in sections)
    body = "".join(f'<section id="{escape(s.anchor)}"><h2>{escape(s.title)}</h2>{s.html}</section>' for s in sections)
    script = f"<script>{hover.SCRIPT}</script>" if 'class="hover"' in body else ""
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">', GENERATOR,
        f"<title>{escape(title)}: report</title><style>{STYLE}</style></head><body>",
        f"<header><h1>{escape(title)}</h1>", f'<p class="meta">{" · ".join(meta)}</p>', headline, "</header>",
        f'<nav class="toc" aria-label="contents"><b>Contents</b><ol{" class=two" if len(sections) > 4 else ""}>{toc}</ol></nav>', body,
        '<p class="meta">Written by sim report from the files of a result folder.</p>', script,
        "</body></html>", ""])
