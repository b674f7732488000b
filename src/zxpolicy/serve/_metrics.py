"""The service's metrics, in Prometheus text (prometheus-client).

With several workers, ``zxpolicy serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder
before the workers start: each worker writes its values there, and ``/metrics``, whichever
worker answers it, sums them all (``MultiProcessCollector``).

    zxpolicy_decisions_total{outcome}                decisions made, allow or deny
    zxpolicy_decision_reasons_total{outcome,code}    the reasons given, by code
    zxpolicy_request_duration_seconds{route}         time from the request read to the answer
    zxpolicy_responses_total{route,status}           responses by route and HTTP status
    zxpolicy_policy_reloads_total                    times the running policy was replaced
    zxpolicy_policy_reload_failures_total            reloads that did not load
    zxpolicy_log_write_failures_total                decisions the log did not keep
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from ..decide import Decision

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """The metrics of one worker, in a registry of their own (so that tests may build several
    apps in one process)."""

    def __init__(self) -> None:
        self._multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.decisions = Counter("zxpolicy_decisions", "Decisions made, by outcome.", ["outcome"], registry=r)
        self.reasons = Counter("zxpolicy_decision_reasons", "Reasons given, by outcome and code.", ["outcome", "code"], registry=r)
        self.duration = Histogram(
            "zxpolicy_request_duration_seconds", "Time to answer a request, by route.", ["route"], buckets=_BUCKETS, registry=r
        )
        self.responses = Counter("zxpolicy_responses", "Responses, by route and HTTP status.", ["route", "status"], registry=r)
        self.reloads = Counter("zxpolicy_policy_reloads", "Times the running policy was replaced.", registry=r)
        self.reload_failures = Counter("zxpolicy_policy_reload_failures", "Reloads that did not load.", registry=r)
        self.log_failures = Counter("zxpolicy_log_write_failures", "Decision records the log did not keep.", registry=r)
        # Children by label values: labels() costs more than the increment it serves.
        self._outcome = {True: self.decisions.labels("allow"), False: self.decisions.labels("deny")}
        self._reason: dict[tuple[bool, str], Any] = {}
        self._route: dict[str, Any] = {}
        self._status: dict[tuple[str, int], Any] = {}
        self._seen = (0, 0)

    def decided(self, decisions: Iterable[Decision]) -> None:
        outcome, reasons = self._outcome, self._reason
        for d in decisions:
            allowed = d.allowed
            outcome[allowed].inc()
            for r in d.reasons:
                key = (allowed, r.code)
                child = reasons.get(key)
                if child is None:
                    child = reasons[key] = self.reasons.labels("allow" if allowed else "deny", r.code)
                child.inc()

    def answered(self, route: str, status: int, seconds: float) -> None:
        child = self._route.get(route)
        if child is None:
            child = self._route[route] = self.duration.labels(route)
        child.observe(seconds)
        key = (route, status)
        counter = self._status.get(key)
        if counter is None:
            counter = self._status[key] = self.responses.labels(route, str(status))
        counter.inc()

    def reload_counts(self, reloads: int, failed: int) -> None:
        """The live policy's counts since the start: what is new since the last call is added."""
        seen_ok, seen_failed = self._seen
        if reloads > seen_ok:
            self.reloads.inc(reloads - seen_ok)
        if failed > seen_failed:
            self.reload_failures.inc(failed - seen_failed)
        self._seen = (max(reloads, seen_ok), max(failed, seen_failed))

    def exposition(self) -> bytes:
        """The Prometheus text: this worker's metrics, or with several workers all of theirs."""
        if self._multiprocess:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
