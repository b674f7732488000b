"""Who is calling: bearer tokens from a tokens file, or a client certificate's subject.

The tokens file (YAML or JSON) names each token's owner, its scopes and the SHA-256 of the token,
never the token itself::

    tokens:
      - name: loan-system                # goes into every decision log record as the caller
        scopes: [check]                  # check, explain, admin
        sha256: 9f86d081884c7d65...      # sha256 of the token, hex (zxpolicy token NAME prints it)

A token is looked up by comparing the SHA-256 of what the caller sent with every entry's, in
constant time (``hmac.compare_digest``). Tokens are 256 random bits, so a plain hash stores them
safely: there is nothing to guess that a slow hash would protect.

With a client CA (mutual TLS) and no tokens file, a client certificate's subject CN names the
caller, with the scopes ``check`` and ``explain``: admin needs a token. With both, the token
decides and the certificate is required as well. With neither, every caller is ``anonymous``
with every scope (allowed only on a loopback address, or with ``--insecure``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from .._errors import ServeError

__all__ = ["ANONYMOUS", "CERT_SCOPES", "SCOPES", "Caller", "Tokens", "bearer", "hash_token", "load_tokens", "new_token", "subject_cn"]

SCOPES = ("check", "explain", "admin")
Scope = Literal["check", "explain", "admin"]
_MAX_FILE = 1 << 20
_TOKEN_PREFIX = "zxp_"


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller: its name (into the log) and what it may do."""

    name: str
    scopes: frozenset[str]


ANONYMOUS = Caller("anonymous", frozenset(SCOPES))
CERT_SCOPES = frozenset({"check", "explain"})


class _Entry(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$")]
    scopes: list[Scope] = Field(min_length=1)
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class _File(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    tokens: list[_Entry]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> str:
    """A new token: 256 random bits, URL-safe text."""
    return _TOKEN_PREFIX + secrets.token_urlsafe(32)


class Tokens:
    """The tokens of a tokens file."""

    def __init__(self, entries: list[tuple[str, frozenset[str], bytes]]) -> None:
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    def find(self, token: str) -> Caller | None:
        """The caller a token belongs to, or None. Every entry is compared, whichever matches."""
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        found: Caller | None = None
        for name, scopes, expected in self._entries:
            if hmac.compare_digest(digest, expected):
                found = Caller(name, scopes)
        return found


def load_tokens(path: str | Path) -> Tokens:
    """The tokens file at ``path``; ``ServeError`` (``tokens_unreadable``, ``tokens_invalid``)
    naming the file and what is wrong."""
    where = str(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(_MAX_FILE + 1)
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise ServeError("tokens_unreadable", f"无法读取令牌文件`{where}`：{why}", f"cannot read the tokens file `{where}`: {why}") from None
    if len(raw) > _MAX_FILE:
        raise ServeError("tokens_invalid", f"令牌文件`{where}`超过 1 MiB", f"the tokens file `{where}` is larger than 1 MiB")
    data = _parse(raw, where)
    try:
        parsed = _File.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        at = ".".join(str(p) for p in first["loc"]) or "tokens"
        raise ServeError(
            "tokens_invalid", f"令牌文件`{where}`：`{at}`：{first['msg']}", f"the tokens file `{where}`: `{at}`: {first['msg']}"
        ) from None
    names: set[str] = set()
    hashes: set[str] = set()
    entries = []
    for e in parsed.tokens:
        if e.name in names or e.sha256 in hashes:
            what = e.name if e.name in names else e.sha256[:12] + "…"
            raise ServeError("tokens_invalid", f"令牌文件`{where}`：`{what}`重复", f"the tokens file `{where}`: `{what}` is listed twice")
        names.add(e.name)
        hashes.add(e.sha256)
        entries.append((e.name, frozenset[str](e.scopes), bytes.fromhex(e.sha256)))
    return Tokens(entries)


def _parse(raw: bytes, where: str) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ServeError("tokens_invalid", f"令牌文件`{where}`不是 UTF-8", f"the tokens file `{where}` is not UTF-8") from None
    try:
        if text.lstrip().startswith("{"):
            return orjson.loads(raw)
        return yaml.safe_load(text)
    except (yaml.YAMLError, orjson.JSONDecodeError) as exc:
        said = " ".join(str(exc).split())[:200]
        raise ServeError("tokens_invalid", f"令牌文件`{where}`无法解析：{said}", f"the tokens file `{where}` does not parse: {said}") from None


_BEARER = re.compile(rb"^[Bb]earer +([\x21-\x7e]{1,512}) *$")


def bearer(value: bytes) -> str | None:
    """The token of an ``Authorization: Bearer …`` header value, or None."""
    m = _BEARER.match(value)
    return m.group(1).decode("ascii") if m else None


def subject_cn(subject: Any) -> str | None:
    """The CN of a certificate's subject as ``ssl.SSLSocket.getpeercert()`` gives it (a tuple
    of relative distinguished names, each a tuple of (name, value) pairs), or None."""
    try:
        for rdn in subject:
            for name, value in rdn:
                if name == "commonName" and isinstance(value, str) and value:
                    return value
    except (TypeError, ValueError):
        return None
    return None
