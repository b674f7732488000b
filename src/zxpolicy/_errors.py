"""Errors raised by zxpolicy.

Only loading a policy raises; a decision never does (``Engine.check`` returns a deny instead)::

    ZxpolicyError
    └── PolicyError          a policy directory that does not load; ``.problems`` lists each one
                             with its file, line, column and field

Messages are lowercase; values from the user's files stand in backticks.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PolicyError", "PolicyProblem", "ZxpolicyError"]


class ZxpolicyError(Exception):
    """The base of every error zxpolicy raises."""


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    """One thing wrong with a policy: where it is and what was expected."""

    file: str
    line: int  # 1-based; 0 when the problem is not in one place of a file
    column: int  # 1-based; 0 likewise
    field: str  # dotted path, e.g. ``approvals[0].steps[1].roles[0]``
    message: str

    def __str__(self) -> str:
        where = self.file if not self.line else f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class PolicyError(ZxpolicyError):
    """A policy that does not load. Nothing of it is used: a policy loads whole or not at all."""

    def __init__(self, problems: list[PolicyProblem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        head = f"policy does not load: {count} problem{'s' if count != 1 else ''}"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))
