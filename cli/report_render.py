"""Rendering the supervision report (queries.report): a self-contained A4 HTML document,
its PDF (headless Chromium's print-to-PDF) and its workbook (loaders.excel).

The HTML is built like the briefing (cli/briefing_render.py: the same jinja2 environment,
fonts and @page margin boxes with page numbers); the trend charts are matplotlib SVG with
`svg.fonttype = 'none'`, so Chinese labels stay text drawn by the page's fonts. Each figure
cell carries the query and column it comes from (data-q, data-col, data-v), so the document
can be checked against `sitegraph query run` cell by cell.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from queries.report import RATE_COLUMNS, TREND_FIGURES, Report, pct, reason_text, trend_series

# Line colours of the trend charts (one per county), readable in grey print too.
def _mpl_text(s: str) -> str:
    """Text for matplotlib: `$` would start mathtext."""
    return s.replace("$", r"\$")


_COLOURS = ("#1565c0", "#c62828", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037", "#455a64")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _json(v: Any) -> str:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return json.dumps(v, ensure_ascii=False)


def _value_text(v: Any, col: str = "") -> str:
    if v is None:
        return "—"
    if col in RATE_COLUMNS:
        return pct(v)
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        return f"{v:,.2f}".rstrip("0").rstrip(".")
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, list):
        return "、".join(str(x) for x in v) or "—"
    return str(v)


def figure_cell(qid: str, col: str, row: dict | None, county: str | None, township: str | None = None,
                level: str = "county") -> Markup:
    """A <td> holding one query cell: its value shown for people, its source in data-*."""
    if row is None:
        return Markup('<td class="n na">—</td>')
    v = row.get(col)
    warn = ""
    if col in ("major_open", "overdue", "supervision_overdue", "closed_unaccepted", "found_nothing_at_risk") and v:
        warn = " warn"
    attrs = (f' data-q="{escape(qid)}" data-col="{escape(col)}" data-level="{level}"'
             f' data-county="{escape(county or "")}" data-township="{escape(township or "")}"'
             f" data-v='{escape(_json(v))}'")
    return Markup(f'<td class="n{warn}"{attrs}>{escape(_value_text(v, col))}</td>')


_NOWRAP = {"county", "township", "status", "level", "supervision_level", "acceptance", "problem", "sector"}


def list_cell(col: str, v: Any) -> Markup:
    nowrap = col.endswith(("_id", "uscc")) or col in _NOWRAP or isinstance(v, (dt.date, dt.datetime))
    cls = ' class="id"' if nowrap else ""
    if isinstance(v, bool):
        return Markup(f'<td class="c{" bad" if v and col in ("overdue", "stop_defied") else ""}">{"是" if v else "否"}</td>')
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return Markup(f'<td class="n">{escape(_value_text(v, col))}</td>')
    return Markup(f"<td{cls}>{escape(_value_text(v, col))}</td>")


# --------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------

def trend_svg(rep: Report, figure: str, label: str) -> str:
    """A line per county of one figure over the trend's dates, as inline SVG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    series = trend_series(rep, figure)
    dates = rep.trend_dates
    rc = {"svg.fonttype": "none", "svg.hashsalt": f"sitegraph-report-{figure}", "font.family": "sans-serif",
          "font.sans-serif": ["DejaVu Sans"], "text.usetex": False, "axes.spines.top": False,
          "axes.spines.right": False}
    with matplotlib.rc_context(rc), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Glyph … missing from font": the browser draws the text
        fig = Figure(figsize=(7.2, 2.7))
        ax = fig.add_axes((0.08, 0.14, 0.74, 0.78))
        xs = list(range(len(dates)))
        ends = []  # (value, colour) of each county's last point: labelled after the axes are set
        for i, (county, points) in enumerate(series.items()):
            at = {d: v for d, v in points}
            ys = [at.get(d) for d in dates]
            ys = [float("nan") if y is None else float(y) for y in ys]
            ax.plot(xs, ys, color=_COLOURS[i % len(_COLOURS)], marker=_MARKERS[i % len(_MARKERS)], markersize=4,
                    linewidth=1.6, label=county or "未填县区")
            last = next((y for y in reversed(ys) if y == y), None)
            if last is not None:
                ends.append((last, county or "未填县区", _COLOURS[i % len(_COLOURS)]))
        ax.set_xticks(xs, [d.isoformat() for d in dates], fontsize=7)
        ax.set_xlim(-0.3, max(len(dates) - 1, 0) + 0.6)
        ax.tick_params(axis="y", labelsize=7)
        if figure == "rate":
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v * 100:.0f}%"))
            ax.set_ylim(0, 1.02)
        else:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylim(bottom=0)
        # end labels a little apart (close values would print over each other), each in its line's colour
        lo, hi = ax.get_ylim()
        gap, placed = (hi - lo) * 0.075, []
        for v, _name, _colour in sorted(ends):
            placed.append(v if not placed else max(v, placed[-1] + gap))
        shift = max(0.0, (placed[-1] if placed else lo) - hi)  # the stack kept inside the axes
        for (v, name, colour), y in zip(sorted(ends), placed):
            text = f"{name} {pct(v) if figure == 'rate' else f'{v:g}'}"
            ax.annotate(_mpl_text(text), (xs[-1], v), xytext=(xs[-1] + 0.12, max(lo, y - shift)), textcoords="data",
                        fontsize=7, va="center", color=colour)
        ax.grid(axis="y", color="#e0e0e0", linewidth=0.6)
        ax.set_ylabel(label, fontsize=8)
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7.5, frameon=False, title="县区",
                  title_fontsize=7.5)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    ns = f"sg-trend-{figure}-"
    svg = re.sub(r'\bid="', f'id="{ns}', svg)
    svg = svg.replace("url(#", f"url(#{ns}").replace('href="#', f'href="#{ns}')
    return svg.replace(">", f' role="img" aria-label="{escape(label)}趋势">', 1)


