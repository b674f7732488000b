"""Property testing for zxpolicy policies: Hypothesis strategies and the invariant runner.

    import zxpolicy
    from zxpolicy.testing import requests, verify

    engine = zxpolicy.load("policies")
    report = verify(engine, seed=0, max_examples=200)   # every invariant of invariants.yaml
    assert report.passed

    @given(requests(engine))                            # in a policy repository's own tests
    def test_no_print_on_sundays(request): ...

Needs Hypothesis (``pip install 'zxpolicy[testing]'``).
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "zxpolicy.testing needs hypothesis: pip install 'zxpolicy[testing]'"
    ) from exc

from ._invariants import Violation
from ._runner import InvariantResult, VerifyReport, run_invariant, verify
from .strategies import AT, approval_sets, consents, evidence, purposes, requests, resources, subjects

__all__ = [
    "AT",
    "InvariantResult",
    "VerifyReport",
    "Violation",
    "approval_sets",
    "consents",
    "evidence",
    "purposes",
    "requests",
    "resources",
    "run_invariant",
    "subjects",
    "verify",
]
