"""Rendering a Briefing: one self-contained, printable HTML page (or Markdown).

The HTML comes from jinja2 templates in cli/templates/ with auto-escaping; the
responsibility-chain diagrams are networkx graphs drawn with matplotlib to SVG with
`svg.fonttype = 'none'`, so that every label (Chinese included) stays text that the
browser renders with the page's fonts. Layout measures text with DejaVu Sans, which
ships with matplotlib: no system font is needed to draw, and the output is the same on
every machine. Nothing is fetched from the network: CSS and SVG are inline.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
import warnings
from pathlib import Path

from markupsafe import Markup, escape

from queries.briefing import BAD, NA, OK, STATE_ZH, UNKNOWN, Briefing, Duty, responsibility_graph

TEMPLATES = Path(__file__).resolve().parent / "templates"

# Fonts the page asks for, in order (the SVG text inherits them through CSS).
FONT_STACK = ('"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", '
              '"WenQuanYi Micro Hei", "Noto Sans SC", sans-serif')

# A building's diagram shows at most this many link nodes; the tables list them all.
MAX_LINKS_DRAWN = 48

PERSONAL_FIELDS = "主要负责人、联系电话、整改责任人、检查人员"


# --------------------------------------------------------------------------------------
# Diagram
# --------------------------------------------------------------------------------------

_FILL = {OK: ("#e8f5e9", "#2e7d32"), BAD: ("#fdecea", "#c62828"), UNKNOWN: ("#fff8e1", "#b7791f"),
         NA: ("#f5f5f5", "#757575")}
_KIND_FILL = {"enterprise": ("#e3f2fd", "#1565c0"), "building": ("#eceff1", "#37474f")}
FONT_PT = 7.0
LINE_IN = FONT_PT * 1.4 / 72
PAD_X_IN, PAD_Y_IN = 0.08, 0.05
GAP_X_IN, GAP_Y_IN = 0.42, 0.12


def _text_width_in(text: str, size_pt: float = FONT_PT) -> float:
    """Width of a line in inches: CJK and full-width characters 1 em, others about 0.6 em."""
    em = sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.6 for ch in text)
    return em * size_pt / 72


def _clip(text: str, max_em: float = 16) -> str:
    out, em = "", 0.0
    for ch in text or "":
        w = 1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.6
        if em + w > max_em:
            return out + "…"
        out, em = out + ch, em + w
    return out


def _mpl_text(s: str) -> str:
    """Text for matplotlib: `$` would start mathtext."""
    return s.replace("$", r"\$")


def _node_lines(b: Briefing, g, n: str) -> list[str]:
    a = g.nodes[n]
    kind = a["kind"]
    if kind == "building":
        p = b.building(a["id"]).props
        facts = " · ".join(x for x in (a["id"], f"{p.get('fire_class')}类" if p.get("fire_class") else "",
                                          f"{p.get('floors')}层" if p.get("floors") else "",
                                          p.get("structure") or "") if x)
        return [f"建筑 {_clip(a['label'], 13)}", facts]
    if kind == "enterprise":
        roles = []
        if a.get("owner"):
            roles.append("产权单位")
        for pred in g.predecessors(n):
            rel = g.edges[pred, n].get("rel")
            r = {"LESSEE_OF": "承租方", "CONTRACTOR_OF": "承包方", "AGENCY_OF": "派遣单位"}.get(rel)
            if r and r not in roles:
                roles.append(r)
        for succ in g.successors(n):
            rel = g.edges[n, succ].get("rel")
            r = {"CLIENT_OF": "发包方", "HOST_OF": "用工单位", "RUNS": "作业单位"}.get(rel)
            if r and r not in roles:
                roles.append(r)
        return [_clip(a["label"], 15), "、".join(roles[:3]) or "企业"]
    if kind == "tenancy":
        t = b.tenancies[a["id"]]
        p = t.props
        head = f"租赁 {a['id']}" + (f" · 深度{t.depth}" if t.depth else " · 断链")
        facts = " · ".join(x for x in (
            f"{p['area']:g}㎡" if p.get("area") is not None else "",
            f"{p['workers']}人" if p.get("workers") is not None else "",
            p.get("purpose") or "",
            f"{p['goods_fire_class']}类" if p.get("goods_fire_class") else "") if x)
        return [head, facts or "面积人数未填", _gap_line(t.duties, t.two_way_gap)]
    if kind == "contract":
        c = b.contracts[a["id"]]
        hr = c.props.get("high_risk_work") or []
        return [f"外包 {a['id']} · {c.props.get('kind') or ''}",
                _clip("高风险：" + "、".join(hr), 16) if hr else _clip(c.props.get("work") or "作业内容未填", 16),
                _gap_line(c.duties, c.two_way_gap)]
    if kind == "dispatch":
        d = b.dispatch[a["id"]]
        return [f"派遣 {a['id']} · {d.props.get('workers')}人", f"岗位性质：{d.props.get('position_nature') or '未填'}"]
    if kind == "operation":
        o = b.operations[a["id"]]
        return [f"作业 {a['id']} · {o['category']}", o["footing"]]
    return [str(n)]


def _gap_line(duties: list[Duty], two_way: bool) -> str:
    bad = [d.label for d in duties if d.state == BAD]
    unk = [d.label for d in duties if d.state == UNKNOWN]
    if two_way:
        return "两头不管" + (f"；缺{len(bad)}项" if bad else "") + (f"；未填{len(unk)}项" if unk else "")
    if bad:
        return _clip("缺：" + "、".join(bad), 16)
    if unk:
        return _clip("未填：" + "、".join(unk), 16)
    return "职责齐全"


def _layers(g, root: str) -> dict[str, int]:
    import networkx as nx

    dist = nx.single_source_shortest_path_length(g, root)
    return {n: dist.get(n, 1) for n in g.nodes}


def diagram_svg(b: Briefing, building_id: str) -> str:
    """The responsibility chain of one building as an SVG fragment (text stays text)."""
    import matplotlib
    import networkx as nx
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

    g = responsibility_graph(b, building_id)
    links = [n for n in g if g.nodes[n]["kind"] in ("tenancy", "contract", "dispatch", "operation")]
    omitted = 0
    if len(links) > MAX_LINKS_DRAWN:
        drop = links[MAX_LINKS_DRAWN:]
        omitted = len(drop)
        g.remove_nodes_from(drop)
        g.remove_nodes_from([n for n in list(g) if g.degree(n) == 0 and g.nodes[n]["kind"] == "enterprise"])
    root = f"B:{building_id}"
    layer = _layers(g, root)
    lines = {n: _node_lines(b, g, n) for n in g}
    size = {n: (max(_text_width_in(s) for s in lines[n]) + 2 * PAD_X_IN, len(lines[n]) * LINE_IN + 2 * PAD_Y_IN)
            for n in g}

    # Columns left to right by layer; inside a column, order by the parents' rows.
    cols: dict[int, list[str]] = {}
    for n in g:
        cols.setdefault(layer[n], []).append(n)
    order_y: dict[str, float] = {}
    x_of: dict[int, float] = {}
    x = 0.1
    for li in sorted(cols):
        nodes = cols[li]
        nodes.sort(key=lambda n: (
            min((order_y[p] for p in g.predecessors(n) if p in order_y), default=0.0),
            g.nodes[n]["kind"], str(g.nodes[n].get("id"))))
        width = max(size[n][0] for n in nodes)
        x_of[li] = x + width / 2
        x += width + GAP_X_IN
        for i, n in enumerate(nodes):
            order_y[n] = float(i)
    fig_w = x - GAP_X_IN + 0.1
    heights = {li: sum(size[n][1] for n in nodes) + GAP_Y_IN * (len(nodes) - 1) for li, nodes in cols.items()}
    fig_h = max(heights.values()) + 0.3 + (0.15 if omitted else 0)
    pos: dict[str, tuple[float, float]] = {}
    for li, nodes in cols.items():
        y = 0.15 + (fig_h - 0.15 - heights[li]) / 2
        for n in nodes:
            h = size[n][1]
            pos[n] = (x_of[li], y + h / 2)
            y += h + GAP_Y_IN

    rc = {"svg.fonttype": "none", "svg.hashsalt": f"sitegraph-{building_id}", "font.family": "sans-serif",
          "font.sans-serif": ["DejaVu Sans"], "text.usetex": False}
    with matplotlib.rc_context(rc), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Glyph … missing from font": the browser draws the text
        fig = Figure(figsize=(fig_w, fig_h))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, fig_w)
        ax.set_ylim(fig_h, 0)
        ax.set_axis_off()

        # Edges first (under the boxes), between box borders: networkx draws them on a
        # graph of ports (right side of the source, left side of the target).
        ports = nx.DiGraph()
        ppos: dict = {}
        styles: dict[tuple, list] = {}
        for u, v, a in g.edges(data=True):
            (xu, yu), (xv, yv) = pos[u], pos[v]
            wu, wv = size[u][0] / 2, size[v][0] / 2
            if xv > xu:
                pu, pv = (xu + wu, yu), (xv - wv, yv)
                conn = "arc3,rad=0"
            elif xv < xu:
                pu, pv = (xu - wu, yu), (xv + wv, yv)
                conn = "arc3,rad=0.2"
            else:
                pu, pv = (xu + wu, yu), (xv + wv, yv)
                conn = "arc3,rad=-0.6"
            su, sv = ("out", u, v), ("in", u, v)
            ports.add_edge(su, sv)
            ppos[su], ppos[sv] = pu, pv
            broken = bool(a.get("broken"))
            styles.setdefault((broken, conn), []).append((su, sv))
            if a.get("label") and a.get("rel") in ("UNLINKED",):
                ax.text((pu[0] + pv[0]) / 2, (pu[1] + pv[1]) / 2 - 0.05, _mpl_text(a["label"]), fontsize=5.5,
                        color="#c62828", ha="center", va="bottom")
        for (broken, conn), edges in sorted(styles.items()):
            nx.draw_networkx_edges(
                ports, ppos, edgelist=edges, ax=ax, arrows=True, arrowstyle="-|>", arrowsize=7,
                node_size=0, width=1.4 if broken else 0.8, edge_color="#c62828" if broken else "#546e7a",
                style="dashed" if broken else "solid", connectionstyle=conn,
            )

        for n in g:
            a = g.nodes[n]
            (cx, cy), (w, h) = pos[n], size[n]
            fill, edge = _KIND_FILL.get(a["kind"]) or _FILL[a.get("state", OK)]
            broken = bool(a.get("broken"))
            ax.add_patch(FancyBboxPatch(
                (cx - w / 2, cy - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.04",
                facecolor=fill, edgecolor="#c62828" if broken else edge, linewidth=1.6 if broken else 0.8,
                linestyle="--" if broken else "-", zorder=3))
            for i, s in enumerate(lines[n]):
                ly = cy - h / 2 + PAD_Y_IN + LINE_IN * (i + 0.5)
                last_gap = i == 2 and a["kind"] in ("tenancy", "contract")
                color = _FILL[a.get("state", OK)][1] if last_gap else "#212121"
                ax.text(cx, ly, _mpl_text(s), fontsize=FONT_PT, ha="center", va="center", zorder=4, color=color,
                        fontweight="bold" if i == 0 else "normal")
        if omitted:
            ax.text(0.1, fig_h - 0.08, f"图中省略 {omitted} 个关系节点，见下表", fontsize=6, color="#757575",
                    ha="left", va="bottom")
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML declaration and DOCTYPE
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    title = f"{building_id} 责任链示意图"
    svg = svg.replace(">", f' role="img" aria-label="{escape(title)}">', 1)
    return svg


# --------------------------------------------------------------------------------------
# Template helpers
# --------------------------------------------------------------------------------------

def _yn(v, violation: bool = False, state: str | None = None) -> Markup:
    """是 / 否 / 未填 as a coloured span (blank = not surveyed, shown apart from 否)."""
    if state is None:
        if v is None:
            state = UNKNOWN
        else:
            state = (BAD if v else OK) if violation else (OK if v else BAD)
    if state == NA:
        return Markup('<span class="v na" title="不适用">—</span>')
    if v is None:
        return Markup('<span class="v unknown" title="台账未填，未排查">未填</span>')
    text = "是" if v is True else "否" if v is False else str(v)
    return Markup(f'<span class="v {state}">{escape(text)}</span>')


def _duty_cell(d: Duty) -> Markup:
    return _yn(d.value, d.violation, d.state)


def _state(state: str) -> Markup:
    sym = {OK: "✓", BAD: "✗", UNKNOWN: "？", NA: "—"}[state]
    return Markup(f'<span class="st {state}" title="{STATE_ZH[state]}">{sym} {STATE_ZH[state]}</span>')


def _num(v, unit: str = "") -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        v = f"{v:,.2f}".rstrip("0").rstrip(".")
    return f"{v}{unit}"


def _date(v) -> str:
    return v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else ("—" if v is None else str(v))


def _join(v, sep: str = "、") -> str:
    if not v:
        return "—"
    return sep.join(str(x) for x in v)


def _md(v) -> str:
    """A Markdown table cell: no pipes, no newlines, no raw HTML."""
    if v is None:
        return ""
    s = str(v)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return s.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _md_yn(v, violation: bool = False, state: str | None = None) -> str:
    if state == NA:
        return "—"
    if v is None:
        return "⚠未填"
    text = "是" if v is True else "否" if v is False else str(v)
    if state is None:
        state = (BAD if v else OK) if violation else (OK if v else BAD)
    return f"**{text}**✗" if state == BAD else text


def _env(markdown: bool = False):
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False,
                                     default=False),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters.update(yn=_md_yn if markdown else _yn, num=_num, date=_date, join=_join, md=_md,
                       state=_state, duty=_duty_cell)
    env.globals.update(STATE_ZH=STATE_ZH, OK=OK, BAD=BAD, UNKNOWN=UNKNOWN, NA=NA,
                       PERSONAL_FIELDS=PERSONAL_FIELDS, FONT_STACK=FONT_STACK)
    return env


def _context(b: Briefing, diagrams: bool) -> dict:
    svgs = {}
    if diagrams:
        for bb in b.buildings:
            svgs[bb.building_id] = Markup(diagram_svg(b, bb.building_id))
    by_query: dict[str, list] = {}
    for f in b.findings or []:
        by_query.setdefault(f.query_id, []).append(f)
    focus = focus_items(b)
    return {"b": b, "s": b.summary, "svgs": svgs, "findings_by_query": by_query, "focus": focus,
            "lessor_rows": [r for r in b.checklist if r.role == "lessor"],
            "lessee_rows": [r for r in b.checklist if r.role == "lessee"],
            "hazards_by_id": {h["hazard_id"]: h for h in b.hazards}}


def focus_items(b: Briefing) -> list[tuple[str, str]]:
    """The few things to look at first on site: (severity, text), most urgent first."""
    out: list[tuple[str, str]] = []
    for h in b.open_hazards:
        if h["level"] == "重大":
            od = f"，已逾期（时限 {h['deadline']}）" if h["overdue"] else (f"，时限 {h['deadline']}" if h.get("deadline") else "，未定整改时限")
            out.append(("high", f"重大隐患 {h['hazard_id']}（{b.ent_name(h['uscc'])}，{h.get('building_id') or '未注明建筑'}）"
                                f"：{h['description']}{od}"))
    for x in b.breaks:
        if x.severity == "high":
            out.append(("high", x.text))
    for h in b.open_hazards:
        if h["level"] != "重大" and h["overdue"]:
            out.append(("medium", f"隐患 {h['hazard_id']} 逾期未整改（时限 {h['deadline']}）：{h['description']}"))
    for x in b.breaks:
        if x.severity != "high":
            out.append(("medium", x.text))
    unknown = sum(1 for r in b.checklist for i in r.items if i.state == UNKNOWN)
    if unknown:
        out.append(("info", f"检查清单中有 {unknown} 项台账未填（未排查），需现场核实"))
    return out


def render_html(b: Briefing, *, diagrams: bool = True) -> str:
    return _env().get_template("briefing.html.j2").render(**_context(b, diagrams))


def render_markdown(b: Briefing) -> str:
    return _env(markdown=True).get_template("briefing.md.j2").render(**_context(b, diagrams=False))


def output_format(out: str | Path | None, fmt: str | None = None) -> str:
    if fmt:
        return fmt
    if out and str(out).lower().endswith((".md", ".markdown")):
        return "md"
    return "html"


def write_briefing(b: Briefing, out: str | Path, fmt: str | None = None) -> Path:
    """Write the briefing to `out` (.html or .md) and return the path."""
    out = Path(out)
    text = render_markdown(b) if output_format(out, fmt) == "md" else render_html(b)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out


META_LINE_RE = re.compile(r'<p class="meta" id="meta-line">.*?</p>', re.S)
MD_META_LINE_RE = re.compile(r"^> 数据来源 / source:.*$", re.M)


def strip_meta(text: str) -> str:
    """The page without its backend/location/time line (to compare two renderings)."""
    return MD_META_LINE_RE.sub("", META_LINE_RE.sub("", text))
