"""Every error zxpolicy raises, in one tree.

A decision never raises (``Engine.check`` returns a deny instead); loading, comparing and testing
policies do::

    ZxpolicyError                 the base of every error zxpolicy raises
    ├── PolicyError               a policy directory that does not load; ``.problems`` lists each
    │                             ``PolicyProblem``: code, message (Chinese), message_en, and
    │                             its file, line, column and path
    ├── SuiteError                test-suite files that do not load; ``.problems`` likewise
    ├── DiffError                 two policies that cannot be compared exactly
    │   └── SpaceTooLarge         more request classes than the limit (``.size``, ``.limit``)
    ├── RevisionError             a ``REV:PATH`` that git cannot give
    ├── LogError                  a decision log that cannot be opened or written (its path or
    │                             URL named); a check turns it into a deny where it must
    ├── StoreError                a policy store that cannot be reached, read or written, or that
    │                             refuses a change (a gate failed, the proposer approving their
    │                             own change, a broken history chain); ``watch`` with no store
    │                             and no cache to start from
    ├── ServeError                the decision service cannot start as configured: a tokens file
    │                             that does not read, TLS files that do not load, a listener
    │                             open to the network without authentication
    └── ConsoleError              the compliance console refuses: its tables cannot be reached,
                                  a password too short, a day signed off twice or before every
                                  flagged line has an outcome, an empty store to start from

``LogError``, ``StoreError``, ``ServeError`` and ``ConsoleError`` carry ``code``, ``message``
(Chinese) and ``message_en``.

``PolicyProblem`` has the diagnostic shape of ``zxpolicy._diagnostic``: a stable snake_case
``code`` (every code is listed in ``zxpolicy.policy.POLICY_PROBLEM_CODES``), the message in
Chinese and in English, and where it is. Messages are lowercase in English; values from the
user's files stand in backticks. People read ``problem.text(lang)`` (``zxpolicy validate``);
``str(problem)`` and the text of the error are in English with the code, for tracebacks and logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._diagnostic import localized, where

__all__ = [
    "ConsoleError",
    "DiffError",
    "LogError",
    "PolicyError",
    "PolicyProblem",
    "RevisionError",
    "ServeError",
    "SpaceTooLarge",
    "StoreError",
    "SuiteError",
    "ZxpolicyError",
]


class ZxpolicyError(Exception):
    """The base of every error zxpolicy raises."""


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    """One thing wrong with a policy (or a suite file): what it is and where.

    ``code`` is stable (``zxpolicy.policy.POLICY_PROBLEM_CODES``); ``message`` is in Chinese,
    ``message_en`` in English. ``line`` and ``column`` are 1-based, 0 when the problem is not at
    one place of the file; ``path`` is the dotted path into the document
    (``approvals[0].steps[1].roles[0]``), empty when the problem is the whole file.
    """

    code: str
    message: str
    message_en: str
    file: str = ""
    line: int = 0
    column: int = 0
    path: str = ""

    def text(self, lang: str = "zh") -> str:
        """``file:line:col: path: message`` in ``lang`` (Chinese by default), for people."""
        return self._line(localized(self, lang))

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "message_en": self.message_en,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
        }

    def __str__(self) -> str:
        """``file:line:col: path: [code] message_en``, for tracebacks and logs."""
        return self._line(f"[{self.code}] {self.message_en}")

    def _line(self, message: str) -> str:
        return ": ".join(part for part in (where(self.file, self.line, self.column), self.path, message) if part)


class _ProblemsError(ZxpolicyError):
    """An error that lists problems, each with its place. ``str()`` is in English with each
    problem's code (for tracebacks); ``text(lang)`` is for people."""

    what = ""
    what_zh = ""

    def __init__(self, problems: list[PolicyProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join([self.head("en"), *(f"  {p}" for p in self.problems)]))

    def head(self, lang: str = "zh") -> str:
        """``policy does not load: N problems``, in ``lang``."""
        count = len(self.problems)
        if lang == "en":
            return f"{self.what} does not load: {count} problem{'s' if count != 1 else ''}"
        return f"{self.what_zh}无法加载：{count} 个问题"

    def text(self, lang: str = "zh") -> str:
        """The head line, then each problem's ``text(lang)`` on its own indented line."""
        return "\n".join([self.head(lang), *(f"  {p.text(lang)}" for p in self.problems)])


class PolicyError(_ProblemsError):
    """A policy that does not load; ``.problems`` lists each ``PolicyProblem``. Nothing of it is
    used: a policy loads whole or not at all."""

    what = "policy"
    what_zh = "策略"


class SuiteError(_ProblemsError):
    """Suite files that do not load; ``.problems`` lists each ``PolicyProblem`` with its file,
    line, column and path."""

    what = "test suite"
    what_zh = "测试套件"


class DiffError(ZxpolicyError):
    """The two policies cannot be compared exactly."""


class SpaceTooLarge(DiffError):
    """The decision space has more request classes than the limit: too large to enumerate."""

    def __init__(self, size: int, limit: int) -> None:
        self.size, self.limit = size, limit
        super().__init__(
            f"the decision space has at least {size:,} request classes, more than the limit of {limit:,}: "
            "too large to enumerate exactly (raise --max-classes to try anyway)"
        )


class RevisionError(ZxpolicyError):
    """A ``REV:PATH`` that git cannot give."""


class _CodedError(ZxpolicyError):
    """An error in the diagnostic shape: ``code``, ``message`` (Chinese) and ``message_en``
    (also its ``str``)."""

    def __init__(self, code: str, message: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code = code
        self.message = message
        self.message_en = message_en

    def text(self, lang: str = "zh") -> str:
        return self.message_en if lang == "en" else self.message


class LogError(_CodedError):
    """A decision log that cannot be opened, read or written; each message names the log."""


class StoreError(_CodedError):
    """A policy store that cannot be reached, read or written, or that refuses a change; each
    message names the store (its URL without a password)."""


class ServeError(_CodedError):
    """``zxpolicy serve`` cannot start as configured; each message names the file or flag."""


class ConsoleError(_CodedError):
    """The compliance console refuses, or cannot use its database; each message says what to do."""
