"""The CLI as its user meets it: file-system errors said in words and checked before the work,
Cypher errors about the user's own text with "did you mean", tables that fit the terminal,
Chinese-first usage errors, --lang/-h/--version everywhere, the empty-graph notice.

Every case runs `python -m cli.main` in a subprocess on a real store. The tests run as root,
whom permission bits do not stop: the read-only and full cases use what does stop root —
a path under a file (ENOTDIR), a missing folder, /proc and /sys, and small tmpfs mounts
(read-only: EROFS; 64 KiB: ENOSPC), skipped with the reason where mounting is not allowed.
"""
from __future__ import annotations

import csv
import os
import re
import stat
import subprocess
import unicodedata
from importlib.metadata import version
from pathlib import Path

import pytest

from conftest import Target, embedded_with, run_cli
from graphmodel.writer import write_survey

AS_OF = "2025-01-15"
LONG_NAME = "阳泉市城区某某特别长名称的精密机械零部件制造加工有限责任公司第二分公司"


def _env(tmp_path: Path, **extra) -> dict:
    return {**os.environ, "PYTHONIOENCODING": "utf-8", "SITEGRAPH_DB": str(tmp_path / "absent.db"), **extra}


def _records() -> dict[str, list[dict]]:
    import datetime as dt

    ent = lambda u, name, **kw: {"uscc": u, "name": name, "sector": "机械", "county": "城区",  # noqa: E731
                                 "township": "上站街道", "business_license": True, **kw}
    return {
        "Enterprise": [ent("91140302MA0K00001X", "阳泉市城区顺发机械厂"), ent("91140302MA0K00002X", LONG_NAME)],
        "Building": [{"building_id": "YH-JQ-B000455", "name": "一号厂房", "owner_uscc": "91140302MA0K00001X",
                      "county": "城区", "township": "上站街道"}],
        "Tenancy": [{"tenancy_id": "ZL-CQ-000001", "lessor_uscc": "91140302MA0K00001X",
                     "lessee_uscc": "91140302MA0K00002X", "building_id": "YH-JQ-B000455"}],
        "Hazard": [{"hazard_id": "YH-JQ-000455", "uscc": "91140302MA0K00002X", "description": "消防通道堵塞" * 6,
                    "level": "重大", "status": "未整改", "found_on": dt.date(2024, 11, 20),
                    "deadline": dt.date(2025, 1, 1)}],
    }


@pytest.fixture(scope="module")
def emb(tmp_path_factory) -> Target:
    """A small graph in an embedded store (what is shown does not depend on the backend)."""
    return embedded_with(tmp_path_factory.mktemp("cli-errors"), _records(), "cli-errors")


@pytest.fixture(scope="module")
def ledger(tmp_path_factory) -> Path:
    """A CSV survey with one bad date: validate finds one error."""
    from loaders.generate import generate, write_survey_files

    d = tmp_path_factory.mktemp("ledger")
    write_survey_files(generate(20, 3), d, format="csv")
    p = d / "租赁.csv"
    rows = list(csv.reader(p.open(encoding="utf-8-sig")))
    rows[1][rows[0].index("起租日期")] = "2024-13-01"
    with p.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(rows)
    return d


def sg(*args: str, env=None, cwd=None) -> subprocess.CompletedProcess:
    return run_cli(*args, env=env, cwd=cwd)


def _clean_failure(p: subprocess.CompletedProcess, *, code: int = 1) -> None:
    assert p.returncode == code, (p.returncode, p.stdout, p.stderr)
    assert "Traceback" not in p.stderr and "内部错误" not in p.stderr and "internal error" not in p.stderr, p.stderr


@pytest.fixture
def tmpfs(tmp_path):
    """mount(opts) -> a fresh tmpfs folder; unmounted after the test."""
    mounted = []

    def mount(opts: str) -> Path:
        d = tmp_path / f"mnt{len(mounted)}"
        d.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(d)], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
        mounted.append(d)
        return d

    yield mount
    for d in mounted:
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


# --- file-system errors ------------------------------------------------------------------------

