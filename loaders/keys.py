"""Keys derived from a row's content, for a sheet handed in without its key column.

An office's 隐患排查治理台账 often has no 隐患编号: each hazard is "this party, this day, this
description". graphmodel.schema declares beside such a sheet which columns identify a row
(`NodeType.key_from`) and a readable prefix (`key_prefix`); the key is

    <prefix>-<yyyymmdd of the first date among them, if any>-<12 hex of SHA-256>

over the row's *typed* values (after parsing, and after party names were resolved to
their keys), so the same row gets the same key on every load however its cells are
spelled (`2024/11/12` or a date cell, a party by name or by code, spaces, full width).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from graphmodel.schema import NodeType

from .messages import Problem
from .values import display, header_key

HASH_CHARS = 12  # 48 bits: two of 1,000 rows of one day collide with odds of about 1 in 500 million


def _canon(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return "、".join(_canon(x) for x in v)
    return header_key(display(v))  # white space and full width folded, case lowered


def derive_key(nt: NodeType, values: dict[str, Any]) -> str | None:
    """The derived key of a row of `nt` (None when a required part of it is blank)."""
    parts = []
    for k in nt.key_from:
        v = values.get(k)
        if v is None and nt.column(k).required:
            return None
        parts.append(_canon(v))
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:HASH_CHARS].upper()
    day = next((values[k] for k in nt.key_from if isinstance(values.get(k), dt.date)), None)
    return f"{nt.key_prefix}-{day:%Y%m%d}-{digest}" if day else f"{nt.key_prefix}-{digest}"


def derives_key(nt: NodeType, columns: dict[str, int]) -> bool:
    """Does a sheet with these columns get derived keys (no key column; the type allows it)?"""
    return bool(nt.key_from) and nt.key not in columns


def how_zh(nt: NodeType) -> str:
    return " + ".join(nt.column(k).header for k in nt.key_from)


def how_en(nt: NodeType) -> str:
    return " + ".join(nt.column(k).key for k in nt.key_from)


PENDING = "\x00pending"  # stands for the key while a row is checked; replaced by derive_keys


def _content(e) -> tuple:
    """What a row says (every column but the key), to tell a repeated row from another record."""
    nt = e.sheet.nt
    return tuple(repr(e.values.get(c.key)) for c in nt.columns if c.key != nt.key)


def derive_keys(entries: dict, problems: list[Problem]) -> None:
    """Give every row of a sheet without its key column its derived key (in place), with one
    KEY_DERIVED warning per sheet. Rows whose key columns repeat an earlier row's but that say
    something else (the same description found twice that day, in two buildings) are numbered
    in the order of the rows: `…-2`, `…-3`. A row identical to an earlier one in every column is
    an error (KEY_DERIVED_DUPLICATE): entered twice, most likely."""
    for label, es in entries.items():
        if not es or not derives_key(es[0].sheet.nt, es[0].sheet.columns):  # one sheet per type (readers.py)
            continue
        by_sheet: dict[int, list] = {}
        for e in es:
            if derives_key(e.sheet.nt, e.sheet.columns):
                by_sheet.setdefault(id(e.sheet), []).append(e)
        for rows in by_sheet.values():
            sh = rows[0].sheet
            nt = sh.nt
            seen: dict[str, list] = {}  # base key -> the rows that have it
            example = None
            numbered = 0
            for e in rows:
                k = derive_key(nt, e.values)
                if k is not None and k in seen:
                    same = next((o for o in seen[k] if _content(o) == _content(e)), None)
                    if same is not None:
                        problems.append(Problem(
                            "KEY_DERIVED_DUPLICATE", sh.file, sh.sheet, e.row, column=nt.key,
                            header=nt.key_column.header, value=k, label=nt.label,
                            params={"first_row": same.row, "key_zh": nt.key_column.header, "key_en": nt.key},
                        ))
                        e.values[nt.key] = e.raw[nt.key] = None  # reported here, not again as DUPLICATE_KEY
                        continue
                    seen[k].append(e)
                    numbered += 1
                    k = f"{k}-{len(seen[k])}"
                elif k is not None:
                    seen[k] = [e]
                    example = example or k
                e.values[nt.key] = e.raw[nt.key] = k
            problems.append(Problem(
                "KEY_DERIVED", sh.file, sh.sheet, sh.header_row, column=nt.key, header=nt.key_column.header,
                label=nt.label, value=example or "",
                params={"key_zh": nt.key_column.header, "key_en": nt.key, "how_zh": how_zh(nt),
                        "how_en": how_en(nt), "example": example or "", "numbered": numbered,
                        **({"variant": "KEY_DERIVED_NUMBERED"} if numbered else {})},
            ))
