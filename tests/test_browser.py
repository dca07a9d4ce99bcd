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