def test_db_folder_problems_are_clear_and_create_nothing(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    cases = [
        (["init", "--db", str(afile / "g.db")], str(afile / "g.db"), "路径中有一段是文件而不是文件夹"),
        (["init", "--db", str(tmp_path / "no" / "such" / "g.db")], str(tmp_path / "no" / "such" / "g.db"),
         f"文件夹 {tmp_path / 'no' / 'such'} 不存在"),
        (["init", "--db", str(tmp_path)], str(tmp_path), "这是一个文件夹，不是文件"),
        (["init", "--db", "/proc/sitegraph.db"], "/proc/sitegraph.db", "中不能建立文件"),
    ]
    for args, path, reason in cases:
        p = sg(*args, env=_env(tmp_path))
        _clean_failure(p)
        assert f"无法写入数据库 {path}" in p.stderr and reason in p.stderr, (args, p.stderr)
    assert not (tmp_path / "no").exists() and sorted(x.name for x in tmp_path.iterdir()) == ["afile"]
    p = sg("init", "--db", str(afile / "g.db"), "--lang", "en", env=_env(tmp_path))
    _clean_failure(p)
    assert f"cannot write database {afile / 'g.db'}: a part of the path is a file" in p.stderr
    assert not re.search(r"[\u4e00-\u9fff]", p.stderr), p.stderr


def test_load_checks_the_db_folder_before_reading_the_survey(tmp_path, ledger):
    db = tmp_path / "missing" / "g.db"
    p = sg("load", str(ledger), "--db", str(db), env=_env(tmp_path))
    _clean_failure(p)
    assert f"无法写入数据库 {db}" in p.stderr
    assert "问题清单" not in p.stdout + p.stderr and "2024-13-01" not in p.stdout + p.stderr  # never read
    assert not db.parent.exists()


def test_outputs_are_checked_before_the_work(emb, tmp_path, ledger):
    afile = tmp_path / "afile"
    afile.write_text("x")
    env = _env(tmp_path)
    # a target that does not exist: the --out error comes first, so it is checked before the graph is read
    p = sg("brief", "NO-SUCH-TARGET", *emb.args, "--out", str(afile / "b.html"), env=env)
    _clean_failure(p)
    assert f"无法写入简报 {afile / 'b.html'}" in p.stderr and "NO-SUCH-TARGET" not in p.stderr
    # the pack does not run (no progress lines) when its folder cannot be made
    p = sg("query", "run", "--all", *emb.args, "--out", "/proc/sitegraph-out", env=env)
    _clean_failure(p)
    assert "无法写入文件夹 /proc/sitegraph-out" in p.stderr and "1/" not in p.stderr
    p = sg("query", "run", "hazards-overdue", *emb.args, "--out", "/sys/sitegraph.csv", env=env)
    _clean_failure(p)
    assert "无法写入文件 /sys/sitegraph.csv：没有写入权限" in p.stderr and " 行 / rows" not in p.stderr
    # validate: the report's folder before the survey is read
    p = sg("validate", str(ledger), "--report", str(afile / "r.xlsx"), env=env)
    _clean_failure(p)
    assert f"无法写入问题清单 {afile / 'r.xlsx'}" in p.stderr and "2024-13-01" not in p.stdout + p.stderr
    for args, shown in ((["template", "/proc/t.xlsx"], "模板 /proc/t.xlsx"),
                        (["generate", str(afile / "g")], f"文件夹 {afile / 'g'}"),
                        (["demo", "--dir", "/proc/sitegraph-demo"], "演示文件夹 /proc/sitegraph-demo")):
        p = sg(*args, env=env)
        _clean_failure(p)
        assert f"无法写入{shown}" in p.stderr, (args, p.stderr)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["afile"]


def test_a_device_is_never_replaced_by_an_output(emb, tmp_path):
    p = sg("query", "run", "hazards-overdue", *emb.args, "--out", "/dev/full", "--format", "csv", env=_env(tmp_path))
    _clean_failure(p)
    assert "无法写入文件 /dev/full：这不是普通文件" in p.stderr
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode) and not Path("/dev/full.meta.json").exists()


