"""`sitegraph demo`: generate, load, run the pack, write the workbook and a briefing."""
from __future__ import annotations

import pytest

from cli.briefing_render import strip_meta


def test_demo_runs_and_reruns(cli, tmp_path):
    pytest.importorskip("loaders.generate")
    demo = tmp_path / "demo"
    res = cli("demo", "--dir", str(demo), "--enterprises", "24", "--seed", "5")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert out.startswith("演示已就绪 / demo ready")
    for name in ("survey.xlsx", "ground_truth.json", "sitegraph.db", "sitegraph-findings.xlsx", "briefing.html",
                 "report.html"):
        assert (demo / name).is_file(), name
        assert str(demo / name) in out
    assert "sitegraph brief" in out and "--db" in out  # the next commands to try
    assert "[3/6]" in res.stderr  # progress goes to stderr

    from openpyxl import load_workbook

    from queries.runner import load_catalogue

    wb = load_workbook(demo / "sitegraph-findings.xlsx", read_only=True)
    assert wb.sheetnames[:2] == ["汇总", "说明"]
    assert len(wb.sheetnames) == 2 + len(load_catalogue())
    overview = [r for r in wb["汇总"].iter_rows(values_only=True)]
    head = next(i for i, r in enumerate(overview) if r[0] == "编号")
    rows = overview[head + 1:]
    assert [r[0] for r in rows] == [s.id for s in load_catalogue()]
    assert sum(r[4] for r in rows) > 0

    report = (demo / "report.html").read_text(encoding="utf-8")
    assert "督导通报" in report and 'data-q="hazard-tally"' in report and "通报候选（县区）" in out

    html = (demo / "briefing.html").read_text(encoding="utf-8")
    assert "安全检查简报" in html and "现场检查清单" in html and "<svg" in html
    # the briefing is of the site with the most findings, and it names that site
    from graphmodel.backends import open_backend
    from queries import runner
    from queries.briefing import SUBJECT_COLUMNS, findings_per_site

    with open_backend(str(demo / "sitegraph.db")) as b:
        assert b.counts()["nodes"]["Enterprise"] == 24
        runs = [runner.run_query(b, s, {"as_of": "2025-01-15"} if any(p.name == "as_of" for p in s.params) else {})
                for s in runner.load_catalogue() if any(k in SUBJECT_COLUMNS for k in s.key_columns)]
        counts = findings_per_site(b, runs)
        best = min(counts, key=lambda s: (-counts[s], s))
        name = b.read("MATCH (s:Site {site_id: $id}) RETURN s.name AS n", {"id": best}).rows[0]["n"]
    assert f"{name}（{best}）" in out
    assert f"<h1>安全检查简报 · {name}</h1>" in html

    # Running it again starts afresh in the same folder and gives the same results.
    again = cli("demo", "--dir", str(demo), "--enterprises", "24", "--seed", "5")
    assert again.returncode == 0, again.stderr
    assert strip_meta((demo / "briefing.html").read_text(encoding="utf-8")) == strip_meta(html)
    with open_backend(str(demo / "sitegraph.db")) as b:
        assert b.counts()["nodes"]["Enterprise"] == 24


def test_demo_refuses_a_file_as_dir(cli, tmp_path):
    f = tmp_path / "not-a-dir"
    f.write_text("x")
    res = cli("demo", "--dir", str(f))
    assert res.returncode == 2 and "不是文件夹" in res.stderr
