"""zxpolicy: policy-as-code authorization for credit-information (征信) access.

    import zxpolicy
    engine = zxpolicy.load()                       # the bundled default policy
    d = engine.check("u-query-east1", resource, "loan_review", consent=consent)
    d.allowed, d.reasons, d.missing_approvals, d.obligations

``check`` never raises and never allows a request it cannot read. ``load`` raises
``PolicyError`` (with every problem's code, file, line and column) for a policy that does not load.
``watch`` is ``load`` that follows its source, a directory or a policy store: each change that
loads replaces the engine whole, one that does not is reported and replaces nothing.

The package is the pipeline, one folder per stage; each imports only the stages before it:

    policy/      policy files → a validated document (YAML, schema, cross-checks, loader)
    compile/     document → look-up tables (and the Casbin store)
    decide/      request + tables → Decision (request types and fields, the two readers,
                 approvals, reason wording, the Engine facade)
    compliance/  suites and coverage, lint, diff, who-can / what-can   (zxpolicy.compliance)
    log/         the hash-chained decision log and its reports         (zxpolicy.log)
    testing/     Hypothesis strategies and policy invariants           (zxpolicy.testing)
    store/       the policy store: reviewed, gated, hash-chained publishes  (zxpolicy.store)
    live/        a live policy: hot reload from a directory or a store      (zxpolicy.live)
    serve/       the decision service over HTTP (``zxpolicy serve``)        (zxpolicy.serve)
    console/     the compliance console in a browser (``zxpolicy console``) (zxpolicy.console)
    cli/         the ``zxpolicy`` command: flags wired to the above

At the top: this facade, the default engine (``_default``), the error tree (``_errors``), the
diagnostic shape (``_diagnostic``), hints (``_hints``) and the bundled data (``_bundled``).
"""

from ._default import check, load
from ._diagnostic import Reason
from ._errors import (
    ConsoleError,
    DiffError,
    LogError,
    PolicyError,
    PolicyProblem,
    RevisionError,
    ServeError,
    SpaceTooLarge,
    StoreError,
    SuiteError,
    ZxpolicyError,
)
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
from .live import LivePolicy, watch

__all__ = [
    "Approval",
    "Consent",
    "ConsoleError",
    "Decision",
    "DiffError",
    "Engine",
    "Explanation",
    "LivePolicy",
    "LogError",
    "PolicyError",
    "PolicyProblem",
    "Reason",
    "Resource",
    "RevisionError",
    "ServeError",
    "SpaceTooLarge",
    "Stage",
    "StoreError",
    "Subject",
    "SuiteError",
    "ZxpolicyError",
    "check",
    "load",
    "watch",
]

__version__ = "0.1.0"
