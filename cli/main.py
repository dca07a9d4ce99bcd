"""The `sitegraph` command: thin typer commands over the library.

Exit status: 0 done, 1 a data or user error (clear message on stderr), 2 a usage error.
No traceback unless --debug.
"""
from __future__ import annotations

import importlib
import os
import re
import sys
from typing import Annotated, Optional

import typer

from graphmodel.errors import SitegraphError

from .common import FileSystemError, Lang, fs_error, in_lang, set_lang, t

# -h everywhere: subcommands inherit the root context's help option names.
CONTEXT = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    name="sitegraph",
    help="一厂多租安全责任图谱 sitegraph：导入排查台账、运行预置查询、打印检查简报。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings=CONTEXT,
)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sitegraph")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _version_callback(value: bool) -> None:
    if value:
        print(f"sitegraph {_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="出错时显示调用栈 / show tracebacks")] = False,
    version: Annotated[Optional[bool], typer.Option(
        "--version", help="显示版本 / show the version", is_eager=True, callback=_version_callback)] = None,
    lang: Annotated[Optional[Lang], typer.Option(
        "--lang", help="提示语言（也可放在命令之后）/ message language (also after the command)")] = None,
) -> None:
    if debug:
        os.environ["SITEGRAPH_DEBUG"] = "1"
    if lang is not None:
        set_lang(lang)


# Command modules; each has register(app). Listed here so one place shows the CLI.
_MODULES = ("db_cmds", "survey_cmds", "query_cmds", "brief_cmds", "history_cmds", "map_cmds", "dedupe_cmds", "party_cmds", "report_cmds")


for _name in _MODULES:
    try:
        _mod = importlib.import_module(f"cli.{_name}")
    except ModuleNotFoundError as e:  # a module not written yet
        if e.name != f"cli.{_name}":
            raise
        continue
    _mod.register(app)


# --- usage errors in the user's language --------------------------------------------------------
# typer vendors click without gettext, so the messages are rebuilt here from the exception's
# fields (NoSuchOption.option_name, MissingParameter.param …); a message we do not know is
# shown as it is, never lost.

_VALUE_ZH = (  # pydantic / typer conversion messages inside "Invalid value for X: …"
    (r"^(?:Value error, )?(.+?) is not one of (.+?)\.?$", r"\1 不是可选值之一（可选：\2）"),
    (r"^Input should be greater than or equal to (.+)$", r"须大于或等于 \1"),
    (r"^Input should be less than or equal to (.+)$", r"须小于或等于 \1"),
    (r"^Input should be greater than (.+)$", r"须大于 \1"),
    (r"^Input should be less than (.+)$", r"须小于 \1"),
    (r"^Input should be a valid integer.*$", "须为整数"),
    (r"^Input should be a valid number.*$", "须为数字"),
    (r"^Input should be a valid boolean.*$", "须为 true 或 false"),
    (r"^Input should be a finite number.*$", "须为有限数"),
    (r"^Value (.+) is not a valid (.+)\.$", r"\1 不是有效的 \2"),
)
_NO_COMMAND = re.compile(r"^No such command (.+?)\.(?: Did you mean (.+)\?)?$")
_MESSAGE_ZH = (  # whole messages of UsageError and its other kinds
    (r"^Missing command\.?$", "缺少命令"),
    (r"^Option (.+?) requires an argument\.$", r"选项 \1 后面须跟一个值"),
    (r"^Option (.+?) requires (\d+) arguments\.$", r"选项 \1 后面须跟 \2 个值"),
    (r"^Option (.+?) does not take a value\.$", r"选项 \1 不接受值"),
    (r"^Got unexpected extra argument\(s\) \((.*)\)$", r"多余的参数：\1"),
    (r"^Got unexpected extra arguments? \((.*)\)$", r"多余的参数：\1"),
    (r"^Argument (.+?) takes (\d+) values\.$", r"参数 \1 须有 \2 个值"),
)
_CJK = re.compile(r"[\u3400-\u9fff]")


