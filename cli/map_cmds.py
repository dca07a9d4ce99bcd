"""`sitegraph map`: a draft mapping of an office's own ledger form (loaders/mapping.py),
and the `--mapping FILE` option that validate, load and template take."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import Lang, LangOpt, check_writable, err, fail, make_parents, t, write_text_atomic, writing

MappingOpt = Annotated[
    Optional[Path],
    typer.Option("--mapping", help="映射文件（TOML）：本单位台账的表名、列名、取值对应到 sitegraph 的（见 sitegraph map）/ "
                                   "a TOML file mapping the office's sheet, header and value names (see sitegraph map)",
                 metavar="FILE.toml"),
]


def register(app: typer.Typer) -> None:
    app.command("map", short_help="生成台账映射文件草稿 / draft a mapping for an office's ledger")(map_ledger)


def read_mapping(path: Path | None):
    """The checked mapping of `--mapping`, or None; a bad file is one clear error (exit 1)."""
    if path is None:
        return None
    from loaders.mapping import MappingError, load_mapping

    try:
        return load_mapping(path)
    except MappingError as e:
        fail(t(e.zh, e.en))


def map_ledger(
    ledger: Annotated[Path, typer.Argument(help="台账：.xlsx 工作簿，或 CSV 文件夹 / a workbook or a folder of CSV files")],
    out: Annotated[Path, typer.Option("--out", "-o", help="写出的映射文件（.toml）/ the draft mapping to write",
                                      metavar="FILE.toml")] = Path("mapping.toml"),
    lang: LangOpt = Lang.zh,
) -> None:
    """列出台账中未能识别的工作表、列名和取值，每项附最相近的 sitegraph 名称及得分，写成映射文件草稿；
    核对后用 --mapping 使用 / write a draft mapping: every unrecognised sheet, header and value with
    the closest sitegraph name and its score; edit it, then pass it with --mapping."""
    from loaders.mapping import draft

    if out.suffix.lower() != ".toml":
        raise typer.BadParameter("映射文件须以 .toml 结尾 / the mapping file must end in .toml", param_hint="--out")
    if not ledger.exists():
        fail(t(f"找不到台账 {ledger}", f"no such ledger: {ledger}"))
    check_writable(out, what=("映射文件", "mapping file"))
    text, n = draft(ledger)
    make_parents(out)
    with writing(out, ("映射文件", "mapping file")):
        write_text_atomic(out, text)
    if n:
        err(t(f"已写入映射文件草稿 {out}：{n} 项待核对；核对后运行 sitegraph validate {ledger} --mapping {out}",
              f"draft mapping written to {out}: {n} item(s) to check; then run sitegraph validate {ledger} "
              f"--mapping {out}"))
    else:
        err(t(f"台账的表、列和取值均已识别，无需映射；已写入空的映射文件 {out}",
              f"every sheet, header and value of the ledger is recognised: no mapping needed; wrote an empty {out}"))
