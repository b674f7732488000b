"""``zxpolicy check --batch``: many requests from a file or standard input, one decision each.

The input is JSON lines — one request object a line, blank lines skipped — or, when its first
non-blank character is ``[``, one JSON array of request objects. Each request is exactly the JSON
``zxpolicy check`` reads for one request. It is read as it comes: a line is decided, and its
decision written, before the next is read, so a program may feed requests one at a time.

Bounded: a line as large as a request file may be (``MAX_JSON_BYTES``), an array at most
``MAX_ARRAY_BYTES``, at most ``MAX_BATCH_ITEMS`` requests.

What ``check`` refuses as a usage error for one request — a line that is not JSON (or not UTF-8,
or nested too deep, or too long), JSON that is not an object, a key that is not a field — is, in a
batch, an error line in its place: ``{"allowed": false, "error": {code, message, message_en,
line}}`` (``item`` for an array). Whatever ``check`` decides, a deny for a field it cannot read
included, is the decision, as ``check --json`` gives it. One bad line never ends the batch; only
what makes the whole input unreadable does (``BatchRefused``: the command exits 2).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from ._common import MAX_JSON_BYTES, MAX_JSON_DEPTH, JsonRefused, one_line, parse_json
from ._request_input import shape_problem

__all__ = ["MAX_ARRAY_BYTES", "MAX_BATCH_ITEMS", "BatchProblem", "BatchRefused", "TextAsBytes", "batch_items", "json_line"]

MAX_BATCH_ITEMS = 1_000_000  # requests in one batch
MAX_ARRAY_BYTES = 64_000_000  # a JSON array is parsed whole: this bounds the memory it takes
_SKIP_CHUNK = 1 << 16  # the rest of a line too long to read is skipped this much at a time


class BatchRefused(ValueError):
    """The batch as a whole cannot be read (an array that does not parse, too many requests, a
    read that fails); ``str()`` says why in English, ``.zh`` in Chinese."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.zh = zh


@dataclass(frozen=True)
class BatchProblem:
    """A line (or array item) that is not a request, in the diagnostic shape; ``where`` is
    ``line`` or ``item``, ``number`` counts from 1."""

    code: str  # not_json, not_utf8, line_too_long, not_an_object, unknown_field
    message: str
    message_en: str
    where: str
    number: int

    def to_dict(self) -> dict[str, Any]:
        # `allowed: false` first: a reader that looks only at `allowed` denies.
        return {
            "allowed": False,
            "error": {"code": self.code, "message": self.message, "message_en": self.message_en, self.where: self.number},
        }