def _value_zh(msg: str) -> str:
    if _CJK.search(msg):  # our own messages are Chinese first already
        return msg
    for rx, repl in _VALUE_ZH:
        if re.match(rx, msg, re.S):
            return re.sub(rx, repl, msg, flags=re.S)
    return msg


def _hint(e) -> str:
    """The parameter a usage error is about, as click names it ('--format' / '-f', ID)."""
    hint = getattr(e, "param_hint", None)
    if hint is None and getattr(e, "param", None) is not None:
        hint = e.param.get_error_hint()
    if hint is None:
        return ""
    return hint if isinstance(hint, str) else " / ".join(repr(x) for x in hint)


def usage_message_zh(e) -> str:
    """The Chinese text of a click usage error."""
    from typer._click import exceptions as ce

    if isinstance(e, ce.NoSuchOption):
        alts = "、".join(sorted(e.possibilities or []))
        return f"没有这个选项：{e.option_name}" + (f"（是否为 {alts}？）" if alts else "")
    if isinstance(e, ce.MissingParameter):
        hint = _hint(e)
        kind = e.param_type or (e.param.param_type_name if e.param is not None else "parameter")
        what = {"argument": "参数", "option": "选项"}.get(kind, "参数")
        return f"缺少{what} {hint}".rstrip() + (f"：{_value_zh(e.message)}" if e.message else "")
    if isinstance(e, ce.BadParameter):
        hint = _hint(e)
        return (f"{hint} 的值无效：" if hint else "值无效：") + _value_zh(e.message)
    msg = e.message
    m = _NO_COMMAND.match(msg)
    if m:
        return f"没有这个命令：{m.group(1)}" + (f"（是否为 {m.group(2)}？）" if m.group(2) else "")
    for rx, repl in _MESSAGE_ZH:
        if re.match(rx, msg):
            return re.sub(rx, repl, msg)
    return msg


def show_usage_error(e, lang: Lang) -> None:
    """Usage, error and help hint, like click's, in the user's language (stderr)."""
    ctx = getattr(e, "ctx", None)
    lines = []
    if ctx is not None:
        usage = ctx.get_usage()
        if lang is Lang.zh:
            usage = re.sub(r"^Usage:\s*", "用法：", usage).replace("[OPTIONS]", "[选项]").replace(
                "COMMAND [ARGS]...", "命令 [参数]...")
        lines.append(usage)
    msg = usage_message_zh(e) if lang is Lang.zh else e.format_message()
    lines.append(f"错误：{msg}" if lang is Lang.zh else f"Error: {msg}")
    if ctx is not None and ctx.command.get_help_option(ctx) is not None:
        lines.append(f"运行 {ctx.command_path} --help 查看帮助" if lang is Lang.zh
                     else f"Try '{ctx.command_path} --help' for help.")
    print("\n".join(lines), file=sys.stderr)


def argv_lang(argv: list[str]) -> Lang:
    """--lang from the command line wherever it stands (usage errors come before parsing)."""
    found = os.environ.get("SITEGRAPH_LANG")
    for i, a in enumerate(argv):
        if a == "--":
            break
        if a == "--lang" and i + 1 < len(argv):
            found = argv[i + 1]
        elif a.startswith("--lang="):
            found = a.split("=", 1)[1]
    return Lang.en if (found or "").strip().lower() == "en" else Lang.zh


