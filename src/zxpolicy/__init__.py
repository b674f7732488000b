"""zxpolicy: policy-as-code authorization for credit-information (征信) access.

    import zxpolicy
    engine = zxpolicy.load()                       # the bundled default policy
    d = engine.check("u-query-east1", resource, "loan_review", consent=consent)
    d.allowed, d.reasons, d.missing_approvals, d.obligations

``check`` never raises and never allows a request it cannot read. ``load`` raises
``PolicyError`` (with every problem's file, line and column) for a policy that does not load.
"""

from ._default import check, load
from ._diagnostic import Reason
from ._errors import PolicyError, PolicyProblem, ZxpolicyError
from .decide import (
    Approval,
    Consent,
    Decision,
    Engine,
    Explanation,
    Resource,
    Stage,
    Subject,
)

__all__ = [
    "Approval",
    "Consent",
    "Decision",
    "Engine",
    "Explanation",
    "PolicyError",
    "PolicyProblem",
    "Reason",
    "Resource",
    "Stage",
    "Subject",
    "ZxpolicyError",
    "check",
    "load",
]

__version__ = "0.1.0"
