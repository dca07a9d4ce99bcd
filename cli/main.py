"""The `sitegraph` command: thin typer commands over the library.

Exit status: 0 done, 1 a data or user error (clear message on stderr), 2 a usage error.
No traceback unless --debug.
"""
from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated

import typer

from graphmodel.errors import SitegraphError

app = typer.Typer(
    name="sitegraph",
    help="一厂多租安全责任图谱 sitegraph：导入排查台账、运行预置查询、打印检查简报。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command modules; each has register(app). Listed here so one place shows the CLI.
_MODULES = ("db_cmds", "survey_cmds", "query_cmds", "brief_cmds")


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="出错时显示调用栈 / show tracebacks")] = False) -> None:
    if debug:
        os.environ["SITEGRAPH_DEBUG"] = "1"


for _name in _MODULES:
    try:
        _mod = importlib.import_module(f"cli.{_name}")
    except ModuleNotFoundError as e:  # a module not written yet
        if e.name != f"cli.{_name}":
            raise
        continue
    _mod.register(app)


def main() -> None:
    debug = "--debug" in sys.argv or os.environ.get("SITEGRAPH_DEBUG") == "1"
    try:
        # Not standalone, typer *returns* the code of an Exit instead of exiting — and it
        # turns Ctrl-C into Exit(130): without this, an interrupted load exited 0, silently.
        code = app(standalone_mode=False)
        if isinstance(code, int) and not isinstance(code, bool) and code != 0:
            if code == 130:
                print("已中断 / interrupted", file=sys.stderr)
            sys.exit(code)
    except SitegraphError as e:
        if debug:
            raise
        print(f"错误 / error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("已中断 / interrupted", file=sys.stderr)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as e:  # click usage errors (typer vendors click) and unexpected ones
        if hasattr(e, "show") and hasattr(e, "exit_code"):
            e.show()
            sys.exit(e.exit_code)
        if type(e).__name__ == "Abort":
            sys.exit(1)
        if debug:
            raise
        print(f"内部错误 / internal error: {type(e).__name__}: {e}（加 --debug 查看详情）", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