# --------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------

def _env():
    from .briefing_render import _env as briefing_env

    env = briefing_env()
    env.filters.update(pct=pct, value=_value_text)
    env.globals.update(figure_cell=figure_cell, list_cell=list_cell)
    return env


def _params_text(params: dict) -> str:
    return ", ".join(f"{k}={v.isoformat() if isinstance(v, dt.date) else v}" for k, v in params.items())


def _context(rep: Report) -> dict:
    charts = []
    if rep.trend is not None:
        for fig, zh, _en in TREND_FIGURES:
            charts.append({"figure": fig, "title": zh, "svg": Markup(trend_svg(rep, fig, zh))})
    used = []
    seen = set()
    for run in rep.runs:
        key = (run.spec.id, _params_text(run.params))
        if key not in seen:
            seen.add(key)
            used.append({"id": run.spec.id, "title": run.spec.title_zh, "params": key[1], "rows": len(run.rows)})
    headline, candidates = [], rep.candidates("county")
    for r in candidates[:3]:
        headline.append({"county": r["county"], "reasons": [reason_text(c, r, rep.min_rate) for c in r["reasons"]]})
    return {"r": rep, "charts": charts, "used": used, "headline": headline, "candidates": len(candidates),
            "reason_text": reason_text,
            "trend_query": rep.trend.query if rep.trend is not None else None}


def render_html(rep: Report) -> str:
    return _env().get_template("report.html.j2").render(**_context(rep))


META_LINE_RE = re.compile(r'<p class="meta" id="meta-line">.*?</p>', re.S)


def strip_meta(text: str) -> str:
    """The document without its backend and time line (to compare two renderings)."""
    return META_LINE_RE.sub("", text)


# --------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------

