"""Checking and loading a survey: the library behind `sitegraph validate` and `load`.

    check(path, graph)  -> Checked (records + every problem)
    load(path, graph)   -> LoadOutcome (Checked + graphmodel.writer.LoadReport)

`load` checks first and writes nothing when there is any error (SurveyInvalid); the
write itself is one transaction (graphmodel.writer.write_survey), so a survey is loaded
whole or not at all, and loading the same survey again changes nothing.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from graphmodel.backends.base import Backend
from graphmodel.errors import SitegraphError
from graphmodel.schema import SCHEMA_VERSION
from graphmodel.writer import LoadReport, write_survey

from .columnar import paused_gc
from .readers import open_survey
from .validate import Checked, Progress, check_survey


class SurveyInvalid(SitegraphError):
    """The survey has errors; nothing was written. `.checked` holds every problem."""

    def __init__(self, checked: Checked):
        self.checked = checked
        n, w = len(checked.errors), len(checked.warnings)
        super().__init__(
            f"台账有 {n} 个错误（{w} 个警告），未导入任何数据；请按问题清单修改后重新提交 / "
            f"{n} error(s) ({w} warning(s)): nothing was loaded; fix them and load again"
        )


@dataclass
class LoadOutcome:
    checked: Checked
    report: LoadReport


def default_source(path: str | Path) -> str:
    """The workbook or folder name without extension (a lone CSV: its folder's name)."""
    p = Path(path).resolve()
    if p.is_file():
        return p.parent.name if p.suffix.lower() == ".csv" else p.stem
    return p.stem if p.suffix.lower() in (".xlsx", ".xlsm") else p.name


def ensure_schema(backend: Backend) -> None:
    """Install (or upgrade) the schema when the database has none or an older one."""
    version = backend.schema_version()
    if version is None or version < SCHEMA_VERSION:
        backend.install_schema()


def check(path: str | Path, graph: Backend | None = None, *, source: str | None = None,
          progress: Progress | None = None, strict: bool = False, mapping=None) -> Checked:
    """Read and check a survey; `graph` (read only) resolves references to loaded records;
    `strict`: a column or sheet that held data and is not imported is an error; `mapping`:
    a loaders.mapping.Mapping (`--mapping FILE`)."""
    with paused_gc(), open_survey(path, mapping) as survey:
        return check_survey(survey, graph, source=source or default_source(path), progress=progress, strict=strict)


def load(path: str | Path, graph: Backend, *, source: str | None = None, prune: bool = False,
         progress: Progress | None = None,
         write_progress: Callable[[str, int, int], None] | None = None,
         survey_date: "dt.date | None" = None, strict: bool = False, mapping=None) -> LoadOutcome:
    """Check, then write the survey in one transaction; raise SurveyInvalid on any error."""
    source = source or default_source(path)
    if not source.strip():
        raise SitegraphError("来源名称不能为空（用 --source 指定）/ the source name must not be blank (--source)")
    checked = check(path, graph, source=source, progress=progress, strict=strict, mapping=mapping)
    if not checked.ok:
        raise SurveyInvalid(checked)
    with paused_gc():  # as while checking: many small objects, no cycles
        report = write_survey(graph, checked.records, source=source, prune=prune, progress=write_progress,
                              survey_date=survey_date, files=sorted({s.file for s in checked.sheets if s.file}),
                              merges=checked.merges)
    return LoadOutcome(checked, report)
