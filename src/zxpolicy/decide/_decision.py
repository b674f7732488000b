"""What a check returns: a decision and the reasons for it (``Reason`` is the shared diagnostic
shape, in ``zxpolicy._diagnostic``), and what ``explain`` returns: the stages passed through.

Every decision has an id, ``decision_id``: a UUIDv7 (RFC 9562), time-ordered to the millisecond,
which is also the id of its record in the decision log. ``check`` takes a few microseconds, so the
id costs almost nothing when the decision is made: only the clock and a counter are taken
(``_stamp``), and the text is made from them when it is first asked for, and kept (the log's
record and the answer to the host both ask for it).
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from time import time_ns
from typing import Any

from .._diagnostic import Reason

__all__ = ["Decision", "Explanation", "Reason", "Stage", "decision_id_of"]

# The 74 bits of a UUIDv7 after its timestamp and version: a counter of this process in the low
# 30 bits (ids made in one millisecond still sort in the order they were made), and 44 bits drawn
# at random for the process above it (ids made on other processes and hosts in the same
# millisecond differ). The counter starts again, with new random bits, in a forked child.
_COUNTER_BITS = 30
_COUNTER_MASK = (1 << _COUNTER_BITS) - 1
_PROCESS_BITS = 44
_PROCESS_MASK = (1 << _PROCESS_BITS) - 1
_counter: Any = None


def _new_process() -> None:
    global _counter
    process = int.from_bytes(os.urandom(6), "big") & ((1 << _PROCESS_BITS) - 1)
    _counter = itertools.count(process << _COUNTER_BITS)


_new_process()
os.register_at_fork(after_in_child=_new_process)


def _stamp() -> tuple[int, int]:
    """The time (ns since the epoch) and this process's count: what a decision id is made of."""
    return time_ns(), next(_counter)


# The text of the millisecond and of the process's bits, as last made: decisions made in one
# millisecond, and every decision of one process, share them. Each is one tuple, read and
# replaced whole, so threads that race over it only make the same text twice.
_last_ms: tuple[int, str] = (-1, "")
_last_process: tuple[int, str] = (-1, "")


def decision_id_of(stamp: tuple[int, int]) -> str:
    """The UUIDv7 text of a ``_stamp``: 48 bits of Unix milliseconds, version 7, then the
    counter's high 12 bits, the variant (``10``), its low 18 bits and the process's 44 bits.

    Made as ``MMMMMMMM-MMMM-7ccc-vccc-cPPPPPPPPPPP``: the millisecond's and the process's parts
    kept from the last id made, the counter's formatted; the same text as the 128-bit integer
    formatted and cut, for less."""
    global _last_ms, _last_process
    ns, n = stamp
    ms = ns // 1_000_000
    last = _last_ms
    if last[0] == ms:
        head = last[1]
    else:
        ms48 = ms & 0xFFFFFFFFFFFF
        head = "%08x-%04x-7" % (ms48 >> 16, ms48 & 0xFFFF)
        _last_ms = (ms, head)
    process = n >> _COUNTER_BITS
    kept = _last_process
    if kept[0] == process:
        tail = kept[1]
    else:
        tail = "%011x" % (process & _PROCESS_MASK)
        _last_process = (process, tail)
    count = n & _COUNTER_MASK
    low = count & 0x3FFFF
    return "%s%03x-%04x-%x%s" % (head, count >> 18, 0x8000 | low >> 4, low & 0xF, tail)


