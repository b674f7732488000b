"""Every error zxpolicy raises, in one tree.

A decision never raises (``Engine.check`` returns a deny instead); loading, comparing and testing
policies do::

    ZxpolicyError                 the base of every error zxpolicy raises
    ├── PolicyError               a policy directory that does not load; ``.problems`` lists each
    │                             ``PolicyProblem`` with its code, file, line, column and path
    ├── SuiteError                test-suite files that do not load; ``.problems`` likewise
    ├── DiffError                 two policies that cannot be compared exactly
    │   └── SpaceTooLarge         more request classes than the limit (``.size``, ``.limit``)
    └── RevisionError             a ``REV:PATH`` that git cannot give

``PolicyProblem`` has the diagnostic shape of ``zxpolicy._diagnostic``. Messages are lowercase;
values from the user's files stand in backticks.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DiffError",
    "PolicyError",
    "PolicyProblem",
    "RevisionError",
    "SpaceTooLarge",
    "SuiteError",
    "ZxpolicyError",
]


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


class _ProblemsError(ZxpolicyError):
    """An error that lists problems, each with its place."""

    what = ""

    def __init__(self, problems: list[PolicyProblem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        head = f"{self.what} does not load: {count} problem{'s' if count != 1 else ''}"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))


class PolicyError(_ProblemsError):
    """A policy that does not load. Nothing of it is used: a policy loads whole or not at all."""

    what = "policy"


class SuiteError(_ProblemsError):
    """Suite files that do not load; ``.problems`` gives each one's file, line, column and path."""

    what = "test suite"


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