def test_read_only_and_full_file_systems(emb, tmp_path, tmpfs):
    ro = tmpfs("ro,size=64k")
    p = sg("init", "--db", str(ro / "g.db"), env=_env(tmp_path))
    _clean_failure(p)
    assert f"无法写入数据库 {ro / 'g.db'}：所在文件系统是只读的" in p.stderr
    p = sg("query", "run", "--all", *emb.args, "--out", str(ro / "out"), "--lang", "en", env=_env(tmp_path))
    _clean_failure(p)
    assert f"cannot write folder {ro / 'out'}: the file system is read-only" in p.stderr

    # 8 KiB: the probe passes, the workbook does not fit — the central mapping names the file,
    # nothing half-written is left, and no second traceback appears at exit
    small = tmpfs("size=8k")
    p = sg("query", "run", "--all", *emb.args, "--out", str(small / "out"), env=_env(tmp_path))
    _clean_failure(p)
    assert f"无法写入 {small / 'out' / 'sitegraph-findings.xlsx'}：磁盘空间不足" in p.stderr, p.stderr
    assert "Exception ignored" not in p.stderr
    assert list((small / "out").iterdir()) == []
    # a full disk is seen before the work
    with pytest.raises(OSError):  # fill it up
        with open(small / "fill", "wb", buffering=0) as f:
            while True:
                f.write(b"\0" * 4096)
    p = sg("brief", "NO-SUCH-TARGET", *emb.args, "--out", str(small / "b.html"), env=_env(tmp_path))
    _clean_failure(p)
    assert f"无法写入简报 {small / 'b.html'}：磁盘空间不足" in p.stderr


def test_a_load_on_a_full_disk_is_a_clear_error_and_leaves_no_store(tmp_path, tmpfs):
    from loaders.generate import generate, write_survey_files

    ledger = tmp_path / "good"  # a survey without errors: the load reaches the store
    write_survey_files(generate(20, 3), ledger, format="csv")
    # 64 KiB: refused before the work (LadybugDB aborted the process with "terminate called …")
    tiny = tmpfs("size=64k")
    p = sg("load", str(ledger), "--db", str(tiny / "g.db"), env=_env(tmp_path))
    _clean_failure(p)
    assert f"无法写入数据库 {tiny / 'g.db'}：磁盘空间不足" in p.stderr and "至少需要" in p.stderr, p.stderr
    assert "terminate" not in p.stderr and list(tiny.iterdir()) == []
    # 5 MiB passes the check, the engine's checkpoint then fills the disk: not an "internal error"
    small = tmpfs("size=5m")
    p = sg("load", str(ledger), "--db", str(small / "g.db"), "--lang", "en", env=_env(tmp_path))
    _clean_failure(p)
    assert f"cannot write database {small / 'g.db'}: no space left on the device" in p.stderr, p.stderr
    assert list(small.iterdir()) == []  # the new store is removed


# --- cypher errors -------------------------------------------------------------------------------

def test_cypher_errors_quote_the_users_text_and_suggest_names(emb, tmp_path):
    env = _env(tmp_path)
    p = sg("cypher", "MATCH (b:Building RETURN b", *emb.args, env=env)
    _clean_failure(p)
    assert "EXPLAIN" not in p.stderr
    lines = p.stderr.splitlines()
    echo = next(i for i, x in enumerate(lines) if x.strip() == '"MATCH (b:Building RETURN b"')
    # the caret stands under RETURN, where the user's own text has the error
    assert lines[echo + 1].index("^") == lines[echo].index("RETURN"), p.stderr
    assert "offset: 18" in p.stderr  # offset in the user's text (26 in "EXPLAIN …")

    p = sg("cypher", "MATCH (b:Buildng) RETURN b.building_id", *emb.args, env=env)
    _clean_failure(p)
    assert "Buildng" in p.stderr and "是否为 Building？" in p.stderr
    p = sg("cypher", "MATCH (b:Building)<-[:COVER]-(t) RETURN t", *emb.args, env=env)
    _clean_failure(p)
    assert "是否为 COVERS？" in p.stderr
    p = sg("cypher", "MATCH (b:Building) RETURN b.buildng_id", *emb.args, env=env)
    _clean_failure(p)
    assert "是否为 building_id？" in p.stderr


