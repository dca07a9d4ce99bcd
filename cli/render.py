"""Rendering rows for people (rich tables) and for programs (json, csv, xlsx).

Conventions (design-notes.md): json is an array of objects keyed by column name, UTF-8
with Chinese unescaped, codes as they are, and nothing else on stdout; csv is UTF-8 with
BOM for Excel, the header on line 1, coded values labelled, provenance in a sidecar
X.csv.meta.json; cells that begin with = + - @ are neutralised in csv and xlsx (formula
injection). Workbooks are written by loaders.excel.Book.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from loaders.excel import FORMULA_START, label_value, neutralise  # noqa: F401 (one neutralisation rule)


def jsonable(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    return v


def to_json(rows: Sequence[dict], *, indent: int | None = 2) -> str:
    return json.dumps([jsonable(r) for r in rows], ensure_ascii=False, indent=indent, sort_keys=False)


def cell_text(v: Any) -> str:
    """One cell as text: lists joined with 、, dates ISO, bools 是/否, None blank."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple)):
        return "、".join(cell_text(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(jsonable(v), ensure_ascii=False)
    return str(v)


def export_value(v: Any) -> Any:
    """A value for csv/xlsx: text neutralised, numbers and dates kept as they are."""
    if v is None or isinstance(v, (bool, int, float, dt.date)):
        return cell_text(v) if isinstance(v, bool) else v
    return neutralise(cell_text(v))


def to_csv(columns: Sequence[str], rows: Iterable[dict], headers: Sequence[str] | None = None,
           labels: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """CSV for Excel: UTF-8 with BOM, the header on line 1, coded values shown by their labels.

    Nothing comes before the header: provenance and the personal-data note go to a sidecar
    file (`write_csv`)."""
    labels = labels or {}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([neutralise(str(h)) for h in (headers or columns)])
    for r in rows:
        w.writerow(["" if (x := export_value(label_value(r.get(c), labels.get(c, {})))) is None else x
                    for c in columns])
    return "\ufeff" + buf.getvalue()


def meta_path(path: str | Path) -> Path:
    """The sidecar of a CSV file: X.csv -> X.csv.meta.json."""
    path = Path(path)
    return path.with_name(path.name + ".meta.json")


def write_csv(path: str | Path, text: str, meta: dict) -> Path:
    """Write a CSV (from to_csv) and its sidecar X.csv.meta.json, each atomically; returns the sidecar."""
    path = Path(path)
    side = meta_path(path)
    from .common import write_text_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)
    write_text_atomic(side, json.dumps(jsonable(meta), ensure_ascii=False, indent=2) + "\n")
    return side


# --- terminal tables ----------------------------------------------------------------------------
# Keys, ids, codes, dates and numbers never wrap: "YH-J / Q-00 / 0455" across three lines
# cannot be read or copied. Free text is cut to one line with "…" (all of it with --wide).

_KEEP_NAME = re.compile(r"^(id|key|uscc|row|count|n|.*_(id|ids|uscc|code|date|at|no)|date|as_of|deadline)$", re.I)
_TOKEN = re.compile(r"^[!-~]{1,40}$")  # printable ASCII without spaces: ids, codes, numbers, dates
FREE_MIN_WIDTH = 8  # a free-text column is never narrower (it gets "…")
FREE_ROOMY = 16  # headers are wrapped before free text gets narrower than this
HEADER_MIN = 6  # a header wider than its column wraps, up to this many cells kept on a line
SHORT_WORD = 6  # characters: a value this short without spaces (义井街道, 一般) is not free text


def console_for(file=None):
    """A rich Console for tables: the terminal's width, $COLUMNS when set (also off a
    terminal), else 200 columns off a terminal (a log or a pipe keeps rows on one line)."""
    from rich.console import Console

    f = file or sys.stdout
    width = None
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        width = int(env)
    elif not (hasattr(f, "isatty") and f.isatty()):
        width = 200
    return Console(file=f, width=width, soft_wrap=False, highlight=False)


def _is_kept(name: str, values: list[Any]) -> bool:
    """A column that must not wrap: by its name (ids, dates), or by its values — all ids,
    codes, numbers, dates, or short words (a township, a level)."""
    if _KEEP_NAME.match(name):
        return True
    for v in values:
        if v in (None, "") or isinstance(v, (bool, int, float, dt.date, dt.datetime)):
            continue
        text = cell_text(v)
        if _TOKEN.match(text) or (len(text) <= SHORT_WORD and not any(ch.isspace() for ch in text)):
            continue
        return False
    return True


def _widths(need_kept: list[int], natural: list[int | None], floor: list[int], avail: int) -> list[int]:
    """Widths of the free columns (natural[i] not None) sharing `avail` cells: the narrow ones
    get what they need, the others an equal share of the rest, none below its floor."""
    out = list(need_kept)
    free = sorted((i for i, n in enumerate(natural) if n is not None), key=lambda i: natural[i])
    left = avail
    for k, i in enumerate(free):
        share = left // (len(free) - k) if left > 0 else 0
        out[i] = min(natural[i], max(share, floor[i]))
        left -= out[i]
    return out


def print_table(columns: Sequence[str], rows: Sequence[dict], headers: Sequence[str] | None = None,
                title: str | None = None, file=None, *, keys: Iterable[str] = (), wide: bool = False,
                display=None, styles: Sequence[str | None] | None = None) -> None:
    """Rows as a rich table that fits the terminal. `keys`, and columns whose values are all
    ids, codes, numbers, dates or short words, never wrap nor shrink; the other columns share
    the rest of the width and are cut with "…" on one line, or wrapped in full with `wide`.
    A table whose kept columns alone do not fit is shown one block per row instead (a key is
    never broken). Headers stay on one line when there is room, else they wrap."""
    from rich.table import Table
    from rich.text import Text

    show = display or cell_text
    console = console_for(file)
    keys = set(keys)
    texts = [[show(r.get(c)) for c in columns] for r in rows]
    heads = [str(h) for h in (headers or columns)]
    widest = [max([Text(x[i]).cell_len for x in texts] or [0]) for i in range(len(columns))]
    kept = [c in keys or _is_kept(c, [r.get(c) for r in rows]) for c in columns]
    # Tiers: the boxed table with one-line headers, then a compact table without vertical rules
    # (2 cells between columns instead of 3), then either with wrapped headers, then one block per row.
    fits = False
    for compact, cap in ((False, None), (True, None), (False, HEADER_MIN), (True, HEADER_MIN)):
        overhead = 2 * len(columns) if compact else 3 * len(columns) + 1
        head_len = [Text(h).cell_len if cap is None else min(Text(h).cell_len, cap) for h in heads]
        fixed = [max(w, hl, 1) if k else 0 for w, hl, k in zip(widest, head_len, kept)]
        natural = [None if k else max(w, hl, 1) for w, hl, k in zip(widest, head_len, kept)]
        floor = [0 if k else min(n, FREE_MIN_WIDTH) for n, k in zip(natural, kept)]
        widths = _widths(fixed, natural, floor, console.width - overhead - sum(fixed))
        roomy = all(w >= min(n, FREE_ROOMY) for w, n in zip(widths, natural) if n is not None)
        if overhead + sum(widths) <= console.width and (roomy or (compact and cap is not None)):
            fits = True
            break
    if not fits:  # too many columns: one block per row (never a key cut)
        _print_records(console, heads, texts, title, styles)
        return
    if compact:
        from rich import box

        table = Table(title=title, header_style="bold", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                      collapse_padding=True)
    else:
        table = Table(title=title, show_lines=False, header_style="bold")
    for h, keep, w in zip(heads, kept, widths):
        head = Text(h, no_wrap=False, overflow="fold")
        if keep:
            table.add_column(head, no_wrap=True, overflow="ignore", width=w)
        elif wide:
            table.add_column(head, no_wrap=False, overflow="fold", min_width=min(w, FREE_MIN_WIDTH))
        else:
            table.add_column(head, no_wrap=True, overflow="ellipsis", width=w)
    for n, row in enumerate(texts):
        # Text cells: values must never be read as rich markup ("[…]").
        table.add_row(*[Text(x) for x in row], style=(styles[n] if styles else None))
    console.print(table)


def _print_records(console, heads: list[str], texts: list[list[str]], title: str | None,
                   styles: Sequence[str | None] | None) -> None:
    """Rows too wide for the terminal, one block per row: "header  value" lines (values wrap)."""
    from rich.rule import Rule
    from rich.table import Table
    from rich.text import Text

    if title:
        console.print(Text(title, style="bold"), justify="center")
    label_w = min(max([Text(h).cell_len for h in heads] or [1]), 24)
    for n, row in enumerate(texts, 1):
        console.print(Rule(Text(f"{n}"), align="left", style="dim"))
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=False, overflow="fold", width=label_w, style="bold")
        grid.add_column(overflow="fold")
        for h, x in zip(heads, row):
            grid.add_row(Text(h), Text(x))
        console.print(grid, style=(styles[n - 1] if styles else None) or "")
