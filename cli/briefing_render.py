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

from queries.briefing import (
    BAD, NA, OK, STATE_ZH, UNKNOWN, Briefing, Duty, open_items, priority_checks, responsibility_graph,
    visit_checks,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"

# Fonts the page asks for, in order (the SVG text inherits them through CSS).
FONT_STACK = ('"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", '
              '"WenQuanYi Micro Hei", "Noto Sans SC", sans-serif')

# A building's diagram shows at most this many link nodes; the tables list them all.
MAX_LINKS_DRAWN = 48
# Diagrams drawn in one briefing: those of the buildings with the most chain breaks (a
# page each in print; the per-building tables carry every link of every building).
MAX_DIAGRAMS = 3

# The one-page summary (also page 1 of the full briefing): how many of each list it shows.
SUMMARY_CHECKS = 10
SUMMARY_MAJOR = 3
SUMMARY_BREAKS = 6  # plus the major-hazard rows left unused
# Long lists of the full briefing: findings' subjects shown per query, inspections shown.
MAX_FINDING_TAGS = 12
MAX_INSPECTIONS = 20

PERSONAL_FIELDS = "主要负责人、联系电话、整改责任人、检查人员"

# What a chain break is about (Break.link_kind), for the break tables.
LINK_ZH = {"tenancy": "租赁", "contract": "外包", "dispatch": "派遣", "operation": "作业", "building": "建筑",
           "inspection": "检查"}


# --------------------------------------------------------------------------------------
# Diagram
# --------------------------------------------------------------------------------------

_FILL = {OK: ("#e8f5e9", "#2e7d32"), BAD: ("#fdecea", "#c62828"), UNKNOWN: ("#fff8e1", "#b7791f"),
         NA: ("#f5f5f5", "#757575")}
_KIND_FILL = {"enterprise": ("#e3f2fd", "#1565c0"), "building": ("#eceff1", "#37474f")}
FONT_PT = 7.0
LINE_IN = FONT_PT * 1.4 / 72
PAD_X_IN, PAD_Y_IN = 0.08, 0.05


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


def _wrap(text: str, max_em: float = 9, lines: int = 2) -> list[str]:
    """Break a label into at most `lines` lines of `max_em`; the last one clipped."""
    out, cur, em = [], "", 0.0
    for ch in text or "":
        w = 1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.6
        if em + w > max_em:
            out.append(cur)
            cur, em = "", 0.0
        cur, em = cur + ch, em + w
    out.append(cur)
    if len(out) > lines:
        out = out[: lines - 1] + [_clip("".join(out[lines - 1:]), max_em - 1)]
    return out


def _node_lines(b: Briefing, g, n: str) -> list[str]:
    a = g.nodes[n]
    kind = a["kind"]
    if kind == "building":
        p = b.building(a["id"]).props
        facts = "·".join(x for x in (f"{p.get('fire_class')}类" if p.get("fire_class") else "",
                                     f"{p.get('floors')}层" if p.get("floors") else "",
                                     p.get("structure") or "") if x)
        return [f"{a['id']} 建筑", *_wrap(a["label"], 9, 1), facts or "—"]
    if kind == "enterprise":
        roles = []
        if a.get("owner"):
            roles.append("产权")
        if a.get("manager"):
            roles.append("统一管理")
        unlinked = False
        for pred in g.predecessors(n):
            rel = g.edges[pred, n].get("rel")
            unlinked = unlinked or rel == "UNLINKED"
            r = {"LESSEE_OF": "承租", "CONTRACTOR_OF": "承包", "AGENCY_OF": "派遣"}.get(rel)
            if r and r not in roles:
                roles.append(r)
        for succ in g.successors(n):
            r = {"LESSOR_OF": "出租", "CLIENT_OF": "发包", "HOST_OF": "用工", "RUNS": "作业"}.get(g.edges[n, succ].get("rel"))
            if r and r not in roles:
                roles.append(r)
        if unlinked:
            return [*_wrap(a["label"], 9, 2), _clip("·".join(roles[:2]) + "·无产权无租赁", 10)]
        return [*_wrap(a["label"], 9, 2), "·".join(roles[:4]) or "企业"]
    if kind == "tenancy":
        t = b.tenancies[a["id"]]
        p = t.props
        facts = "·".join(x for x in (
            "地下" if p.get("underground") else "",  # first: the line is clipped
            f"{p['area']:g}㎡" if p.get("area") is not None else "",
            f"{p['workers']}人" if p.get("workers") is not None else "",
            f"{p['goods_fire_class']}类" if p.get("goods_fire_class") else "") if x)
        return [_clip(a["id"], 11), f"租赁·深度{t.depth}" if t.depth else "租赁·断链",
                _clip(facts or "面积人数未填", 11), _gap_line(t.duties, t.two_way_gap)]
    if kind == "contract":
        c = b.contracts[a["id"]]
        return [_clip(a["id"], 11), _clip(("动火邻近易燃·" if a.get("hot_work") else "外包·")
                                          + (c.props.get("kind") or "类型未填"), 11),
                _gap_line(c.duties, c.two_way_gap)]
    if kind == "dispatch":
        d = b.dispatch[a["id"]]
        return [_clip(a["id"], 11), _clip(f"派遣·{d.props.get('workers')}人", 11),
                _clip(f"岗位：{d.props.get('position_nature') or '未填'}", 11)]
    if kind == "operation":
        o = b.operations[a["id"]]
        return [_clip(a["id"], 11), _clip(f"作业·{o['category']}", 11), _clip(o["footing"], 11)]
    return [str(n)]


def _gap_line(duties: list[Duty], two_way: bool) -> str:
    bad = [d.label for d in duties if d.state == BAD]
    unk = [d.label for d in duties if d.state == UNKNOWN]
    if two_way:
        return "两头不管"
    if bad:
        return _clip(f"缺{len(bad)}项：{bad[0]}", 11) if len(bad) > 1 else _clip(f"缺：{bad[0]}", 11)
    if unk:
        return f"未填{len(unk)}项"
    return "职责齐全"


def _layers(g, root: str) -> dict[str, int]:
    import networkx as nx

    dist = nx.single_source_shortest_path_length(g, root)
    return {n: dist.get(n, 1) for n in g.nodes}


# Printable area for a diagram (inches): A4 minus margins, and a good part of a page.
PAGE_W_IN, PAGE_H_IN = 7.2, 9.0


def _layout(g, size: dict, layer: dict, vertical: bool):
    """Positions (inches, y down) with layers as columns (or rows when vertical).

    Inside a layer, nodes follow the mean position of their parents (one barycentre
    pass), then kind and id, which keeps lease chains straight and the output stable.
    """
    along = 1 if vertical else 0  # axis the layers advance on
    gap_layer = 0.32 if vertical else 0.36
    gap_in = 0.10 if vertical else 0.10
    cols: dict[int, list[str]] = {}
    for n in g:
        cols.setdefault(layer[n], []).append(n)
    rank: dict[str, float] = {}
    for li in sorted(cols):
        nodes = cols[li]
        nodes.sort(key=lambda n: (
            sum(rank[p] for p in g.predecessors(n) if p in rank) / max(1, sum(1 for p in g.predecessors(n) if p in rank)),
            g.nodes[n]["kind"], str(g.nodes[n].get("id"))))
        for i, n in enumerate(nodes):
            rank[n] = float(i)
    # extent of each layer along the layer axis, and across it
    thick = {li: max(size[n][along] for n in nodes) for li, nodes in cols.items()}
    span = {li: sum(size[n][1 - along] for n in nodes) + gap_in * (len(nodes) - 1) for li, nodes in cols.items()}
    total_across = max(span.values()) + 0.2
    pos: dict[str, tuple[float, float]] = {}
    at = 0.1
    for li in sorted(cols):
        centre = at + thick[li] / 2
        c = 0.1 + (total_across - 0.2 - span[li]) / 2
        for n in cols[li]:
            w = size[n][1 - along]
            pos[n] = (c + w / 2, centre) if vertical else (centre, c + w / 2)
            c += w + gap_in
        at += thick[li] + gap_layer
    total_along = at - gap_layer + 0.1
    fig = (total_across, total_along) if vertical else (total_along, total_across)
    return pos, fig


def _scale(fig: tuple[float, float]) -> float:
    return min(1.0, PAGE_W_IN / fig[0], PAGE_H_IN / fig[1])


def diagram_svg(b: Briefing, building_id: str) -> str:
    """The responsibility chain of one building as an SVG fragment (text stays text).

    Layers run left to right, or top to bottom when that fits an A4 page better.
    """
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
    pos, fig_size = _layout(g, size, layer, vertical=False)
    pos_v, fig_v = _layout(g, size, layer, vertical=True)
    vertical = _scale(fig_v) > _scale(fig_size) + 0.02
    if vertical:
        pos, fig_size = pos_v, fig_v
    fig_w, fig_h = fig_size[0], fig_size[1] + (0.15 if omitted else 0)

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
        # graph of ports (the source's exit side, the target's entry side).
        ports = nx.DiGraph()
        ppos: dict = {}
        styles: dict[tuple, list] = {}
        for u, v, a in g.edges(data=True):
            (xu, yu), (xv, yv) = pos[u], pos[v]
            (wu, hu), (wv, hv) = size[u], size[v]
            if vertical:
                if yv > yu:
                    pu, pv, conn = (xu, yu + hu / 2), (xv, yv - hv / 2), "arc3,rad=0"
                elif yv < yu:
                    pu, pv, conn = (xu, yu - hu / 2), (xv, yv + hv / 2), "arc3,rad=0.2"
                else:
                    pu, pv, conn = (xu, yu + hu / 2), (xv, yv + hv / 2), "arc3,rad=0.6"
            elif xv > xu:
                pu, pv, conn = (xu + wu / 2, yu), (xv - wv / 2, yv), "arc3,rad=0"
            elif xv < xu:
                pu, pv, conn = (xu - wu / 2, yu), (xv + wv / 2, yv), "arc3,rad=0.2"
            else:
                pu, pv, conn = (xu + wu / 2, yu), (xv + wv / 2, yv), "arc3,rad=-0.6"
            su, sv = ("out", u, v), ("in", u, v)
            ports.add_edge(su, sv)
            ppos[su], ppos[sv] = pu, pv
            broken = bool(a.get("broken"))
            styles.setdefault((broken, conn), []).append((su, sv))
        for (broken, conn), edges in sorted(styles.items()):
            nx.draw_networkx_edges(
                ports, ppos, edgelist=edges, ax=ax, arrows=True, arrowstyle="-|>", arrowsize=7,
                node_size=0, width=1.3 if broken else 0.7, edge_color="#c62828" if broken else "#607d8b",
                style="dashed" if broken else "solid", connectionstyle=conn,
            )

        for n in g:
            a = g.nodes[n]
            (cx, cy), (w, h) = pos[n], size[n]
            fill, edge = _KIND_FILL.get(a["kind"]) or _FILL[a.get("state", OK)]
            broken = bool(a.get("broken"))
            ax.add_patch(FancyBboxPatch(
                (cx - w / 2, cy - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.04",
                facecolor=fill, edgecolor="#c62828" if broken else edge, linewidth=1.5 if broken else 0.8,
                linestyle="--" if broken else "-", zorder=3))
            last = len(lines[n]) - 1
            for i, s in enumerate(lines[n]):
                ly = cy - h / 2 + PAD_Y_IN + LINE_IN * (i + 0.5)
                status = i == last and a["kind"] in ("tenancy", "contract", "dispatch")
                color = _FILL[a.get("state", OK)][1] if status else "#212121"
                if i == last and a["kind"] == "enterprise" and s.endswith("无产权无租赁"):
                    color = _FILL[BAD][1]
                bold = (i == 0 and a["kind"] != "enterprise") or (a["kind"] == "enterprise" and i < last) or status
                ax.text(cx, ly, _mpl_text(s), fontsize=FONT_PT, ha="center", va="center", zorder=4, color=color,
                        fontweight="bold" if bold else "normal")
        if omitted:
            ax.text(0.1, fig_h - 0.06, f"图中省略 {omitted} 个关系节点，见下表", fontsize=6, color="#757575",
                    ha="left", va="bottom")
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML declaration and DOCTYPE
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    # Several diagrams share one page: give each its own id namespace.
    ns = "sg-" + re.sub(r"[^A-Za-z0-9_-]", "_", building_id) + "-"
    svg = re.sub(r'\bid="', f'id="{ns}', svg)
    svg = svg.replace("url(#", f"url(#{ns}").replace('href="#', f'href="#{ns}')
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


def _mark(v, label: str) -> Markup:
    """A labelled tick: ✓责任 (recorded 是 / filled), ✗措施 (否 / blank), ？预案 (not surveyed)."""
    state = OK if v is True else BAD if v is False else UNKNOWN
    sym = {OK: "✓", BAD: "✗", UNKNOWN: "？"}[state]
    title = {OK: "已落实", BAD: "未落实", UNKNOWN: "未填"}[state]
    return Markup(f'<span class="mk {state}" title="{title}">{sym}{escape(label)}</span>')


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
                       state=_state, duty=_duty_cell, mark=_mark, css_str=_css_str)
    env.globals.update(STATE_ZH=STATE_ZH, OK=OK, BAD=BAD, UNKNOWN=UNKNOWN, NA=NA, LINK_ZH=LINK_ZH,
                       PERSONAL_FIELDS=PERSONAL_FIELDS, FONT_STACK=FONT_STACK)
    return env


def _css_str(v) -> Markup:
    """A CSS string literal (for @page margin boxes): quotes, backslashes, < and > escaped."""
    out = []
    for ch in str(v or ""):
        out.append(f"\\{ord(ch):x} " if ch in '"\\<>&\'' or ord(ch) < 32 else ch)
    return Markup('"' + "".join(out) + '"')


def drawn_buildings(b: Briefing) -> list[str]:
    """The buildings whose diagram is drawn: most chain breaks, then deepest lease chain, then most links."""
    breaks: dict[str, int] = {}
    for x in b.breaks:
        breaks[x.building_id] = breaks.get(x.building_id, 0) + 1
    cands = [bb for bb in b.buildings if bb.tenancies or bb.contracts or bb.dispatch or bb.operations or bb.hazards]
    cands.sort(key=lambda bb: (-breaks.get(bb.building_id, 0), -bb.max_depth,
                               -(len(bb.tenancies) + len(bb.contracts) + len(bb.dispatch) + len(bb.operations)),
                               bb.building_id))
    return sorted(bb.building_id for bb in cands[:MAX_DIAGRAMS])


def identity(b: Briefing) -> list[tuple[str, str]]:
    """The target's name plate for the first page: where it is and who runs and owns it."""
    t = b.target
    out: list[tuple[str, str]] = []
    if t.kind == "enterprise":
        e = b.enterprises.get(t.id, {})
        out.append(("统一社会信用代码", t.id))
        out.append(("地址", e.get("address") or "、".join(x for x in (e.get("county"), e.get("township")) if x) or "未填"))
        if e.get("licensed_address") and e.get("licensed_address") != e.get("address"):
            out.append(("登记许可地址", e["licensed_address"]))
        out.append(("行业 / 状态", f"{e.get('sector') or '未填'} / {e.get('status') or '在产'}"))
    else:
        site = b.sites.get(t.id) if t.kind == "site" else (b.sites.get(b.site_path[0]["site_id"]) if b.site_path else None)
        bb = b.building(t.id) if t.kind == "building" else None
        place = (bb.props if bb else None) or site or {}
        where = "".join(x for x in (place.get("county"), place.get("township")) if x) or "未填"
        if b.site_path:
            where += "，" + " › ".join(s["name"] or s["site_id"] for s in reversed(b.site_path))
        out.append(("地址", where))
        ops = [s for s in b.site_path if s.get("operator_uscc")]
        out.append(("运营管理单位", "；".join(f"{b.ent_name(s['operator_uscc'])}（{s['name'] or s['site_id']}）"
                                        for s in ops) if ops else "台账未填"))
        owners: dict[str, int] = {}
        for x in b.buildings:
            if x.owner:
                owners[x.owner] = owners.get(x.owner, 0) + 1
        top = sorted(owners, key=lambda u: (-owners[u], u))
        text = "、".join(f"{b.ent_name(u)}（{owners[u]} 栋）" if t.kind != "building" else b.ent_name(u) for u in top[:3])
        if len(top) > 3:
            text += f" 等 {len(top)} 家"
        out.append(("产权单位", text or "台账未填"))
    out.append(("统计截至", _date(b.as_of)))
    return out


def inspected_party(b: Briefing) -> str:
    """The party that signs for the inspected side, when the data says who it is."""
    t = b.target
    if t.kind == "enterprise":
        return t.name
    if t.kind == "building":
        bb = b.building(t.id)
        return b.ent_name(bb.owner) if bb and bb.owner else ""
    op = next((s["operator_uscc"] for s in b.site_path if s.get("operator_uscc")), None)
    return b.ent_name(op) if op else ""


def kpi_cards(b: Briefing) -> list[dict]:
    """The KPI strip: (key, figure, label, warn); each figure is the length of the list
    below it on the page (queries.briefing.KPI_LISTS)."""
    s = b.summary
    c = [
        ("buildings", "建筑", False), ("enterprises", "相关企业", False),
        ("tenancies", f"租赁（最深 {s['max_depth']} 级）", False), ("contracts", "外包外委", False),
        ("high_risk", f"高风险作业 场所{s['operations']}·外包{s['contract_high_risk']}", False),
        ("dispatch", "劳务派遣", False), ("breaks", "责任链断点", True), ("open_major", "未整改重大隐患", True),
        ("open_hazards", "未整改隐患", True), ("overdue", "逾期未整改", True), ("findings", "查询包发现", True),
    ]
    out = [{"key": k, "value": s[k], "label": label, "warn": bool(warn and s[k])} for k, label, warn in c]
    out.append({"key": "workers", "value": s["workers"], "label": "入驻人数", "warn": False})
    return out


def _context(b: Briefing, diagrams: bool, summary_only: bool = False) -> dict:
    svgs = {}
    drawn = drawn_buildings(b) if diagrams and not summary_only else []
    for bid in drawn:
        svgs[bid] = Markup(diagram_svg(b, bid))
    by_query: dict[str, list] = {}
    for f in b.findings or []:
        by_query.setdefault(f.query_id, []).append(f)
    # Items to verify on site, per subject; a building's own conditions once per building.
    detail: list[tuple] = []  # (row, its open items), lessors first
    lessors_first = [r for r in b.checklist if r.role == "lessor"] + [r for r in b.checklist if r.role == "lessee"]
    for r, it in open_items(b, lessors_first):
        if not detail or detail[-1][0] is not r:
            detail.append((r, []))
        detail[-1][1].append(it)
    above = {x["site_id"] for x in b.site_path} if b.target.kind == "site" else set()
    rel_path = {bb.building_id: " › ".join(x["name"] or x["site_id"] for x in reversed(bb.site_path)
                                           if x["site_id"] not in above) for bb in b.buildings}
    conditions = {bb.building_id: building_conditions(bb.props) for bb in b.buildings}
    trivial = [bb.building_id for bb in b.buildings
               if not (bb.tenancies or bb.contracts or bb.dispatch or bb.operations or bb.hazards)]
    checks = priority_checks(b)
    majors = b.open_major
    n_major = min(len(majors), SUMMARY_MAJOR)
    dispatch_home: dict[str, str] = {}  # a dispatch listed under several buildings counts under the first
    for bb in b.buildings:
        for did in bb.dispatch:
            dispatch_home.setdefault(did, bb.building_id)
    hrw_by_building: dict[str | None, list] = {}
    for x in b.high_risk_work:
        hrw_by_building.setdefault(x.building_id, []).append(x)
    return {"b": b, "s": b.summary, "svgs": svgs, "drawn": drawn, "rel_path": rel_path, "conditions": conditions,
            "subject_label": lambda f: subject_label(b, f), "summary_only": summary_only,
            "loose_dispatch": [d for d in b.dispatch if not any(d in bb.dispatch for bb in b.buildings)],
            "trivial": trivial, "findings_by_query": by_query,
            "lessor_rows": [r for r in b.checklist if r.role == "lessor"],
            "lessee_rows": [r for r in b.checklist if r.role == "lessee"], "check_detail": detail,
            "hazards_by_id": {h["hazard_id"]: h for h in b.hazards},
            "kpis": kpi_cards(b), "identity": identity(b), "inspected_party": inspected_party(b),
            "checks": checks, "top_checks": visit_checks(b, SUMMARY_CHECKS),
            "top_major": majors[:SUMMARY_MAJOR], "top_breaks": b.breaks[:SUMMARY_BREAKS + SUMMARY_MAJOR - n_major],
            "hrw_by_building": hrw_by_building, "dispatch_home": dispatch_home,
            "own_dispatch": {bb.building_id: [d for d in bb.dispatch if dispatch_home[d] == bb.building_id]
                             for bb in b.buildings}, "MAX_FINDING_TAGS": MAX_FINDING_TAGS,
            "MAX_INSPECTIONS": MAX_INSPECTIONS}


# A building's own conditions: (key, violation?) — 出租厂房是否具备安全生产条件.
_BUILDING_CONDITIONS = (("land_use_permit", False), ("three_simultaneity", False), ("fire_acceptance", False),
                        ("fire_facilities_ok", False), ("structural_hazard", True), ("illegal_construction", True),
                        ("escape_obstruction", True))


def building_conditions(p: dict) -> list[tuple[str, str]]:
    """(label, state) of the building's conditions that are not met or not surveyed."""
    from graphmodel.schema import BUILDING

    out = []
    for key, violation in _BUILDING_CONDITIONS:
        v = p.get(key)
        state = UNKNOWN if v is None else ((BAD if v else OK) if violation else (OK if v else BAD))
        if state != OK:
            out.append((BUILDING.column(key).header, state))
    return out


def subject_label(b: Briefing, f) -> str:
    """A finding's subject for people: names for enterprises, ids for the rest."""
    parts = []
    for v in f.subject.split(" / "):
        if v in b.enterprises:
            parts.append(b.ent_name(v))
        elif v in ("outsourcing", "tenancy", "enterprise", "building", "contract"):
            continue  # the kind is clear from the id
        else:
            parts.append(v)
    return "：".join(parts) or f.subject


def render_html(b: Briefing, *, diagrams: bool = True, summary: bool = False) -> str:
    """The briefing page; `summary`: only its first page (one A4 sheet with the signature block)."""
    return _env().get_template("briefing.html.j2").render(**_context(b, diagrams, summary))


def render_markdown(b: Briefing, *, summary: bool = False) -> str:
    return _env(markdown=True).get_template("briefing.md.j2").render(**_context(b, False, summary))


def output_format(out: str | Path | None, fmt: str | None = None) -> str:
    if fmt:
        return fmt
    if out and str(out).lower().endswith((".md", ".markdown")):
        return "md"
    return "html"


def write_briefing(b: Briefing, out: str | Path, fmt: str | None = None, *, summary: bool = False) -> Path:
    """Write the briefing to `out` (.html or .md) and return the path."""
    out = Path(out)
    text = (render_markdown(b, summary=summary) if output_format(out, fmt) == "md"
            else render_html(b, summary=summary))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out


META_LINE_RE = re.compile(r'<p class="meta" id="meta-line">.*?</p>', re.S)
MD_META_LINE_RE = re.compile(r"^> 数据来源 / source:.*$", re.M)


def strip_meta(text: str) -> str:
    """The page without its backend/location/time line (to compare two renderings)."""
    return MD_META_LINE_RE.sub("", META_LINE_RE.sub("", text))