@pytest.mark.neo4j
def test_neo4j_unknown_names_get_did_you_mean(neo4j_target, tmp_path):
    g = neo4j_target.open(write=True)
    try:
        write_survey(g, _records(), source="cli-errors")
    finally:
        g.close()
    env = {**neo4j_target.env, "SITEGRAPH_DB": str(tmp_path / "absent.db")}
    p = run_cli("cypher", "MATCH (b:Buildng) RETURN b.building_id AS b", *neo4j_target.args, env=env)
    assert p.returncode == 0, p.stderr
    assert "Buildng" in p.stderr and "是否为 Building？" in p.stderr, p.stderr
    p = run_cli("cypher", "MATCH (b:Building)<-[:COVER]-(t) RETURN b.buildng_id AS b", *neo4j_target.args, env=env)
    assert p.returncode == 0 and "是否为 COVERS？" in p.stderr and "是否为 building_id？" in p.stderr, p.stderr
    p = run_cli("cypher", "MATCH (b:Building) RETURN b.building_id AS b", *neo4j_target.args, env=env)
    assert p.returncode == 0 and "注意" not in p.stderr, p.stderr  # right names: nothing to say
    p = run_cli("cypher", "MATCH (b:Building RETURN b", *neo4j_target.args, env=env)
    _clean_failure(p)
    assert "EXPLAIN" not in p.stderr and "MATCH (b:Building RETURN b" in p.stderr, p.stderr
    m = re.search(r"line 1, column (\d+) \(offset: (\d+)\)", p.stderr)
    assert m and int(m.group(2)) == len("MATCH (b:Building ") and int(m.group(1)) == int(m.group(2)) + 1, p.stderr


# --- terminal tables ------------------------------------------------------------------------------

