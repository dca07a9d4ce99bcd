"""Options and helpers shared by the commands."""
from __future__ import annotations

import enum
import errno
import os
import re
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer

from graphmodel.backends import Backend, default_db_path, open_backend
from graphmodel.errors import SitegraphError

DbOpt = Annotated[
    Optional[str],
    typer.Option("--db", help="嵌入式数据库文件（默认 ./sitegraph.db 或 $SITEGRAPH_DB）/ embedded store file", metavar="PATH"),
]
Neo4jOpt = Annotated[
    Optional[str],
    typer.Option(
        "--neo4j",
        help="Neo4j 地址，如 bolt://127.0.0.1:7687；用户名和密码取自 NEO4J_USERNAME / NEO4J_PASSWORD / Neo4j URI",
        metavar="URI",
    ),
]
ParamOpt = Annotated[
    Optional[list[str]],
    typer.Option("--param", "-p", help="查询参数 k=v，可重复 / query parameter k=v (repeatable)", metavar="K=V"),
]


class Lang(str, enum.Enum):
    zh = "zh"
    en = "en"


# The language of messages for this run: --lang (any command), else $SITEGRAPH_LANG, else zh.
# main() sets it from argv before parsing, so that usage errors follow it too.
_LANG = {"value": Lang.zh}


def set_lang(lang: "Lang | str | None") -> Lang:
    try:
        _LANG["value"] = Lang(lang.value if isinstance(lang, Lang) else (lang or "zh"))
    except ValueError:
        _LANG["value"] = Lang.zh
    return _LANG["value"]


def lang() -> Lang:
    return _LANG["value"]


def t(zh: str, en: str) -> str:
    """The message in this run's language."""
    return en if _LANG["value"] is Lang.en else zh


def _lang_callback(ctx: typer.Context, param: typer.CallbackParam, value: Lang | None) -> Lang | None:
    # Only a --lang (or $SITEGRAPH_LANG) given: the default must not undo `sitegraph --lang en CMD`.
    source = ctx.get_parameter_source(param.name) if param.name else None
    if value is not None and getattr(source, "name", "DEFAULT") != "DEFAULT":
        set_lang(value)
    return value


LangOpt = Annotated[Lang, typer.Option(
    "--lang", help="提示语言 / message language", envvar="SITEGRAPH_LANG", show_envvar=False,
    callback=_lang_callback)]


WideOpt = Annotated[bool, typer.Option(
    "--wide", help="表格中显示全部文字（长文字换行）/ show all text in tables (wrapped)")]


class TableFormat(str, enum.Enum):
    table = "table"
    json = "json"


class RowFormat(str, enum.Enum):
    table = "table"
    json = "json"
    csv = "csv"


# Free space an embedded write needs at the least: below it LadybugDB's write-ahead log can hit a
# full disk inside the engine, which aborts the process ("terminate called …") instead of raising.
DB_MIN_FREE = 4 * 1024 * 1024


def check_db_writable(db: str | None) -> None:
    """An embedded store to be written: its folder must exist and take new files (the store,
    its lock and its write copy live beside it); the path must not be a folder; the disk must
    have DB_MIN_FREE bytes free."""
    path = db or default_db_path()
    check_writable(path, create_parents=False, what=("数据库", "database"))
    try:
        free = shutil.disk_usage(Path(path).absolute().parent).free
    except OSError:
        return
    if free < DB_MIN_FREE:
        raise FileSystemError(t(f"无法写入数据库 {path}：磁盘空间不足（剩 {free // 1024} KB，至少需要 {DB_MIN_FREE // 2**20} MB）",
                                f"cannot write database {path}: no space left on the device ({free // 1024} KB free, "
                                f"{DB_MIN_FREE // 2**20} MB needed at the least)"))


def _no_space(e: BaseException) -> bool:
    """A store's write failed because the disk is full (the engine says so only in its text)."""
    return (isinstance(e, OSError) and e.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1))) or (
        not isinstance(e, OSError) and "No space left on device" in str(e))


@contextmanager
def backend(db: str | None, neo4j: str | None, *, write: bool = False, create: bool = False) -> Iterator[Backend]:
    if write and not neo4j:
        check_db_writable(db)
    path = Path(db or default_db_path())
    new_store = write and create and not neo4j and not path.exists()
    b = open_backend(db, neo4j, write=write, create=create)
    try:
        yield b
    except BaseException as e:
        if new_store:  # a store this command created for a load that failed: leave nothing behind
            b.close()
            _remove_store(path)
        if write and not neo4j and _no_space(e):  # not an internal error: the user can free space
            raise fs_error(OSError(errno.ENOSPC, "no space left on device"), db or default_db_path(),
                           ("数据库", "database")) from None
        raise
    finally:
        b.close()


