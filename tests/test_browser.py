"""The briefing as a browser shows and prints it: headless Chromium (marker `browser`).

Chromium is the Debian package (/usr/bin/chromium); without it these tests skip. The
screenshot and the PDF are kept under test-artifacts/ (git-ignored) for people to look at.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import brief_data as D
from conftest import ROOT

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"


def _chromium() -> str:
    path = os.environ.get("SITEGRAPH_CHROMIUM") or shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if not path:
        pytest.skip("headless Chromium not installed (apt-get install chromium fonts-noto-cjk)")
    return path


def _run(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def briefing_html(tmp_path_factory) -> Path:
    from cli.briefing_render import write_briefing
    from graphmodel.backends import open_backend
    from queries.briefing import gather

    d = tmp_path_factory.mktemp("browser")
    b = open_backend(str(d / "g.db"), write=True, create=True)
    try:
        b.install_schema()
        D.load(b)
        brief = gather(b, "P1", as_of=D.AS_OF)
    finally:
        b.close()
    return write_briefing(brief, d / "briefing-P1.html")


def test_rendered_page_shows_buildings_tenants_and_gaps(briefing_html, tmp_path):
    res = _run(_chromium(), tmp_path / "profile", "--dump-dom", briefing_html.as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    dom = res.stdout
    assert "<h1>安全检查简报 · 阳泉耐火材料产业园</h1>" in dom
    for text in ("1号联合厂房", "2号仓库", D.NAMES[D.L1], D.NAMES[D.S1], D.NAMES[D.L2], D.NAMES[D.Y1],
                 "两头不管", "断链", "未填", "已逾期", "现场检查清单"):
        assert text in dom, text
    # the diagrams are in the DOM as SVG with their labels as text
    svgs = re.findall(r"<svg.*?</svg>", dom, re.S)
    assert len(svgs) == 2
    assert "阳泉顺发喷涂" in svgs[0] and "<text" in svgs[0]
    for p in (D.PRINCIPAL_OWN, D.PHONE_OWN, D.RESPONSIBLE_H1):
        assert p not in dom


def test_screenshot_and_print_to_pdf(briefing_html, tmp_path):
    from PIL import Image

    chromium = _chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    png = ARTIFACTS / "briefing-P1.png"
    png.unlink(missing_ok=True)
    res = _run(chromium, tmp_path / "profile", f"--screenshot={png}", "--window-size=1240,1754",
               "--hide-scrollbars", briefing_html.as_uri())
    assert res.returncode == 0 and png.is_file(), res.stderr[-2000:]
    with Image.open(png) as im:
        assert im.size == (1240, 1754)
        # a page of text and colour, not a blank or failed one
        hist = im.convert("L").histogram()
        assert sum(hist[:128]) > 0.01 * im.size[0] * im.size[1]  # dark ink (text)
        assert len(im.convert("RGB").getcolors(1 << 20)) > 500  # red, amber, green marks, antialiasing

    pdf = ARTIFACTS / "briefing-P1.pdf"
    pdf.unlink(missing_ok=True)
    res = _run(chromium, tmp_path / "profile2", f"--print-to-pdf={pdf}", "--no-pdf-header-footer",
               briefing_html.as_uri())
    assert res.returncode == 0 and pdf.is_file(), res.stderr[-2000:]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert pages >= 2  # several A4 pages, not one endless one
    # A4: 595 x 842 points
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    assert boxes and all(abs(float(w) - 595.3) < 2 and abs(float(h) - 841.9) < 2 for w, h in boxes)


# ---- printing: one-page summary, page numbers, running header, print-only CSS ------------

def _pdf(chromium: str, profile: Path, html: Path, name: str) -> tuple[Path, int]:
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / name
    pdf.unlink(missing_ok=True)
    res = _run(chromium, profile, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", html.as_uri())
    assert res.returncode == 0 and pdf.is_file(), res.stderr[-2000:]
    return pdf, len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))


def _page_texts(pdf: Path, pages: int) -> list[str] | None:
    """The text of each page without white space (pdftotext from poppler-utils), or None without it."""
    exe = shutil.which("pdftotext")
    if not exe:
        return None
    return [re.sub(r"\s+", "", subprocess.run([exe, "-f", str(i), "-l", str(i), str(pdf), "-"], capture_output=True,
                                              text=True, check=True).stdout) for i in range(1, pages + 1)]


def test_summary_prints_on_one_a4_page(briefing_html, tmp_path):
    from cli.briefing_render import write_briefing
    from graphmodel.backends import open_backend
    from queries.briefing import gather

    chromium = _chromium()
    b = open_backend(str(briefing_html.parent / "g.db"))
    try:
        brief = gather(b, "P1", as_of=D.AS_OF)
    finally:
        b.close()
    html = write_briefing(brief, tmp_path / "summary-P1.html", summary=True)
    pdf, pages = _pdf(chromium, tmp_path / "profile", html, "briefing-P1-summary.pdf")
    assert pages == 1
    texts = _page_texts(pdf, pages)
    if texts is not None:
        for text in ("现场必查十项", "检查人员签名", "被检查单位负责人签名", "第1页/共1页"):
            assert text in texts[0], text


def test_summary_of_the_demos_busiest_site_fits_one_page(tmp_path):
    """The demo briefs the site with the most findings; its summary still fits one A4 page."""
    from conftest import run_cli

    chromium = _chromium()
    res = run_cli("demo", "--dir", str(tmp_path / "demo"))
    assert res.returncode == 0, res.stderr
    site = re.search(r"—— .*?（([^（）]+)），发现最多", res.stdout).group(1)
    out = tmp_path / "summary.html"
    res = run_cli("brief", site, "--summary", "--db", str(tmp_path / "demo" / "sitegraph.db"),
                  "--as-of", "2025-01-15", "--out", str(out))
    assert res.returncode == 0, res.stderr
    page = out.read_text(encoding="utf-8")
    assert "另有" in page and "见完整简报" in page  # the busiest site has more than the page holds
    pdf, pages = _pdf(chromium, tmp_path / "profile", out, "briefing-demo-summary.pdf")
    assert pages == 1


def test_full_briefing_prints_page_numbers_and_header_and_hides_hints(briefing_html, tmp_path):
    chromium = _chromium()
    pdf, pages = _pdf(chromium, tmp_path / "profile", briefing_html, "briefing-P1-print.pdf")
    assert pages >= 2
    html = briefing_html.read_text(encoding="utf-8")
    assert "鼠标悬停" in html  # on screen …
    texts = _page_texts(pdf, pages)
    if texts is None:
        pytest.skip("pdftotext (poppler-utils) not installed: page text not checked")
    for i, text in enumerate(texts, 1):
        assert f"第{i}页/共{pages}页" in text  # page numbers from the @page counters
        assert "安全检查简报·阳泉耐火材料产业园（P1）" in text and "统计截至2024-12-15" in text  # running header
    whole = "".join(texts)
    assert "鼠标悬停" not in whole  # … not on paper
    assert "备注" in whole and "检查人员签名" in whole and "被检查单位负责人签名" in whole
