"""The chart of `sitegraph trend` (matplotlib, PNG or SVG) with Chinese labels.

A CJK font is looked up through matplotlib's font manager (Noto Sans CJK, Source Han,
WenQuanYi, SimHei, Microsoft YaHei …: what the OS or a package provides). Without one the
chart is drawn with English labels, so that no label turns into empty boxes.
"""
from __future__ import annotations

import warnings
from pathlib import Path

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei", "PingFang SC", "Noto Sans CJK JP",
             "Noto Serif CJK SC", "AR PL UMing CN")
MAX_LINES = 12  # areas drawn (the largest by their latest figure); the table and JSON keep all


def cjk_font() -> str | None:
    """The name of an installed font that has Chinese glyphs, or None."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for n in CJK_FONTS:
        if n in names:
            return n
    return next((n for n in sorted(names) if "CJK" in n or "Hei" in n), None)


FIGURE_ZH = {"rate": "整改率", "enterprises": "企业数", "rows": "行数"}


def draw_trend(tr, path: Path, *, english: bool = False) -> bool:
    """Draw `tr` (queries.campaign.Trend) into `path` (.png or .svg). Returns whether Chinese labels
    were used (False: no CJK font found, or English asked)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    font = None if english else cjk_font()
    zh = font is not None
    rc = {"font.family": "sans-serif", "font.sans-serif": ([font] if font else []) + ["DejaVu Sans"],
          "axes.unicode_minus": False, "svg.hashsalt": f"sitegraph-trend-{tr.query}", "text.usetex": False}
    days = [p.day for p in tr.points]
    with matplotlib.rc_context(rc), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # glyph warnings when no CJK font: the labels are English then
        fig = Figure(figsize=(9, 5), dpi=110)
        ax = fig.add_subplot(1, 1, 1)
        if tr.group_cols:
            fig_name = tr.figures[0]
            latest = tr.points[-1].groups
            # a county with no hazard has rate 0 by the query's rule: a table matter, noise in a chart
            drawn = {g for p in tr.points for g, v in p.groups.items() if v.get("hazards", 1)}
            groups = sorted(drawn or {g for p in tr.points for g in p.groups},
                            key=lambda g: (-(latest.get(g, {}).get(fig_name) or 0), g))[:MAX_LINES]
            for g in sorted(groups):
                ys = [p.groups.get(g, {}).get(fig_name) for p in tr.points]
                ax.plot(days, [float("nan") if y is None else y for y in ys], marker="o", label=" ".join(g))
            ax.legend(fontsize=8, loc="best", ncol=2 if len(groups) > 6 else 1)
            ylabel = FIGURE_ZH.get(fig_name, fig_name) if zh else fig_name
        else:
            ax.plot(days, [p.rows for p in tr.points], marker="o", color="#C00000")
            for d, p in zip(days, tr.points):
                ax.annotate(str(p.rows), (d, p.rows), textcoords="offset points", xytext=(0, 6), ha="center",
                            fontsize=8)
            ylabel = "行数（发现数）" if zh else "rows (findings)"
        if tr.group_cols and tr.figures[0] == "rate":
            from matplotlib.ticker import PercentFormatter

            ax.set_ylim(0, 1.05)
            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_title(f"{tr.title_zh}（{tr.query}）" if zh else f"{tr.title_en} ({tr.query})")
        ax.set_xlabel("调查状态日期" if zh else "state at date")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.set_xticks(days)
        ax.set_xticklabels([d.isoformat() for d in days], rotation=30, ha="right", fontsize=8)
        if not tr.group_cols:
            ax.set_ylim(bottom=0, top=max([p.rows for p in tr.points] + [1]) * 1.15)
        fig.tight_layout()
        fig.savefig(path, format=path.suffix.lower().lstrip("."))
    return zh
