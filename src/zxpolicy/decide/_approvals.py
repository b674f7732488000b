"""Filling a request's approval steps with the approvals it carries.

Each approval is checked on its own first (not the requester, holds the role, right resource and
action, in scope, dated no later than the request); a failing one counts as absent. The valid
ones are then placed on steps so that as many steps as possible are filled — one approver per
step across all chains, and strictly increasing dates along an ordered chain — preferring the
earlier steps when there is a choice. What stays empty is missing.

An approver is a person, not an id: ids that the assignments give one ``person``
(``ReadApproval.who``, ``Person.key``) are one approver, for self-approval and for one approver
per step alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from ..compile import StepSpec
from ._request import ReadApproval, Request


@dataclass(frozen=True, slots=True)
class Failure:
    """Why an approval that could have filled a step did not: a reason code and the step."""

    code: str
    step: StepSpec
    approval: ReadApproval
    why: str = ""  # which case of the code: "after_request", "before_previous", "own_org", "unknown", "same_person"
    other: str = ""  # `approver_reused`, "same_person": the id under which that person fills another step


@dataclass(slots=True)  # not frozen: built per request with steps, and a frozen one costs more to build
class Filling:
    filled: tuple[ReadApproval | None, ...]  # per step
    failures: tuple[Failure, ...]


def fill_steps(steps: tuple[StepSpec, ...], request: Request, scope: Mapping[str, frozenset[str]]) -> Filling:
    if not steps:
        return Filling((), ())
    requester = request.subject.person
    faulty: list[tuple[tuple[str, str], ReadApproval]] = []
    valid: list[ReadApproval] = []
    if request.approvals:
        wanted = frozenset().union(*(s.role_set for s in steps))
        above = scope[requester.org]
        for ap in request.approvals:
            if ap.role not in wanted:
                continue  # it fills no step of this request: it changes nothing
            fault = _fault(ap, request, above)
            if fault:
                faulty.append((fault, ap))
            else:
                valid.append(ap)

    filled: list[ReadApproval | None]
    if not valid:  # nothing to place: what the search gives with no candidates
        filled = [None] * len(steps)
    else:
        candidates = [_candidates(i, steps, valid, requester.org) for i in range(len(steps))]
        filled = _search(steps, candidates)

    # Why each empty step stayed empty: the approvals that could have filled it, and their fault.
    # An approval whose steps are all filled changes nothing, and is not reported.
    failures: list[Failure] = []
    if None not in filled:
        return Filling(tuple(filled), ())
    used = {ap.who: ap.approver_id for ap in filled if ap is not None}
    for step, got in zip(steps, filled, strict=True):
        if got is not None:
            continue
        for (code, why), ap in faulty:
            if ap.role in step.role_set and all(f.approval is not ap for f in failures):
                failures.append(Failure(code, step, ap, why))
        for ap in valid:
            if ap.role not in step.role_set:
                continue
            if step.same_org and (ap.approver is None or ap.approver.org != requester.org):
                failures.append(Failure("approver_out_of_scope", step, ap, "own_org"))
            elif ap.who in used:
                other = used[ap.who]
                if other == ap.approver_id:
                    failures.append(Failure("approver_reused", step, ap))
                else:
                    failures.append(Failure("approver_reused", step, ap, "same_person", other))
            elif step.ordered:
                failures.append(Failure("approval_out_of_order", step, ap, "before_previous"))
    return Filling(tuple(filled), tuple(failures))


def _fault(ap: ReadApproval, request: Request, above: frozenset[str]) -> tuple[str, str] | None:
    requester = request.subject.person
    if ap.approver_id == requester.id:
        return "self_approval", ""
    if ap.who == (requester.key or requester.id):
        return "self_approval", "same_person"  # the requester under another id
    if ap.approver is None:
        return "approver_lacks_role", "unknown"
    if ap.role not in ap.approver.roles:
        return "approver_lacks_role", ""
    if ap.resource_id != request.resource.id or ap.action != request.action:
        return "approval_mismatch", ""
    if ap.approver.org not in above:
        return "approver_out_of_scope", ""
    if ap.at > request.at:
        return "approval_out_of_order", "after_request"
    return None


def _candidates(i: int, steps: tuple[StepSpec, ...], valid: list[ReadApproval], org: str) -> list[ReadApproval]:
    """The approvals worth trying on step ``i``: one per approver, at most one per step.

    With k steps, k distinct approvers always leave one free for this step, so more need not be
    tried. Along an ordered chain the first step keeps the earliest, the last the latest (a
    middle step keeps all): the choice kept is never worse than one dropped.
    """
    step = steps[i]
    fits = [
        ap
        for ap in valid
        if ap.role in step.role_set and (not step.same_org or (ap.approver is not None and ap.approver.org == org))
    ]
    if len(fits) < 2:  # nothing to choose between
        return fits
    same_chain = [j for j, s in enumerate(steps) if s.group == step.group]  # the indexes of its chain's steps
    if step.ordered and len(same_chain) > 1 and i not in (same_chain[0], same_chain[-1]):
        return fits
    latest = step.ordered and len(same_chain) > 1 and i == same_chain[-1]
    fits.sort(key=lambda ap: ap.at, reverse=latest)
    best: dict[str, ReadApproval] = {}
    for ap in fits:
        best.setdefault(ap.who, ap)
    return list(best.values())[: len(steps)]


def _first_full(steps: tuple[StepSpec, ...], candidates: list[list[ReadApproval]]) -> list[ReadApproval | None] | None:
    """The search's answer when some placement fills every step that has a candidate; else None.

    ``_search`` keeps the first placement in its order (each step's candidates in order, then
    the step left empty) that scores best: the most steps filled, then the earliest. A step
    without candidates stays empty in every placement, so one that fills all the others scores
    best, and the search keeps the first such; it never prunes a path that has left only steps
    without candidates empty. This walks the search's order along those paths only, and so finds
    the same placement (when there is none, it has walked a part of the search's own tree).
    """
    n = len(steps)
    # The step before each along its chain, when ordered: an approval must come after its time.
    before: list[int] = []
    last: dict[int, int] = {}  # group → its last step so far that can be filled
    for i, step in enumerate(steps):
        if not candidates[i]:
            before.append(-1)
            continue
        before.append(last.get(step.group, -1) if step.ordered else -1)
        last[step.group] = i
    chosen: list[ReadApproval | None] = []  # for the steps before ``i``
    used: set[str] = set()
    tried = [0] * n  # per step: how many of its candidates the path has tried
    i = 0
    while i < n:
        fits, k, b = candidates[i], tried[i], before[i]
        if not fits:
            chosen.append(None)
            i += 1
            continue
        prev = chosen[b] if b >= 0 else None
        after = prev.at if prev is not None else None
        while k < len(fits):
            ap = fits[k]
            k += 1
            if ap.who not in used and (after is None or ap.at > after):
                tried[i] = k
                chosen.append(ap)
                used.add(ap.who)
                i += 1
                break
        else:  # this step's candidates are used up: back to the last step filled
            tried[i] = 0
            while True:
                i -= 1
                if i < 0:
                    return None
                undone = chosen.pop()
                if undone is not None:
                    used.discard(undone.who)
                    break
    return chosen


def _search(steps: tuple[StepSpec, ...], candidates: list[list[ReadApproval]]) -> list[ReadApproval | None]:
    quick = _first_full(steps, candidates)
    if quick is not None:
        return quick
    n = len(steps)
    best: list[tuple[int, tuple[bool, ...], list[ReadApproval | None]]] = [(-1, (), [None] * n)]
    chosen: list[ReadApproval | None] = [None] * n

    def last_time(group: int, i: int) -> datetime | None:
        for j in range(i - 1, -1, -1):
            if steps[j].group == group and chosen[j] is not None:
                return chosen[j].at  # type: ignore[union-attr]
        return None

    used: set[str] = set()  # the approvers (``who``) on the path being tried

    def go(i: int, count: int) -> None:
        if count + (n - i) < best[0][0] or best[0][0] == n:
            return
        if i == n:
            score = (count, tuple(c is not None for c in chosen))
            if score > best[0][:2]:
                best[0] = (count, score[1], list(chosen))
            return
        step = steps[i]
        before = last_time(step.group, i) if step.ordered else None
        for ap in candidates[i]:
            who = ap.who
            if who in used or (before is not None and ap.at <= before):
                continue
            chosen[i] = ap
            used.add(who)
            go(i + 1, count + 1)
            used.discard(who)
            chosen[i] = None
        go(i + 1, count)

    go(0, 0)
    return best[0][2]