@dataclass(frozen=True, slots=True)
class Decision:
    """Allow or deny, never without reasons.

    On deny, ``reasons`` lists every rule that failed; on allow, the rules that granted it.
    ``missing_approvals`` lists the steps still lacking, in chain order, each a tuple of role ids
    any one of which fills it.
    """

    allowed: bool
    reasons: tuple[Reason, ...]
    missing_approvals: tuple[tuple[str, ...], ...] = ()
    obligations: tuple[str, ...] = ()
    policy_version: str = ""
    # not compared: the same request decided twice is the same decision, under two ids
    _stamp: tuple[int, int] = field(default_factory=_stamp, init=False, compare=False, repr=False)
    # the id's text once asked for ("" until then); see ``decision_id``
    _id: str = field(default="", init=False, compare=False, repr=False)

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def decision_id(self) -> str:
        """This decision's id (a UUIDv7 text), also the id of its record in the decision log."""
        text = self._id
        if not text:
            # Made from the stamp, which never changes once the decision is returned: threads
            # that ask at once each make the same text, and whichever is kept is it.
            text = decision_id_of(self._stamp)
            _set_id(self, text)
        return text

    @property
    def codes(self) -> tuple[str, ...]:
        """The reason codes, in order (a convenience for hosts and tests)."""
        return tuple(r.code for r in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        """The decision as JSON's types (what ``check --json`` prints and a service answers):
        a new dict each time, the caller's to change. Built in one expression, each reason's
        dict inline: this is on the way out of every request a service answers."""
        return {
            "decision_id": self._id or self.decision_id,
            "allowed": self.allowed,
            "reasons": [
                {"code": r.code, "rule": r.rule, "clause": r.clause, "message": r.message, "message_en": r.message_en}
                for r in self.reasons
            ],
            "missing_approvals": [list(step) for step in self.missing_approvals],
            "obligations": list(self.obligations),
            "policy_version": self.policy_version,
        }


# Building a frozen dataclass goes through ``object.__setattr__`` once per field; on the hot path
# the engine sets the slots through their descriptors instead, which is about twice as fast and
# gives the same object (same fields, equality, hash, repr). Only for values already checked.
_new = object.__new__
_DECISION_SLOTS = tuple(
    Decision.__dict__[f].__set__
    for f in ("allowed", "reasons", "missing_approvals", "obligations", "policy_version", "_stamp", "_id")
)
_set_stamp, _set_id = _DECISION_SLOTS[-2:]


def set_stamp(d: Decision, stamp: tuple[int, int]) -> None:
    """Give a decision just built the id of another (see ``Engine._logged``)."""
    _set_stamp(d, stamp)
    _set_id(d, "")


def new_decision(
    allowed: bool,
    reasons: tuple[Reason, ...],
    missing: tuple[tuple[str, ...], ...],
    obligations: tuple[str, ...],
    version: str,
    _slots: Any = _DECISION_SLOTS,  # bound once: no global look-ups on the request path
    _time: Any = time_ns,
) -> Decision:
    """``Decision(allowed, reasons, missing, obligations, version)``, built faster."""
    d = _new(Decision)
    a, b, c, e, f, g, h = _slots
    a(d, allowed)
    b(d, reasons)
    c(d, missing)
    e(d, obligations)
    f(d, version)
    g(d, (_time(), next(_counter)))  # _stamp(), inlined
    h(d, "")
    return d


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage a request passed through on its way to a decision (see ``Engine.explain``).

    ``name`` is one of ``request``, ``subject``, ``purpose``, ``grant``, ``org_scope``,
    ``consent``, ``evidence``, ``retention``, ``approval``, ``classification``. ``target`` says
    what was checked, as a path into the policy where there is one (``grants[0]``,
    ``approvals[0].steps[1]``, ``classification.steps.top_secret[0]``). ``reasons`` are the
    reasons this stage gave: what held when it passed, what failed when it did not.
    """

    name: str
    passed: bool
    target: str
    reasons: tuple[Reason, ...]
    approver: str = ""  # who filled an approval or classification step

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.name,
            "passed": self.passed,
            "target": self.target,
            "approver": self.approver,
            "reasons": [r.to_dict() for r in self.reasons],
        }


@dataclass(frozen=True, slots=True)
class Explanation:
    """A decision and every stage the request passed through, in order."""

    decision: Decision
    stages: tuple[Stage, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**self.decision.to_dict(), "stages": [s.to_dict() for s in self.stages]}
