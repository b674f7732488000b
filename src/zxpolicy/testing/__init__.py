"""Property testing for zxpolicy policies: Hypothesis strategies and the invariant runner.

    import zxpolicy
    from zxpolicy.testing import requests, verify

    engine = zxpolicy.load("policies")
    report = verify(engine, seed=0, max_examples=200)   # every invariant of invariants.yaml
    assert report.passed

    @given(requests(engine))                            # in a policy repository's own tests
    def test_my_property(request): ...

Needs Hypothesis (``pip install 'zxpolicy[testing]'``). The names are loaded on first use, so
that the pytest plugin in this package (registered on install) costs nothing, and needs no
Hypothesis, in a repository that does not use it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._invariants import Violation
    from ._runner import InvariantResult, VerifyReport, run_invariant, verify
    from .strategies import (
        AT,
        approval_sets,
        consents,
        evidence,
        purposes,
        requests,
        resources,
        subjects,
    )

_WHERE = {
    "Violation": "._invariants",
    **dict.fromkeys(("InvariantResult", "VerifyReport", "run_invariant", "verify"), "._runner"),
    **dict.fromkeys(
        ("AT", "approval_sets", "consents", "evidence", "purposes", "requests", "resources", "subjects"), ".strategies"
    ),
}

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


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module `zxpolicy.testing` has no attribute `{name}`")
    try:
        return getattr(importlib.import_module(module, __name__), name)
    except ModuleNotFoundError as exc:
        if exc.name != "hypothesis":
            raise
        raise ImportError("zxpolicy.testing needs hypothesis: pip install 'zxpolicy[testing]'") from exc