def _chinese_help() -> None:
    """Chinese help has no spaces: rich's table cells cut a long run with "…". Folded text
    wraps at any character instead (typer builds help cells with _make_rich_text)."""
    try:
        from rich.text import Text
        from typer import rich_utils
    except ImportError:  # pragma: no cover - typer without rich
        return
    make = getattr(rich_utils, "_make_rich_text", None)
    if make is None or getattr(make, "_sitegraph", False):
        return

    def folded(*args, **kwargs):
        out = make(*args, **kwargs)
        if isinstance(out, Text):
            out.overflow = "fold"
        return out

    folded._sitegraph = True
    rich_utils._make_rich_text = folded
    try:  # the help option's own line, in Chinese first
        from typer._click import decorators

        plain = decorators.help_option

        def help_option(param_decls):
            deco = plain(param_decls)

            def apply(cmd):
                out = deco(cmd)
                if cmd.params and getattr(cmd.params[-1], "help", None) == "Show this message and exit.":
                    cmd.params[-1].help = "显示帮助 / show this help"
                return out
            return apply

        decorators.help_option = help_option
    except (ImportError, AttributeError):  # pragma: no cover - another typer
        pass
    if argv_lang(sys.argv[1:]) is Lang.zh:
        for name, zh in (("ARGUMENTS_PANEL_TITLE", "参数 Arguments"), ("OPTIONS_PANEL_TITLE", "选项 Options"),
                         ("COMMANDS_PANEL_TITLE", "命令 Commands")):
            if hasattr(rich_utils, name):
                setattr(rich_utils, name, zh)
        try:  # the help's usage line in Chinese too, as in usage errors ("用法：sitegraph [选项] 命令")
            from typer._click.formatting import HelpFormatter

            plain_usage = HelpFormatter.write_usage

            def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
                args = args.replace("[OPTIONS]", "[选项]").replace("COMMAND [ARGS]", "命令 [参数]")
                plain_usage(self, prog, args, "用法：" if prefix is None else prefix)

            HelpFormatter.write_usage = write_usage
        except (ImportError, AttributeError):  # pragma: no cover - another typer
            pass


def _is_fs_error(e: OSError) -> bool:
    import errno

    return e.filename is not None or e.errno in (
        errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, getattr(errno, "EDQUOT", -1),
        errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENAMETOOLONG)


def main() -> None:
    argv = sys.argv[1:]
    debug = "--debug" in argv or os.environ.get("SITEGRAPH_DEBUG") == "1"
    lang = set_lang(argv_lang(argv))
    _chinese_help()
    prefix = "错误 / error: " if lang is Lang.zh else "error: "
    try:
        # Not standalone, typer *returns* the code of an Exit instead of exiting — and it
        # turns Ctrl-C into Exit(130): without this, an interrupted load exited 0, silently.
        code = app(args=argv, prog_name="sitegraph", standalone_mode=False)
        if isinstance(code, int) and not isinstance(code, bool) and code != 0:
            if code == 130:
                print(t("已中断", "interrupted"), file=sys.stderr)
            sys.exit(code)
    except SitegraphError as e:
        if debug:
            raise
        print(f"{prefix}{in_lang(str(e))}", file=sys.stderr)  # --lang en: the English of "中文 / English"
        if isinstance(e, FileSystemError):  # a write cut short (a zip) fails again at exit: said once is enough
            sys.unraisablehook = lambda _: None
        sys.exit(1)
    except KeyboardInterrupt:
        print(t("已中断", "interrupted"), file=sys.stderr)
        sys.exit(130)
    except SystemExit:
        raise
    except BrokenPipeError:  # `sitegraph … | head`: the reader left; nothing to say
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        sys.exit(1)
    except OSError as e:  # the safety net: commands check their paths first (common.check_writable)
        if debug or not _is_fs_error(e):
            if debug:
                raise
            print(f"{t('内部错误', 'internal error')}: {type(e).__name__}: {e}"
                  f"{t('（加 --debug 查看详情）', ' (add --debug for details)')}", file=sys.stderr)
            sys.exit(1)
        print(f"{prefix}{fs_error(e, verb=('访问', 'use'))}", file=sys.stderr)  # read or write: not known here
        sys.unraisablehook = lambda _: None  # half-closed files (a zip) fail again at exit: said once is enough
        sys.exit(1)
    except Exception as e:  # click usage errors (typer vendors click) and unexpected ones
        if hasattr(e, "show") and hasattr(e, "exit_code"):
            if type(e).__name__ == "NoArgsIsHelpError":
                e.show()
            else:
                show_usage_error(e, lang)
            sys.exit(e.exit_code)
        if type(e).__name__ == "Abort":
            sys.exit(1)
        if debug:
            raise
        print(f"{t('内部错误', 'internal error')}: {type(e).__name__}: {e}"
              f"{t('（加 --debug 查看详情）', ' (add --debug for details)')}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
