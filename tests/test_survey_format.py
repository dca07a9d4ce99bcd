"""docs/survey-format.md, the ledger format for survey teams: generated from the schema
(graphmodel/docs.py), never stale, and linked from the README and the template."""
from __future__ import annotations

import re

from conftest import ROOT
from graphmodel.docs import SURVEY_FORMAT_OUT, render_survey_format
from graphmodel.schema import NODE_TYPES, Kind
from loaders.values import BOOL_WORDS


def test_survey_format_page_is_current():
    assert SURVEY_FORMAT_OUT.exists(), "run: python -m graphmodel.docs"
    assert SURVEY_FORMAT_OUT.read_text(encoding="utf-8") == render_survey_format(), "run: python -m graphmodel.docs"


def _table(text: str, sheet: str) -> dict[str, list[str]]:
    """Rows of one sheet's column table, by English key."""
    part = text.split(f"### {sheet}（", 1)[1].split("\n### ", 1)[0]
    rows = {}
    for line in part.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) == 7 and cells[1].startswith("`"):
            rows[cells[1].strip("`")] = cells
    return rows


def test_every_sheet_and_column_is_described_from_the_schema():
    text = render_survey_format()
    for nt in NODE_TYPES:
        assert f"### {nt.sheet}（`{nt.file}.csv`" in text and f"主键：{nt.key_column.header}" in text
        rows = _table(text, nt.sheet)
        assert list(rows) == [c.key for c in nt.columns], nt.sheet
        for c in nt.columns:
            header, _, kind, required, values, personal, note = rows[c.key]
            assert header == c.header and (required == "必填") == c.required and (personal == "是") == c.personal
            assert all(v in values for v in c.enum) and all(f"{a}＝{v}" in values for a, v in c.aliases)
            assert (c.ref is None) or values.startswith("→ ")
            assert c.note_zh.removeprefix("主键；").removeprefix("主键") in note
            assert kind, c.key
    # the general rules carry the loader's own spellings
    for words in BOOL_WORDS.values():
        assert all(f"`{w}`" in text for w in words if w not in ("是", "否"))
    for rule in ("UTF-8", "GB18030", "2024年11月11日", "`、`", "GB 32100", "校验位", "引用"):
        assert rule in text
    assert any(c.kind is Kind.REF for nt in NODE_TYPES for c in nt.columns)


def test_readme_links_the_format_and_nothing_outside_the_repository():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/survey-format.md)" in readme
    for path in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        text = path.read_text(encoding="utf-8")
        # every relative link resolves to a file of this repository (a user's clone has nothing beside it)
        for target in re.findall(r"\]\(([^)#\s]+)", text):
            if re.match(r"[a-z]+:", target):
                continue
            resolved = (path.parent / target).resolve()
            assert resolved.is_relative_to(ROOT) and resolved.exists(), (path.name, target)
        assert not re.search(r"(?<![\w.])/work/", text), path  # no absolute paths of a developer machine