def _remove_store(path: Path) -> None:
    from graphmodel.backends.embedded import _LOCK_SUFFIX, _SIDE_SUFFIXES

    for suffix in ("", _LOCK_SUFFIX, *_SIDE_SUFFIXES):
        Path(str(path) + suffix).unlink(missing_ok=True)


def parse_kv(params: list[str] | None) -> dict[str, str]:
    """`k=v` strings into a dict; a malformed one is a usage error (exit 2)."""
    out: dict[str, str] = {}
    for p in params or []:
        if "=" not in p or not p.split("=", 1)[0].strip():
            raise typer.BadParameter(f"参数须写成 k=v：{p!r} / parameters are k=v", param_hint="--param")
        k, v = p.split("=", 1)
        out[k.strip()] = v
    return out


# "中文 / English" on one line: a Chinese part, " / " (or "？/ "), then English only (no CJK, no
# full-width signs). Messages from the store and the loaders are written so; --lang en keeps the English.
_BILINGUAL = re.compile(r"^(?P<lead>\s*)(?P<zh>.*?[\u3000-\u9fff\uff00-\uffef].*?) ?/ (?P<en>[^\u3000-\u9fff\uff00-\uffef]+)$")


def in_lang(msg: str) -> str:
    """The message for this run's language: under --lang en, each "中文 / English" line keeps only
    its English part (the default keeps both, Chinese first); other lines are left as they are."""
    if _LANG["value"] is not Lang.en:
        return msg
    return "\n".join(m.group("lead") + m.group("en") if (m := _BILINGUAL.match(line)) else line
                     for line in msg.split("\n"))


def err(msg: str) -> None:
    """A message for people: stderr, so that stdout stays clean for json/csv."""
    print(in_lang(msg), file=sys.stderr)


def fail(msg: str) -> None:
    raise SitegraphError(msg)


# --- file-system errors -----------------------------------------------------------------------

class FileSystemError(SitegraphError):
    """A path the user gave cannot be written (or read): said in words, exit 1."""


def _reason(e: OSError) -> tuple[str, str]:
    """(zh, en) reason for an OSError, by its errno family."""
    no = e.errno
    if no in (errno.EROFS,):
        return "所在文件系统是只读的", "the file system is read-only"
    if no in (errno.EACCES, errno.EPERM):
        return "没有写入权限", "permission denied"
    if no in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return "磁盘空间不足", "no space left on the device"
    if no == errno.ENOENT:
        return "文件夹不存在", "the folder does not exist"
    if no == errno.ENOTDIR:
        return "路径中有一段是文件而不是文件夹", "a part of the path is a file, not a folder"
    if no == errno.EISDIR:
        return "这是一个文件夹，不是文件", "it is a folder, not a file"
    if no == errno.EEXIST:
        return "已有同名的文件", "a file of that name exists"
    if no == errno.ENAMETOOLONG:
        return "路径太长", "the path is too long"
    if no == errno.EBUSY:
        return "文件正被占用", "the file is busy"
    return (e.strerror or type(e).__name__), (e.strerror or type(e).__name__)


def fs_error(e: OSError, path: "str | os.PathLike | None" = None, what: tuple[str, str] | None = None, *,
             verb: tuple[str, str] = ("写入", "write")) -> FileSystemError:
    """A clear message for an OSError on `path` (the path as the user gave it, else the error's)."""
    shown = str(path) if path is not None else (e.filename if e.filename is not None else "")
    zh, en = _reason(e)
    what_zh, what_en = what or ("", "")
    v_zh, v_en = verb
    if not shown:
        return FileSystemError(t(f"{v_zh}{what_zh}失败：{zh}", f"cannot {v_en}{' ' + what_en if what_en else ''}: {en}"))
    return FileSystemError(t(f"无法{v_zh}{what_zh} {shown}：{zh}",
                             f"cannot {v_en} {what_en + ' ' if what_en else ''}{shown}: {en}"))


def _nearest_existing(p: Path) -> Path:
    q = p
    while not q.exists() and q != q.parent:
        q = q.parent
    return q


