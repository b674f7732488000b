"""Bounds on what a caller may send: the body's size, JSON's nesting and numbers, a batch's length.

A body is read up to ``MAX_BODY`` bytes and refused past it (413) before it is parsed; orjson
parses it (a number outside a double's range, ``NaN`` and invalid UTF-8 are not JSON to it; an
integer past 64 bits is read as a double); nesting is bounded at ``MAX_DEPTH``, well above the
deepest request the schema has. The schema has no numbers: any is a type error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

__all__ = ["MAX_BODY", "MAX_DEPTH", "MAX_QUERY", "BodyTooLarge", "Malformed", "parse_json", "read_body"]

MAX_BODY = 1 << 20  # 1 MiB: a batch of 1,000 requests of a few hundred bytes each fits
MAX_DEPTH = 32  # the schema's deepest value is 5 levels down (approvals[i].approver.roles[j])
MAX_QUERY = 4096  # bytes of a query string


class BodyTooLarge(ValueError):
    """A body over the limit: refused without being read further."""


class Malformed(ValueError):
    """A body that is not JSON, or nested too deep: ``str()`` says why in English, ``.zh`` in
    Chinese."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.zh = zh


Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


async def read_body(scope: MutableMapping[str, Any], receive: Receive, limit: int = MAX_BODY) -> bytes:
    """The request's body, at most ``limit`` bytes, else ``BodyTooLarge`` (a Content-Length
    over the limit is refused before anything is read)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                if int(value) > limit:
                    raise BodyTooLarge()
            except ValueError:
                pass  # the server has refused a malformed Content-Length already
            break
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            break
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge()
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def parse_json(body: bytes) -> Any:
    """``body`` parsed, or ``Malformed``."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Malformed(f"not JSON: {str(exc)[:200]}", "不是有效的 JSON") from None
    # Fewer brackets than the limit cannot nest deeper than it: the walk is for large bodies only.
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH and _depth(value) > MAX_DEPTH:
        raise Malformed(f"nested deeper than {MAX_DEPTH} levels", f"嵌套超过 {MAX_DEPTH} 层")
    return value


def _depth(value: Any) -> int:
    """How deep arrays and objects nest in ``value``, without recursion; stops past the limit."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > deepest:
            deepest = depth
            if deepest > MAX_DEPTH:
                return deepest
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return deepest