def find_chromium() -> str | None:
    """Headless Chromium: $SITEGRAPH_CHROMIUM, else chromium / chromium-browser / google-chrome on PATH."""
    env = os.environ.get("SITEGRAPH_CHROMIUM")
    if env:
        return env if Path(env).exists() or shutil.which(env) else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        p = shutil.which(name)
        if p:
            return p
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def print_pdf(html: str, out: Path, chromium: str, timeout: float = 300) -> None:
    """Print `html` to the PDF file `out` with headless Chromium (A4 from the page's @page rule)."""
    from graphmodel.errors import SitegraphError

    with tempfile.TemporaryDirectory(prefix="sitegraph-report-") as tmp:
        src = Path(tmp) / "report.html"
        src.write_text(html, encoding="utf-8")
        pdf = Path(tmp) / "report.pdf"
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={Path(tmp) / 'profile'}", f"--print-to-pdf={pdf}", "--no-pdf-header-footer",
               src.as_uri()]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise SitegraphError(f"Chromium 未能生成 PDF：{e} / Chromium could not print the PDF") from None
        if res.returncode != 0 or not pdf.is_file() or not pdf.read_bytes().startswith(b"%PDF"):
            tail = (res.stderr or "").strip().splitlines()[-3:]
            raise SitegraphError("Chromium 未能生成 PDF / Chromium could not print the PDF"
                                 + (f"：{' '.join(tail)}" if tail else ""))
        tmp_out = out.with_name(f".{out.name}.part")
        shutil.copyfile(pdf, tmp_out)
        os.replace(tmp_out, out)


# --------------------------------------------------------------------------------------
# Workbook
# --------------------------------------------------------------------------------------

def write_xlsx(rep: Report, path: Path) -> None:
    """汇总 (every sheet, linked), 说明, the figures per county, 通报候选, 趋势, one sheet per
    list — Chinese names and headers, fitted widths, filters and frozen headers (loaders.excel.Book)."""
    from loaders.excel import Book, Col, Link

    book = Book(lang="zh")
    index = book.sheet("汇总")
    notes = book.sheet("说明")
    figure_cols = [Col("level", "层级"), Col("county", "县区"), Col("township", "乡镇街道")]
    for t in rep.tables:
        for c in t.columns:
            figure_cols.append(Col(f"{t.spec.id}:{c}", t.spec.column(c).label_zh,
                                   number_format="0.0%" if c in RATE_COLUMNS else None))

    def row_of(level: str, county, township, parts: list[dict | None]) -> dict:
        out = {"level": level, "county": county, "township": township}
        for t, part in zip(rep.tables, parts):
            for c in t.columns:
                out[f"{t.spec.id}:{c}"] = None if part is None else part.get(c)
        return out

    if rep.county is None:
        rows = [row_of("县区", c, None, [t.county_row(c) for t in rep.tables]) for c in rep.counties]
        book.add_table("全市汇总", figure_cols, rows, freeze_cols=3, print_title=f"督导通报 全市汇总（截至 {rep.as_of}）")
    for c in rep.counties:
        rows = [row_of("县区", c, None, [t.county_row(c) for t in rep.tables])]
        towns = sorted({r["township"] for t in rep.tables for r in t.township_rows(c)}, key=lambda x: (x is None, x or ""))
        for tw in towns:
            parts = [next((r for r in t.township_rows(c) if r["township"] == tw), None) for t in rep.tables]
            rows.append(row_of("乡镇街道", c, tw, parts))
        book.add_table(f"{c or '未填县区'}汇总", figure_cols, rows, freeze_cols=3,
                       print_title=f"督导通报 {c or '未填县区'}汇总（截至 {rep.as_of}）")
    cand = []
    for level, zh in (("county", "县区"), ("township", "乡镇街道")):
        for i, r in enumerate(rep.candidates(level), 1):
            cand.append({"level": zh, "rank": i, "county": r["county"], "township": r["township"],
                         "reason_count": r["reason_count"],
                         "reasons": "；".join(reason_text(c, r, rep.min_rate) for c in r["reasons"]),
                         "rate": r["rate"], "major_open": r["major_open"],
                         "found_nothing_at_risk": r["found_nothing_at_risk"]})
    book.add_table("通报候选", [Col("level", "层级"), Col("rank", "名次"), Col("county", "县区"),
                              Col("township", "乡镇街道"), Col("reason_count", "情形数"), Col("reasons", "通报情形"),
                              Col("rate", "整改率", number_format="0.0%"), Col("major_open", "重大隐患未清零数"),
                              Col("found_nothing_at_risk", "高风险企业未发现问题的检查")], cand,
                   print_title="通报候选（notice-candidates，最差的在前）")
    if rep.trend is not None:
        rows = []
        for p in rep.trend.points:
            for key, figs in sorted(p.groups.items()):
                if rep.county is None or key[0] == rep.county:
                    rows.append({"date": p.day, "county": key[0], **figs})
        book.add_table("趋势", [Col("date", "调查日期"), Col("county", "县区"),
                              Col("rate", "整改率", number_format="0.0%"), Col("major_open", "重大隐患未清零数"),
                              Col("hazards", "隐患数"), Col("rectified", "已整改数")], rows,
                       print_title=f"趋势（{rep.trend.query}，各调查日期）")
    for part in rep.lists:
        cols = [Col(c.name, c.label_zh, labels=dict(c.labels)) for c in part.run.columns]
        rows = part.in_xlsx
        title = f"{part.spec.id}  {part.spec.title_zh}" + (f"（前 {len(rows)} 名，共 {len(part.rows)} 家）"
                                                          if len(rows) < len(part.rows) else "")
        book.add_table(part.spec.title_zh, cols, rows, print_title=title)
    book.write_notes(notes, cover_items(rep))
    # 汇总: one row per sheet, its name a link to it, what it holds (its print title) and its rows
    contents = [{"sheet": Link(ws.title, ws.title), "what": ws.oddHeader.center.text.replace("&&", "&"),
                 "rows": max(ws.max_row - 1, 0)} for ws in book.wb.worksheets if ws is not index]
    book.write_table(index, [Col("sheet", "工作表"), Col("what", "内容"), Col("rows", "行数")], contents,
                     print_title=f"督导通报 汇总（截至 {rep.as_of}）")
    book.set_active(index)
    book.save(path)