def _probe_dir(d: Path, shown, what) -> None:
    """Create and remove a file in `d`: the real test of "can I write here" (root is not
    stopped by permission bits, a read-only mount or /proc is, and so is a full quota)."""
    try:
        fd, name = tempfile.mkstemp(prefix=".sitegraph-probe-", dir=d)
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.EINVAL) and d.is_dir():  # /proc, /sys: no files can be made there
            what_zh, what_en = what or ("", "")
            raise FileSystemError(t(f"无法写入{what_zh} {shown}：文件夹 {d} 中不能建立文件",
                                    f"cannot write {what_en} {shown}: files cannot be created in {d}")) from None
        raise fs_error(e, shown, what) from None
    os.close(fd)
    os.unlink(name)
    try:
        full = shutil.disk_usage(d).free == 0
    except OSError:
        full = False
    if full:
        raise fs_error(OSError(errno.ENOSPC, "no space left on device"), shown, what)


def check_writable(path: "str | os.PathLike", *, folder: bool = False, create_parents: bool = True,
                   what: tuple[str, str] | None = None) -> Path:
    """Check, before any work, that `path` can be written: a file (default) or a folder
    (`folder=True`) that may not exist yet. Missing folders on the way are allowed when
    `create_parents` (they are made when the output is written); else the parent must exist.
    Raises FileSystemError naming the path as given; creates nothing."""
    p = Path(path)
    what = what or (("文件夹", "folder") if folder else ("文件", "file"))
    if p.exists():
        if folder and not p.is_dir():
            raise FileSystemError(t(f"无法写入{what[0]} {path}：这是一个文件，不是文件夹",
                                    f"cannot write {what[1]} {path}: it is a file, not a folder"))
        if not folder and p.is_dir():
            raise FileSystemError(t(f"无法写入{what[0]} {path}：这是一个文件夹，不是文件",
                                    f"cannot write {what[1]} {path}: it is a folder, not a file"))
        if folder:
            _probe_dir(p, path, what)
            return p
        if not p.is_file():  # a device, a pipe, a socket: outputs are replaced whole, never those
            raise FileSystemError(t(f"无法写入{what[0]} {path}：这不是普通文件", f"cannot write {what[1]} {path}: not a regular file"))
        if not os.access(p, os.W_OK):
            raise fs_error(OSError(errno.EACCES, "permission denied"), path, what)
        _probe_dir(p.resolve().parent, path, what)
        return p
    parent = p.parent if str(p.parent) else Path(".")
    base = _nearest_existing(parent.absolute())
    if not base.is_dir():
        raise fs_error(OSError(errno.ENOTDIR, "not a directory"), path, what)
    if base != parent.absolute() and not create_parents:
        raise FileSystemError(t(f"无法写入{what[0]} {path}：文件夹 {parent} 不存在",
                                f"cannot write {what[1]} {path}: the folder {parent} does not exist"))
    _probe_dir(base, path, what)
    return p


def make_parents(path: "str | os.PathLike", *, folder: bool = False, what: tuple[str, str] | None = None) -> Path:
    """Create the folders an output needs (after the work is done), with clear errors."""
    p = Path(path)
    try:
        (p if folder else p.parent).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise fs_error(e, path, what) from None
    return p


def empty_graph_note(b: Backend) -> bool:
    """Say so in one line (stderr) when the graph has no records at all; True if it is empty."""
    from graphmodel.schema import NODE_TYPES

    for nt in NODE_TYPES:
        try:
            if b.read(f"MATCH (n:{nt.label}) RETURN n.`{nt.key}` AS k LIMIT 1").rows:
                return False
        except SitegraphError:  # no such table yet (a store without the schema)
            continue
    err(t(f"图谱中没有数据（{b.kind} {b.location}）：请先 sitegraph load 台账.xlsx，或运行 sitegraph demo 后加 "
          "--db sitegraph-demo/sitegraph.db",
          f"the graph is empty ({b.kind} {b.location}): load a survey first (sitegraph load FILE), or after "
          "sitegraph demo add --db sitegraph-demo/sitegraph.db"))
    return True


@contextmanager
def writing(path: "str | os.PathLike", what: tuple[str, str] | None = None) -> Iterator[None]:
    """Around the write of an output: an OSError (a full disk …) is said about that path."""
    try:
        yield
    except OSError as e:
        raise fs_error(e, path, what) from None


def write_text_atomic(path: "str | os.PathLike", text: str) -> None:
    """Write a text file whole or not at all (a temporary file beside it, then a rename)."""
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".part", dir=p.parent if str(p.parent) else ".")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # the mode an ordinary open() would give, not mkstemp's 0600
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def emit_text(text: str, out: "str | os.PathLike | None", newline: bool = True) -> None:
    """A command's text output: to stdout, or written whole to `out` (then said on stderr)."""
    if newline and not text.endswith("\n"):
        text += "\n"
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    make_parents(out)
    with writing(out):
        write_text_atomic(out, text)
    err(t(f"已写入 / written: {out}", f"written: {out}"))
