"""The engine: a thin facade that holds one compiled policy and answers ``check`` requests.

An ``Engine`` holds the compiled tables, the policy's version and an optional decision log; it
reads a request (``_fastread``, else ``_request``), hands it to ``_decide`` and writes the
decision to the log. It is immutable once built, so any number of threads may call ``check`` at
once; a changed policy is loaded into a new engine. ``check`` never raises into the host: a
request it cannot read, and any fault of its own, is a deny with a reason.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .._bundled import model_conf
from .._errors import PolicyError, PolicyProblem
from ..compile import Tables, compile_policy
from ..policy import LoadedPolicy, PolicyDocument
from ._decide import decide, failed, log_cite, unreadable
from ._decision import Decision, Explanation, Stage, set_stamp
from ._fastread import read_fast
from ._fields import DEFAULTS, FIELD_NAMES, KEYWORDS
from ._record import DecisionLog, record_of
from ._request import BadField, Request, read_request
from ._wording import StepGrants

__all__ = ["Engine"]

_FIELD_SET = frozenset(FIELD_NAMES)
_ACTION, _APPROVALS = DEFAULTS["action"], DEFAULTS["approvals"]  # check_many's defaults, as check's
_join = "".join


def _is_field(key: object) -> bool:
    return isinstance(key, str) and key in _FIELD_SET


class Engine:
    """Decides requests against one loaded policy.

    Build one with ``zxpolicy.load(dir)``. The constructor is internal: it takes a policy as
    ``zxpolicy.policy.load_policy`` returns it, and compiles it. A policy that does not compile
    raises ``PolicyError`` (``policy_does_not_compile``), never anything else.
    """

    def __init__(self, policy: LoadedPolicy, log: DecisionLog | None = None) -> None:
        self._policy = policy
        self._version = policy.version
        try:
            self._tables = compile_policy(policy.document)
            self._words = StepGrants(self._tables)
            self._log_cite = log_cite(policy.document, self._tables.engine)
        except Exception as exc:  # a loaded policy always compiles; if one does not, it does not load
            said = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
            raise PolicyError([PolicyProblem(
                "policy_does_not_compile", f"策略无法编译：{said}", f"the policy does not compile: {said}",
                policy.directory.name,
            )]) from exc
        self._log = log
        self._enforcer: Any = None
        self._enforcer_lock = threading.Lock()

    @property
    def log(self) -> DecisionLog | None:
        """The decision log every ``check`` writes to, if any."""
        return self._log

    @property
    def policy_version(self) -> str:
        """A hash of the policy files this engine was built from."""
        return self._version

    @property
    def policy_dir(self) -> Path:
        return self._policy.directory

    @property
    def document(self) -> PolicyDocument:
        """The validated policy, as read from its files."""
        return self._policy.document

    @property
    def tables(self) -> Tables:
        """The compiled look-up tables, read-only, for ``zxpolicy.compliance``. Their shape is
        internal and may change."""
        return self._tables

    @property
    def casbin(self) -> Any:
        """A ``casbin.Enforcer`` over this policy, for Casbin's management API (built on first use).

        It is not used to decide. Changes made through it are not saved and do not change this
        engine's decisions: edit the policy files and load a new engine.
        """
        with self._enforcer_lock:
            if self._enforcer is None:
                from ..compile import build_enforcer

                self._enforcer = build_enforcer(self._policy.document, model_conf())
            return self._enforcer

    def check(
        self,
        subject: Any,
        resource: Any,
        purpose: Any,
        *,
        action: Any = "query",
        consent: Any = None,
        approvals: Any = (),
        evidence: Any = None,
        at: Any = None,
    ) -> Decision:
        """Decide one request. Never raises; never allows what it cannot read.

        The arguments are the request's fields (``zxpolicy.decide.REQUEST_FIELDS``)."""
        return self._check(subject, resource, purpose, action, consent, approvals, evidence, at)

    def _check(
        self, subject: Any, resource: Any, purpose: Any, action: Any, consent: Any, approvals: Any, evidence: Any, at: Any
    ) -> Decision:
        """``check`` with its arguments by position (so ``check_many`` calls it without keywords)."""
        try:
            t = self._tables  # _read, inlined: this is the request path
            read: Request | list[BadField] | None
            read = read_fast(t.vocabulary, subject, resource, purpose, action, consent, approvals, evidence, at)
            if read is None:
                read = read_request(t.vocabulary, subject, resource, purpose, action, consent, approvals, evidence, at)
            if isinstance(read, list):
                return unreadable(t, self._version, read)
            decision = decide(t, self._words, self._version, read, None)
            if self._log is None:
                return decision
            return self._logged(self._log, read, decision)
        except Exception as exc:  # fail closed: a fault of the engine is a deny, never an exception
            return failed(self._tables, self._version, exc)

    def explain(
        self,
        subject: Any,
        resource: Any,
        purpose: Any,
        *,
        action: Any = "query",
        consent: Any = None,
        approvals: Any = (),
        evidence: Any = None,
        at: Any = None,
    ) -> Explanation:
        """``check``, with every stage the request passed through: for a person asking why they
        were denied and what they still need. The decision is the one ``check`` gives."""
        t, version = self._tables, self._version
        stages: list[Stage] = []
        try:
            read = self._read(subject, resource, purpose, action, consent, approvals, evidence, at)
            if isinstance(read, list):
                decision = unreadable(t, version, read)
            else:
                decision = decide(t, self._words, version, read, stages)
        except Exception as exc:  # fail closed, as in check
            decision = failed(t, version, exc)
            stages.clear()
        if not stages:  # the request was not read, or the engine failed
            stages.append(Stage("request", False, "", decision.reasons))
        return Explanation(decision, tuple(stages))

    def check_many(self, requests: Iterable[Mapping[str, Any]]) -> list[Decision]:
        """Decide a batch; each item is a mapping of ``check``'s arguments by name.

        Like ``check`` it never raises: an item it cannot read is a deny in its place, and a
        ``requests`` that cannot be iterated is one deny.
        """
        try:
            items = list(requests)
        except Exception:
            bad = BadField("invalid_request", "应为请求的列表", "expected an iterable of mappings", "requests")
            return [unreadable(self._tables, self._version, [bad])]
        check, item_ = self._check, self._check_item
        decisions = []
        for item in items:
            # A plain dict of known fields goes straight to check; anything else is read slowly.
            # Its keys must be strings (join raises on any other key): an object that hashes and
            # compares as a field name is an unknown argument, as _check_item reads it.
            try:
                if type(item) is dict and _FIELD_SET.issuperset(item) and _join(item):
                    get = item.get
                    decision = check(
                        get("subject"), get("resource"), get("purpose"), get("action", _ACTION),
                        get("consent"), get("approvals", _APPROVALS), get("evidence"), get("at"),
                    )
                else:
                    decision = item_(item)
            except Exception:  # a key that cannot be compared, or compares differently the next time
                decision = item_(item)  # (check and _check_item never raise)
            decisions.append(decision)
        return decisions

    def _read(self, *request: Any) -> Request | list[BadField]:
        """The request read, or the fields that could not be: the fast reader for the plain case,
        else the full reader, which names every bad field."""
        vocab = self._tables.vocabulary
        read = read_fast(vocab, *request)
        return read if read is not None else read_request(vocab, *request)

    def _check_item(self, item: Any) -> Decision:
        t, version = self._tables, self._version
        try:
            if not isinstance(item, Mapping):
                bad = BadField("invalid_request", "应为 check 参数的映射", "expected a mapping of check's arguments", "request")
                return unreadable(t, version, [bad])
            unknown = sorted(k if isinstance(k, str) else repr(k) for k in item if not _is_field(k))
            if unknown:
                return unreadable(t, version, [BadField("invalid_request", "未知参数", "unknown argument", k) for k in unknown])
            keywords = {k: item[k] for k in KEYWORDS if k in item}
            return self.check(item.get("subject"), item.get("resource"), item.get("purpose"), **keywords)
        except Exception as exc:  # fail closed, as in check
            return failed(t, version, exc)

    def _logged(self, log: DecisionLog, r: Request, d: Decision) -> Decision:
        """Write the decision to the log. What is granted must leave a trace (Q-11): an allowed
        decision the policy says must be recorded (``settings.must_record``; by default every
        action on credit information and on user accounts), or that carries `log_query`, and
        that cannot be written — the log locked, full, read-only, deleted or replaced — is a deny.
        A deny that cannot be written stays a deny."""
        try:
            log.write(record_of(r, d))
        except Exception as exc:
            if not d.allowed or (
                (r.action, r.resource.kind) not in self._tables.must_record and "log_query" not in d.obligations
            ):
                return d
            name = f"`{type(exc).__name__}`: {exc}"[:200]
            reason = self._tables.messages.reason("log_unavailable", self._log_cite, name, name)
            denied = Decision(False, (reason,), policy_version=self._version)
            set_stamp(denied, d._stamp)  # the same decision, now a deny: it keeps its id
            return denied
        return d
