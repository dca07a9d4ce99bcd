"""The supervision report as headless Chromium shows and prints it (marker `browser`).

Chromium is the Debian package (/usr/bin/chromium) or $SITEGRAPH_CHROMIUM; without it these
tests skip with the reason. The PDF and its pages as PNG (pdftoppm, poppler-utils) are kept
under test-artifacts/ for people to look at.
"""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from conftest import ROOT, embedded_with, run_cli
from loaders.generate import generate

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"


def _chromium() -> str:
    from cli.report_render import find_chromium

    path = find_chromium()
    if not path:
        pytest.skip("headless Chromium not installed (apt-get install chromium fonts-noto-cjk)")
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    survey = generate(200, 6)
    t = embedded_with(tmp_path_factory.mktemp("report-browser"), survey.records, source="generated")
    t.as_of = survey.as_of
    return t


def test_dom_has_the_charts_and_chinese_text(store, tmp_path):
    chromium = _chromium()
    out = tmp_path / "report.html"
    res = run_cli("report", "--out", str(out), "--as-of", store.as_of.isoformat(), "--since", "2000-01-01",
                  *store.args)
    assert res.returncode == 0, res.stderr
    dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", out.as_uri()],
                         capture_output=True, text=True, timeout=180)
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = dom.stdout
    for text in ("督导通报", "通报候选", "隐患排查整改", "“五个一律”与执法检查", "排查摸底", "趋势", "督办清单",
                 "重大事故隐患未清零", "第 \" counter(page)"):
        assert text in page or text.replace("第 \" counter(page)", "") in page, text
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    assert len(svgs) == 2
    for svg in svgs:
        assert "<text" in svg and "郊区" in svg and "县区" in svg  # the legend, as text the page's fonts draw
    # the screen: a screenshot of the top of the document is a page of text and colour
    from PIL import Image

    ARTIFACTS.mkdir(exist_ok=True)
    png = ARTIFACTS / "report-screen.png"
    png.unlink(missing_ok=True)
    shot = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           f"--user-data-dir={tmp_path / 'profile2'}", f"--screenshot={png}", "--window-size=1240,1754",
                           "--hide-scrollbars", out.as_uri()], capture_output=True, text=True, timeout=180)
    assert shot.returncode == 0 and png.is_file(), shot.stderr[-2000:]
    with Image.open(png) as im:
        assert im.size == (1240, 1754)
        grey = im.convert("L").histogram()
        assert sum(grey[:128]) > 0.01 * im.size[0] * im.size[1]  # dark ink: text
        colours = im.convert("RGB").getcolors(1 << 20) or []
        assert len(colours) > 300 and any(r > 150 and g < 80 and b < 80 for _, (r, g, b) in colours)  # red marks


def test_pdf_prints_a4_pages_with_numbers_and_the_pictures_are_pages(store, tmp_path):
    _chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / "report.pdf"
    pdf.unlink(missing_ok=True)
    res = run_cli("report", "--out", str(pdf), "--as-of", store.as_of.isoformat(), "--since", "2000-01-01",
                  *store.args)
    assert res.returncode == 0, res.stderr
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert pages >= 4
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    assert boxes and all(abs(float(w) - 595.3) < 2 and abs(float(h) - 841.9) < 2 for w, h in boxes)
    if shutil.which("pdftotext"):
        for i in range(1, pages + 1):
            text = re.sub(r"\s+", "", subprocess.run(["pdftotext", "-f", str(i), "-l", str(i), str(pdf), "-"],
                                                     capture_output=True, text=True, check=True).stdout)
            assert f"第{i}页/共{pages}页" in text, i
            if i > 1:
                assert "督导通报·阳泉市（全市）" in text and f"统计截至{store.as_of.isoformat()}" in text, i
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm (poppler-utils) not installed: pages not rendered as pictures")
    from PIL import Image

    for old in ARTIFACTS.glob("report-page-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(ARTIFACTS / "report-page")], check=True,
                   capture_output=True, timeout=120)
    pngs = sorted(ARTIFACTS.glob("report-page-*.png"))
    assert len(pngs) == pages
    for png in pngs:
        with Image.open(png) as im:
            w, h = im.size
            assert abs(w / h - 210 / 297) < 0.01  # A4 portrait
            grey = im.convert("L").histogram()
            assert sum(grey[:128]) > 0.004 * w * h, png.name  # a page of text: none blank or nearly so
    with Image.open(pngs[0]) as cover:
        # the cover's red band and the red figures of the ranking: colour, not a grey failure page
        colours = cover.convert("RGB").getcolors(1 << 20) or []
        assert any(r > 150 and g < 80 and b < 80 for _, (r, g, b) in colours)
