"""Running a policy's invariants with Hypothesis, and what a run found.

Each invariant gets its own run over generated requests (``strategies.requests``), with a fixed
seed, no example database and no deadline, so that a run gives the same result on every machine.
A failure is shrunk by Hypothesis to a small request, kept as JSON that ``zxpolicy check`` reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from ..decide import Decision, Engine
from ..policy import Invariant, load_policy
from ._invariants import KINDS, Violation
from .strategies import facts, requests

__all__ = ["InvariantResult", "VerifyReport", "verify"]

DEFAULT_SEED = 0
DEFAULT_MAX_EXAMPLES = 200


@dataclass(frozen=True)
class InvariantResult:
    invariant: Invariant
    examples: int  # requests checked (shrinking included, on a failure)
    allowed: int  # of them, allowed by the engine
    exercised: int  # of them, requests the invariant really tested (its premise held)
    violation: Violation | None

    @property
    def passed(self) -> bool:
        return self.violation is None

    def to_dict(self) -> dict[str, Any]:
        inv = self.invariant
        out: dict[str, Any] = {
            "id": inv.id, "kind": inv.kind, "clause": inv.clause, "zh": inv.zh, "en": inv.en, "passed": self.passed,
            "examples": self.examples, "allowed": self.allowed, "exercised": self.exercised, "counterexample": None,
        }
        if self.violation is not None:
            out["counterexample"] = {
                "code": self.violation.code,
                "message": self.violation.message,
                "message_en": self.violation.message_en,
                "requests": [{"request": r, "decision": _brief(d)} for r, d in self.violation.cases],
            }
        return out


def _brief(d: Decision) -> dict[str, Any]:
    return {"allowed": d.allowed, "codes": list(d.codes), "obligations": list(d.obligations)}


@dataclass(frozen=True)
class VerifyReport:
    policy_dir: str
    policy_version: str
    seed: int
    max_examples: int
    results: tuple[InvariantResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed, "policy_dir": self.policy_dir, "policy_version": self.policy_version,
            "seed": self.seed, "max_examples": self.max_examples, "invariants": [r.to_dict() for r in self.results],
        }

    def render_text(self, lang: str = "zh") -> str:
        """For people: each invariant, and the smallest request that breaks one that fails."""
        from ._report import render_text

        return render_text(self, lang)

    def junit_xml(self) -> str:
        """For CI: one test case per invariant."""
        from ._report import junit_xml

        return junit_xml(self)


def verify(
    policy: Engine | str | Path,
    *,
    seed: int = DEFAULT_SEED,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    only: Iterable[str] | None = None,
) -> VerifyReport:
    """Check every invariant of a policy (an engine, or a directory to load) on generated requests.

    ``only`` limits the run to some invariant ids. Raises ``PolicyError`` for a directory that
    does not load.
    """
    if not isinstance(policy, Engine):
        policy = Engine(load_policy(policy))
    engine = policy
    wanted = None if only is None else set(only)
    results = tuple(
        run_invariant(engine, inv, seed=seed, max_examples=max_examples)
        for inv in engine.document.invariants
        if wanted is None or inv.id in wanted
    )
    return VerifyReport(str(engine.policy_dir), engine.policy_version, seed, max_examples, results)


def run_invariant(engine: Engine, inv: Invariant, *, seed: int = DEFAULT_SEED, max_examples: int = DEFAULT_MAX_EXAMPLES) -> InvariantResult:
    f = facts(engine)
    test = KINDS[inv.kind]
    counts = {"examples": 0, "allowed": 0, "exercised": 0}

    @hypothesis_seed(seed)
    @settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        derandomize=False,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
    )
    @given(requests(engine, focus=inv.when), st.data())
    def run(request: dict[str, Any], data: st.DataObject) -> None:
        counts["examples"] += 1
        counts["allowed"] += engine.check(**request).allowed
        counts["exercised"] += test(f, inv, request, data.draw)

    violation = None
    try:
        run()
    except Violation as found:
        violation = found
    return InvariantResult(inv, counts["examples"], counts["allowed"], counts["exercised"], violation)