class _Lines(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...

    def read(self, size: int = -1, /) -> bytes: ...


Item = tuple[int, dict[str, Any]] | BatchProblem


class TextAsBytes:
    """A text-only standard input (an embedding program's), read as the bytes it stands for."""

    def __init__(self, text: Any) -> None:
        self._text = text

    def readline(self, size: int = -1, /) -> bytes:
        return str(self._text.readline(size)).encode("utf-8", "surrogateescape")

    def read(self, size: int = -1, /) -> bytes:
        return str(self._text.read(size)).encode("utf-8", "surrogateescape")

    def close(self) -> None:
        pass


def batch_items(stream: BinaryIO | _Lines) -> Iterator[Item]:
    """The requests of ``stream`` in order: ``(line or item number, request object)``, or a
    ``BatchProblem`` in the place of one that is not a request. Raises ``BatchRefused`` when the
    input as a whole cannot be read (after the items before it, for JSON lines)."""
    number = count = 0
    while True:
        raw = _read(stream.readline, MAX_JSON_BYTES + 2)  # the longest line read, and its "\r\n"
        if not raw:
            return
        number += 1
        if count == 0 and raw.lstrip()[:1] == b"[":
            yield from _array(raw, stream)
            return
        content = raw.rstrip(b"\r\n")
        too_long = len(content) > MAX_JSON_BYTES
        if too_long:
            while not raw.endswith(b"\n"):  # skip the rest of the line, never holding it
                raw = _read(stream.readline, _SKIP_CHUNK)
                if not raw:
                    break
        elif not content.strip():
            continue
        count += 1
        if count > MAX_BATCH_ITEMS:
            raise BatchRefused(f"more than {MAX_BATCH_ITEMS:,} requests; the rest were not read",
                               f"请求超过 {MAX_BATCH_ITEMS:,} 条，其余未读取")
        if too_long:
            yield BatchProblem("line_too_long", f"第 {number} 行超过 {MAX_JSON_BYTES:,} 字节，未读取",
                               f"line {number} is longer than {MAX_JSON_BYTES:,} bytes, not read", "line", number)
            continue
        yield _request(content, "line", number)


def _read(read: Any, size: int) -> bytes:
    try:
        data: bytes = read(size)
        return data
    except OSError as exc:
        what = (exc.strerror or type(exc).__name__).lower()
        raise BatchRefused(f"cannot be read: {what}", f"无法读取：{what}") from None


def _request(content: bytes, where: str, number: int) -> Item:
    """One line's bytes as a request object, or the problem with them."""
    at_zh, at_en = (f"第 {number} 行", f"line {number}") if where == "line" else (f"第 {number} 项", f"item {number}")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        return BatchProblem("not_utf8", f"{at_zh}不是 UTF-8 编码（第 {exc.start + 1} 个字节）",
                            f"{at_en} is not UTF-8 (byte {exc.start + 1})", where, number)
    try:
        body = parse_json(text)
    except JsonRefused as exc:
        return BatchProblem("not_json", f"{at_zh}：{exc.zh}", f"{at_en}: {exc}", where, number)
    except ValueError as exc:  # not JSON: Python's words, in English
        said = one_line(str(exc), 200)
        return BatchProblem("not_json", f"{at_zh}不是 JSON：{said}", f"{at_en} is not JSON: {said}", where, number)
    return _shaped(body, where, number, at_zh, at_en)


def _shaped(body: Any, where: str, number: int, at_zh: str, at_en: str) -> Item:
    problem = shape_problem(body)
    if problem is not None:
        code, en, zh = problem
        return BatchProblem(code, f"{at_zh}：{zh}", f"{at_en}: {en}", where, number)
    return number, body


def _array(first: bytes, stream: BinaryIO | _Lines) -> Iterator[Item]:
    """A batch given as one JSON array: read whole (bounded), then item by item."""
    data = first + _read(stream.read, MAX_ARRAY_BYTES + 1 - len(first))  # `first` is one line: far below the bound
    if len(data) > MAX_ARRAY_BYTES:
        raise BatchRefused(f"a JSON array larger than {MAX_ARRAY_BYTES:,} bytes, refused (give JSON lines instead)",
                           f"JSON 数组超过 {MAX_ARRAY_BYTES:,} 字节，拒绝读取（请改用每行一个请求）")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BatchRefused(f"the JSON array is not UTF-8 (byte {exc.start + 1})",
                           f"JSON 数组不是 UTF-8 编码（第 {exc.start + 1} 个字节）") from None
    try:
        items = parse_json(text, max_bytes=MAX_ARRAY_BYTES, max_depth=MAX_JSON_DEPTH + 1)  # +1: the array
    except JsonRefused as exc:
        raise BatchRefused(f"the JSON array: {exc}", f"JSON 数组：{exc.zh}") from None
    except ValueError as exc:
        said = one_line(str(exc), 200)
        raise BatchRefused(f"the JSON array does not parse: {said}", f"JSON 数组无法解析：{said}") from None
    if not isinstance(items, list):  # `[` then something else: cannot be, kept as a guard
        raise BatchRefused("expected a JSON array", "应为 JSON 数组")
    if len(items) > MAX_BATCH_ITEMS:
        raise BatchRefused(f"more than {MAX_BATCH_ITEMS:,} requests ({len(items):,})",
                           f"请求超过 {MAX_BATCH_ITEMS:,} 条（{len(items):,} 条）")
    for i, body in enumerate(items, 1):
        yield _shaped(body, "item", i, f"第 {i} 项", f"item {i}")


def json_line(data: dict[str, Any]) -> str:
    """One output line: compact JSON, non-ASCII as it is (as ``check --json`` prints it)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