def _width(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def test_tables_fit_100_columns_and_never_break_keys(emb, tmp_path, ledger):
    env = _env(tmp_path, COLUMNS="100")
    outs = []
    for args in (["query", "run", "hazards-overdue", "--param", f"as_of={AS_OF}"],
                 ["query", "run", "unreviewed-tenants"], ["query", "run", "major-hazards-open"],
                 ["info"], ["cypher", "MATCH (h:Hazard) RETURN h.hazard_id AS id, h.description AS d"]):
        p = sg(*args, *emb.args, env=env)
        assert p.returncode == 0, (args, p.stderr)
        outs.append(p.stdout)
    p = sg("query", "list", env=env)
    outs.append(p.stdout)
    p = sg("validate", str(ledger), env=env)
    assert p.returncode == 1
    outs.append(p.stdout)
    for out in outs:
        assert out.strip() and max(_width(x) for x in out.splitlines()) <= 100, out
    joined = "\n".join(outs)
    for key in ("YH-JQ-000455", "YH-JQ-B000455", "ZL-CQ-000001", "91140302MA0K00002X", "2025-01-01", "2024-13-01",
                "responsibility-gaps"):
        assert key in joined, key  # whole on one line, never "YH-J / Q-00 / 0455"
    # free text is cut on one line with "…", or shown in full (wrapped) with --wide
    cy = ["cypher", "MATCH (e:Enterprise) RETURN e.uscc AS uscc, e.name AS name, e.county AS county, "
                    "e.township AS township, e.sector AS sector ORDER BY uscc", *emb.args]
    env = _env(tmp_path, COLUMNS="70")
    p = sg(*cy, env=env)
    assert p.returncode == 0 and max(_width(x) for x in p.stdout.splitlines()) <= 70, p.stdout
    assert LONG_NAME not in p.stdout and "…" in p.stdout and "91140302MA0K00002X" in p.stdout, p.stdout
    assert len([x for x in p.stdout.splitlines() if "│" in x]) == 2  # one line per row
    p = sg(*cy, "--wide", env=env)
    assert p.returncode == 0 and max(_width(x) for x in p.stdout.splitlines()) <= 70, p.stdout
    names = "".join(x.split("│")[2].strip() for x in p.stdout.splitlines() if x.startswith("│"))
    assert LONG_NAME in names, p.stdout


def test_loads_shows_moved_records_apart_and_keeps_the_source_whole(tmp_path):
    import json
    import shutil

    from loaders.generate import generate, write_survey_files

    write_survey_files(generate(20, 3), tmp_path / "s", format="xlsx")
    first = tmp_path / "s" / "survey.xlsx"
    renamed = shutil.copy(first, tmp_path / "荫营镇-11月-更正.xlsx")  # the same content under a new name
    db, source = str(tmp_path / "g.db"), "yangquan-demo-1"
    for path in (first, renamed):
        p = sg("load", str(path), "--db", db, "--source", source, env=_env(tmp_path))
        assert p.returncode == 0, p.stderr
    rows = json.loads(sg("loads", "--db", db, "--format", "json", env=_env(tmp_path)).stdout)
    moved = rows[1]["moved"]
    assert moved > 0 and rows[1]["created"] == rows[1]["updated"] == 0
    for cols in ("100", "80"):
        p = sg("loads", "--db", db, env=_env(tmp_path, COLUMNS=cols))
        assert p.returncode == 0 and max(_width(x) for x in p.stdout.splitlines()) <= int(cols), p.stdout
        # the moves are counted apart (they were missing: "0/0/0/0"), the source never "yangquan-demo / -1"
        assert "位置变化" in p.stdout and f"0/0/{moved}/0/0" in p.stdout and source in p.stdout, p.stdout


# --- usage errors, --lang, -h, --version ----------------------------------------------------------

def test_usage_errors_in_chinese_and_english(tmp_path):
    env = _env(tmp_path)
    cases = [
        (["query", "run", "--nope"], "没有这个选项：--nope", "No such option: --nope"),
        (["cypher"], "缺少参数", "Missing argument"),
        (["query", "list", "--format", "xml"], "的值无效：'xml' 不是可选值之一", "Invalid value for"),
        (["demo", "-n", "5"], "须大于或等于 20", "greater than or equal to 20"),
        (["querry"], "没有这个命令：'querry'（是否为 'query'？）", "No such command 'querry'"),
        (["info", "extra"], "多余的参数：extra", "unexpected extra argument"),
    ]
    for args, zh, en in cases:
        p = sg(*args, env=env)
        _clean_failure(p, code=2)
        assert zh in p.stderr and "用法：sitegraph" in p.stderr and "查看帮助" in p.stderr, (args, p.stderr)
        assert "Usage:" not in p.stderr and "Error:" not in p.stderr and "Try " not in p.stderr
        p = sg(*args, "--lang", "en", env=env)
        _clean_failure(p, code=2)
        assert en in p.stderr and "Usage: sitegraph" in p.stderr and "for help" in p.stderr, (args, p.stderr)
        assert not re.search(r"[\u4e00-\u9fff]", p.stderr), p.stderr
    p = sg("--lang", "en", "cypher", env=env)  # before the command too
    assert "Missing argument" in p.stderr


def test_lang_en_messages_have_no_chinese(emb, tmp_path, ledger):
    # "中文 / English" messages (written, rows, query errors, did-you-mean, a ledger's errors) printed
    # both halves under --lang en; the default keeps both, Chinese first
    env = _env(tmp_path)
    runs = [(["query", "run", "hazards-overdue", *emb.args, "--format", "csv", "--out", str(tmp_path / "q.csv")], 0,
             ("written: ", "rows (")),
            (["cypher", "MATCH (b:Buildng) RETURN b", *emb.args], 1, ("query failed", "did you mean Building?")),
            (["validate", str(ledger), "--format", "json"], 1, ("error(s) to fix before loading",)),
            (["template", str(tmp_path / "t.xlsx")], 0, ("written: ",))]
    for args, code, en in runs:
        p = sg(*args, "--lang", "en", env=env)
        assert p.returncode == code, (args, p.stderr)
        assert all(x in p.stderr for x in en) and not re.search(r"[\u4e00-\u9fff]", p.stderr), (args, p.stderr)
        p = sg(*args, env=env)
        assert p.returncode == code and re.search(r"[\u4e00-\u9fff]", p.stderr), (args, p.stderr)
    # the briefing's summary line: English labels (names stay as the ledger has them)
    p = sg("brief", "YH-JQ-B000455", *emb.args, "--out", str(tmp_path / "b.html"), "--lang", "en", env=env)
    assert p.returncode == 0 and "briefing written: " in p.stderr and "building YH-JQ-B000455" in p.stderr, p.stderr
    assert "\n  personal data hidden" in p.stderr and not re.search(r"已生成|建筑|个人信息", p.stderr), p.stderr


COMMANDS = (["init"], ["info"], ["cypher"], ["validate"], ["load"], ["template"], ["generate"], ["brief"],
            ["demo"], ["query", "list"], ["query", "show"], ["query", "run"])


def test_every_command_has_lang_and_h_and_help_fits_80_columns(tmp_path):
    env = _env(tmp_path, COLUMNS="80")
    for args in ([], ["query"], *COMMANDS):
        p = sg(*args, "-h", env=env)
        assert p.returncode == 0, (args, p.stderr)
        assert "…" not in p.stdout, (args, p.stdout)  # no Chinese cut short
        assert max(_width(x) for x in p.stdout.splitlines()) <= 80, args
        if args and args != ["query"]:
            assert "--lang" in p.stdout, args
    p = sg("--version", env=env)
    assert p.returncode == 0 and p.stdout.strip() == f"sitegraph {version('sitegraph')}"


def test_help_usage_line_in_chinese_and_english(tmp_path):
    env = _env(tmp_path, COLUMNS="80")
    for args, zh in (([], "用法：sitegraph [选项] 命令 [参数]"), (["query", "run"], "用法：sitegraph query run [选项]")):
        p = sg(*args, "-h", env=env)
        assert p.returncode == 0 and zh in p.stdout and "Usage:" not in p.stdout, p.stdout
        p = sg(*args, "-h", "--lang", "en", env=env)
        assert p.returncode == 0 and "Usage: sitegraph" in p.stdout and "用法" not in p.stdout, p.stdout


# --- empty graphs, new databases, titles with parameters -------------------------------------------

def test_an_empty_graph_says_so(tmp_path):
    db = tmp_path / "new.db"
    env = _env(tmp_path)
    assert sg("init", "--db", str(db), env=env).returncode == 0
    p = sg("query", "run", "hazards-overdue", "--db", str(db), env=env)
    assert p.returncode == 0 and "图谱中没有数据" in p.stderr and "sitegraph load" in p.stderr
    p = sg("cypher", "MATCH (b:Building) RETURN b.building_id", "--db", str(db), "--lang", "en", env=env)
    assert p.returncode == 0 and "the graph is empty" in p.stderr


def test_a_query_with_rows_does_not_say_empty(emb, tmp_path):
    p = sg("query", "run", "hazards-overdue", "--param", "as_of=2020-01-01", *emb.args, env=_env(tmp_path))
    assert p.returncode == 0 and "0 行" in p.stderr and "图谱中没有数据" not in p.stderr


def test_validate_against_a_database_not_yet_created(tmp_path, ledger):
    db = tmp_path / "new.db"
    p = sg("validate", str(ledger), "--db", str(db), env=_env(tmp_path))
    assert p.returncode == 1 and "2024-13-01" in p.stdout, p.stderr  # the ledger's own error, not the db's
    assert f"数据库 {db} 尚不存在：引用只在本台账内核对" in p.stderr and "数据库文件不存在" not in p.stderr
    assert not db.exists()


def test_dispatch_title_shows_the_cap_used(emb, tmp_path):
    from openpyxl import load_workbook

    env = _env(tmp_path, COLUMNS="120")
    p = sg("query", "run", "dispatch-over-cap", "--param", "cap=0.3", *emb.args, env=env)
    assert p.returncode == 0 and "劳务派遣用工超过用工总量30%" in p.stdout and "10%" not in p.stdout, p.stdout
    p = sg("query", "run", "dispatch-over-cap", "--param", "cap=12.5%", "--lang", "en", *emb.args, env=env)
    assert "Dispatched workers above 12.5% of the workforce" in p.stdout, p.stdout
    out = tmp_path / "d.xlsx"
    p = sg("query", "run", "dispatch-over-cap", "--param", "cap=0.3", "--out", str(out), *emb.args, env=env)
    assert p.returncode == 0, p.stderr
    wb = load_workbook(out)
    cells = [str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert any("30%" in x for x in cells + wb.sheetnames) and not any("用工总量10%" in x for x in cells + wb.sheetnames)
    p = sg("query", "list", "--search", "dispatch", env=env)
    assert "劳务派遣用工超过用工总量10%" in p.stdout  # the list shows the default