def cover_items(rep: Report) -> list[tuple[str, str]]:
    from importlib.metadata import version

    items = [
        ("文件 / document", "督导通报 / supervision report"),
        ("范围 / scope", rep.scope_zh),
        ("统计截至 / as of", rep.as_of.isoformat()),
        ("数据状态 / state", f"{rep.at.isoformat()} 的状态" if rep.at else "当前（最近一次导入后）"),
        ("涵盖的调查日期 / survey dates", "、".join(d.isoformat() for d in rep.survey_dates) or "—"),
        ("台账来源 / sources", "、".join(rep.sources) or "—"),
        ("趋势 / trend", ("自 " + rep.since.isoformat() + "：" + "、".join(d.isoformat() for d in rep.trend_dates))
         if rep.since else "未指定 --since"),
        ("个人信息 / personal data", "含个人信息（--include-personal），请妥善保管" if rep.include_personal
         else "不含个人信息（主要负责人、联系电话、整改责任人、检查人员已隐去）"),
        ("数据库 / store", rep.backend),
        ("生成 / generator", f"sitegraph {version('sitegraph')}，{rep.generated_at}"),
        ("数字来源 / figures", "每个数字都是预置查询的结果：sitegraph query run 编号 -p by=county（或 township）"
                            f" -p as_of={rep.as_of.isoformat()}"),
    ]
    seen = set()
    for run in rep.runs:
        key = (run.spec.id, _params_text(run.params))
        if key not in seen:
            seen.add(key)
            items.append((f"查询 / query {run.spec.id}", f"{run.spec.title_zh}（{key[1] or '无参数'}；{len(run.rows)} 行）"))
    return items
