"""The service's ASGI application: the routes of ``/v1``, the operations endpoints, the docs.

Routing is Starlette's ``Router``; each endpoint is a plain ASGI callable that reads its body
itself (bounded), parses it with orjson and answers with orjson's bytes: the framework's request
and response objects, and FastAPI's encoder, cost more than deciding does.

Every answer is JSON with an ``X-Request-Id`` (the caller's, when it is a plain token of at most
128 characters, else one made here). A decision is 200 whether it allows or denies; a body that
breaks the schema is 400 with an RFC 9457 problem naming each bad field; nothing a caller sends
makes a 500. A fault on the decision path is a deny with a reason (``engine_error``), as the
engine's own are.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from importlib import resources
from pathlib import Path
from time import perf_counter
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread
import orjson
from pydantic import BaseModel, ValidationError
from starlette.routing import Route, Router

from .._diagnostic import Reason
from ..compliance import UnknownWord, what_can, who_can
from ..decide import FIELD_NAMES, Decision, LogRecord
from ..live import LivePolicy
from ..log import LogStore, is_postgres
from ._auth import ANONYMOUS, CERT_SCOPES, Caller, Tokens, bearer
from ._limits import MAX_QUERY, BodyTooLarge, Malformed, parse_json, read_body
from ._metrics import CONTENT_TYPE, Metrics
from ._openapi import openapi_document
from ._wire import MAX_BATCH, BadFieldV1, BatchRequestV1, CheckRequestV1, ProblemV1, bad_fields

__all__ = ["TLS_CN", "KeptLog", "Service", "build_app"]

logger = logging.getLogger("zxpolicy.serve")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

TLS_CN = "zxpolicy.client_cn"  # scope["extensions"]["tls"] key of the client certificate's CN (see _run)

_CALLER: ContextVar[str | None] = ContextVar("zxpolicy_serve_caller", default=None)
_FIELDS = frozenset(FIELD_NAMES)
_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:/+=@-]{1,128}$")
_JSON = b"application/json"
_PROBLEM = b"application/problem+json"
_DOCS = resources.files(__package__) / "_docs"
_DOC_FILES = {"index.html": b"text/html; charset=utf-8", "docs.js": b"text/javascript; charset=utf-8",
              "docs.css": b"text/css; charset=utf-8"}
_DOCS_CSP = b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'"


class KeptLog:
    """The decision log as the service writes it: each record names the caller, and a record the
    log does not keep is counted (the engine then decides as the policy says: an allow that must
    be recorded becomes a deny)."""

    def __init__(self, store: LogStore, target: str, metrics: Metrics) -> None:
        self._store = store
        self._target = target
        self._metrics = metrics

    def write(self, record: LogRecord) -> None:
        try:
            self._store.write(replace(record, caller=_CALLER.get()))
        except Exception:
            self._metrics.log_failures.inc()
            raise

    def writable(self) -> bool:
        """The log answers, and (SQLite) its file may be written."""
        try:
            self._store.head()
        except Exception:
            return False
        if is_postgres(self._target):
            return True
        path = Path(self._target)
        return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)

    def close(self) -> None:
        self._store.close()


@dataclass
class Service:
    """What every endpoint needs: the live policy, how callers are authenticated, the log and
    the metrics."""

    live: LivePolicy
    metrics: Metrics
    tokens: Tokens | None = None
    client_certs: bool = False
    log: KeptLog | None = None
    closing: list[Callable[[], None]] = field(default_factory=list)

    def authenticate(self, scope: Scope) -> Caller | None:
        """The caller of a request, or None (401)."""
        if self.tokens is None:
            if not self.client_certs:
                return ANONYMOUS
            cn = _client_cn(scope)
            return Caller(cn, CERT_SCOPES) if cn else None
        for name, value in scope["headers"]:
            if name == b"authorization":
                token = bearer(value)
                return self.tokens.find(token) if token is not None else None
        return None


def _client_cn(scope: Scope) -> str | None:
    tls = scope.get("extensions", {}).get("tls")
    cn = tls.get(TLS_CN) if isinstance(tls, dict) else None
    return cn if isinstance(cn, str) and cn else None


# -- answers --------------------------------------------------------------------------------------


@dataclass(slots=True)
class Answer:
    status: int
    body: bytes
    content_type: bytes = _JSON
    headers: tuple[tuple[bytes, bytes], ...] = ()


class Call:
    """One request as an endpoint sees it."""

    __slots__ = ("scope", "receive", "request_id", "caller", "lang")

    def __init__(self, scope: Scope, receive: Receive, request_id: str) -> None:
        self.scope = scope
        self.receive = receive
        self.request_id = request_id
        self.caller = ANONYMOUS
        self.lang = "zh"


def problem(call: Call, status: int, code: str, zh: str, en: str, errors: Iterable[BadFieldV1] = (),
            headers: tuple[tuple[bytes, bytes], ...] = ()) -> Answer:
    """An RFC 9457 problem in the diagnostic shape; ``detail`` in the caller's language."""
    body = ProblemV1(
        type=f"urn:zxpolicy:problem:{code}", title=HTTPStatus(status).phrase, status=status,
        detail=en if call.lang == "en" else zh, code=code, message=zh, message_en=en,
        request_id=call.request_id, errors=list(errors),
    )
    return Answer(status, orjson.dumps(body.model_dump()), _PROBLEM, headers)


def _json(data: Any, status: int = 200) -> Answer:
    return Answer(status, orjson.dumps(data))


def _lang(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"accept-language":
            return "en" if value.strip().lower().startswith(b"en") else "zh"
    return "zh"


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            if _REQUEST_ID.match(value):
                given: str = value.decode("ascii")
                return given
            break
    return str(uuid.uuid4())


Handler = Callable[[Service, Call], Awaitable[Answer]]


class Endpoint:
    """An ASGI callable: the request id, the method, the caller and its scope, then the handler;
    whatever escapes the handler is a problem (500), never a traceback. (A class, not a function:
    Starlette's ``Route`` would wrap a function in its own request and response objects.)"""

    def __init__(self, service: Service, route: str, methods: tuple[str, ...], needs: str | None, handler: Handler) -> None:
        self.service = service
        self.route = route
        self.methods = methods
        self.allow = ((b"allow", ", ".join(methods).encode()),)
        self.needs = needs
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = perf_counter()
        service, needs = self.service, self.needs
        call = Call(scope, receive, _request_id(scope))
        try:
            call.lang = _lang(scope)
            if scope["method"] not in self.methods:
                answer = problem(call, 405, "method_not_allowed", f"不支持方法`{scope['method']}`",
                                 f"method `{scope['method']}` is not allowed here", headers=self.allow)
            elif needs is None:
                answer = await self.handler(service, call)
            else:
                caller = service.authenticate(scope)
                if caller is None:
                    answer = problem(call, 401, "unauthenticated", "缺少有效的身份凭证（Bearer 令牌或客户端证书）",
                                     "no valid credentials (a bearer token or a client certificate)",
                                     headers=((b"www-authenticate", b'Bearer realm="zxpolicy"'),))
                elif needs not in caller.scopes:
                    answer = problem(call, 403, "forbidden", f"调用方`{caller.name}`无`{needs}`权限",
                                     f"caller `{caller.name}` lacks the scope `{needs}`")
                else:
                    call.caller = caller
                    answer = await self.handler(service, call)
        except Exception as exc:  # a fault of the service itself: said, and logged with its traceback
            logger.exception("internal error on %s %s", scope.get("method"), self.route)
            name = type(exc).__name__
            answer = problem(call, 500, "internal_error", f"服务内部错误（`{name}`）", f"internal error (`{name}`)")
        headers = [
            (b"content-type", answer.content_type),
            (b"content-length", str(len(answer.body)).encode()),
            (b"x-request-id", call.request_id.encode()),
            *answer.headers,
        ]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})
        service.metrics.answered(self.route, answer.status, perf_counter() - started)


# -- reading a request body -------------------------------------------------------------------------


async def _body(call: Call) -> Any:
    """The parsed JSON body, or the problem (413, 415, 400) that answers it."""
    for name, value in call.scope["headers"]:
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            if media != _JSON and not (media.startswith(b"application/") and media.endswith(b"+json")):
                shown = media.decode("latin-1")[:60]
                return problem(call, 415, "unsupported_media_type", f"请求体应为 application/json，实为`{shown}`",
                               f"the body must be application/json, not `{shown}`")
            break
    try:
        raw = await read_body(call.scope, call.receive)
    except BodyTooLarge:
        return problem(call, 413, "body_too_large", "请求体超过 1 MiB", "the body is larger than 1 MiB")
    try:
        return parse_json(raw)
    except Malformed as exc:
        return problem(call, 400, "malformed_json", exc.zh, str(exc))


def _schema_problem(call: Call, model: type[BaseModel], data: Any) -> Answer | None:
    """The 400 for a body that breaks ``model``'s schema, or None when it does not."""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        errors = bad_fields(exc)
        return problem(call, 400, "invalid_request", f"请求不符合接口定义：{len(errors)} 处错误",
                       f"the request does not fit the schema: {len(errors)} error{'s' if len(errors) != 1 else ''}", errors)
    return None


def _unread(d: Decision) -> bool:
    """A deny because the request could not be read (not a word of the policy it did not know)."""
    return not d.allowed and any(r.code == "invalid_request" for r in d.reasons)


def _engine_error(version: str, exc: BaseException) -> Decision:
    """A deny for a fault on the service's own decision path (the engine's never raise)."""
    name = f"`{type(exc).__name__}`"
    logger.error("fault on the decision path: %s", name, exc_info=exc)
    return Decision(False, (Reason("engine_error", "R-01", "", f"授权服务内部错误（{name}），已拒绝",
                                   f"internal service error ({name}), denied"),), policy_version=version)


async def _decide(service: Service, call: Call, decide: Callable[[], Any]) -> Any:
    """``decide()`` with the caller named for the log; off the event loop when it writes a log
    (a durable write waits for the disk)."""
    token = _CALLER.set(call.caller.name)
    try:
        if service.log is None:
            return decide()
        return await anyio.to_thread.run_sync(decide)  # copies the context: the caller goes along
    finally:
        _CALLER.reset(token)


def _args(data: dict[str, Any]) -> tuple[Any, ...]:
    get = data.get
    return (get("subject"), get("resource"), get("purpose"), get("action", "query"), get("consent"),
            get("approvals", ()), get("evidence"), get("at"))


# -- the decision endpoints -------------------------------------------------------------------------


async def _request_body(call: Call) -> dict[str, Any] | Answer:
    """The body of ``/v1/check`` or ``/v1/explain``: one request's fields, or the answer that
    refuses it (a problem naming each field the schema refuses)."""
    data = await _body(call)
    if isinstance(data, Answer):
        return data
    if type(data) is not dict or not _FIELDS.issuperset(data):
        return _schema_problem(call, CheckRequestV1, data) or _fault(call)
    return data


async def check(service: Service, call: Call) -> Answer:
    data = await _request_body(call)
    if isinstance(data, Answer):
        return data
    engine = service.live.engine
    s, r, p, a, c, ap, e, at = _args(data)
    try:
        decision = await _decide(service, call, lambda: engine.check(
            s, r, p, action=a, consent=c, approvals=ap, evidence=e, at=at))
    except Exception as exc:
        decision = _engine_error(engine.policy_version, exc)
    if _unread(decision):
        bad = _schema_problem(call, CheckRequestV1, data)
        if bad is not None:
            return bad
    service.metrics.decided((decision,))
    out = decision.to_dict()
    out["request_id"] = call.request_id
    return _json(out)


async def check_batch(service: Service, call: Call) -> Answer:
    data = await _body(call)
    if isinstance(data, Answer):
        return data
    items = data.get("requests") if type(data) is dict and len(data) == 1 else None
    if (type(items) is not list or len(items) > MAX_BATCH
            or not all(type(i) is dict and _FIELDS.issuperset(i) for i in items)):
        return _schema_problem(call, BatchRequestV1, data) or _fault(call)
    if service.log is not None:
        # What a log keeps must have been answered: a batch refused after some of it was
        # decided would leave records of decisions no one received.
        bad = _schema_problem(call, BatchRequestV1, data)
        if bad is not None:
            return bad
    engine = service.live.engine
    try:
        decisions = await _decide(service, call, lambda: engine.check_many(items))
    except Exception as exc:
        decisions = [_engine_error(engine.policy_version, exc)] * len(items)
    if service.log is None and any(_unread(d) for d in decisions):
        bad = _schema_problem(call, BatchRequestV1, data)
        if bad is not None:
            return bad
    service.metrics.decided(decisions)
    return _json({"request_id": call.request_id, "decisions": [d.to_dict() for d in decisions]})


async def explain(service: Service, call: Call) -> Answer:
    data = await _request_body(call)
    if isinstance(data, Answer):
        return data
    engine = service.live.engine
    s, r, p, a, c, ap, e, at = _args(data)
    try:
        out = engine.explain(s, r, p, action=a, consent=c, approvals=ap, evidence=e, at=at).to_dict()
    except Exception as exc:
        d = _engine_error(engine.policy_version, exc)
        out = {**d.to_dict(), "stages": [{"stage": "request", "passed": False, "target": "", "approver": "",
                                          "reasons": [x.to_dict() for x in d.reasons]}]}
    if not out["allowed"] and any(x["code"] == "invalid_request" for x in out["reasons"]):
        bad = _schema_problem(call, CheckRequestV1, data)
        if bad is not None:
            return bad
    out["request_id"] = call.request_id
    return _json(out)


def _fault(call: Call) -> Answer:
    """A body the quick look refused and the schema accepts: cannot be, said rather than guessed."""
    return problem(call, 400, "invalid_request", "请求无法读取", "the request cannot be read")


# -- the policy questions -----------------------------------------------------------------------------


def _query(call: Call, single: tuple[str, ...], required: tuple[str, ...], repeated: tuple[str, ...] = ()
           ) -> dict[str, Any] | Answer:
    raw = call.scope.get("query_string", b"")
    if len(raw) > MAX_QUERY:
        return problem(call, 400, "query_too_long", f"查询字符串超过 {MAX_QUERY} 字节", f"the query string is longer than {MAX_QUERY} bytes")
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=64)
    except (UnicodeDecodeError, ValueError):
        return problem(call, 400, "invalid_query", "查询字符串无法读取", "the query string cannot be read")
    out: dict[str, Any] = {name: [] for name in repeated}
    errors = []
    for name, value in pairs:
        if name in repeated:
            out[name].append(value)
        elif name not in single:
            errors.append(BadFieldV1(code="unknown_field", path=name[:60], message="未知参数", message_en="unknown parameter"))
        elif name in out:
            errors.append(BadFieldV1(code="repeated", path=name, message="参数重复", message_en="given more than once"))
        else:
            out[name] = value
    for name in required:
        if name not in out:
            errors.append(BadFieldV1(code="missing_field", path=name, message="缺失", message_en="missing"))
    if errors:
        return problem(call, 400, "invalid_query", f"查询参数有误：{len(errors)} 处", f"the query has {len(errors)} error(s)", errors)
    return out


def _unknown_word(call: Call, exc: UnknownWord) -> Answer:
    return problem(call, 400, "unknown_word", exc.message, exc.message_en)


async def who_can_endpoint(service: Service, call: Call) -> Answer:
    q = _query(call, ("action", "kind", "purpose", "level", "org"), ("action", "kind", "purpose", "level"))
    if isinstance(q, Answer):
        return q
    engine = service.live.engine
    try:
        answer = await anyio.to_thread.run_sync(
            lambda: who_can(engine, q["action"], q["kind"], q["purpose"], q["level"], q.get("org") or None))
    except UnknownWord as exc:
        return _unknown_word(call, exc)
    return _json({**answer.to_dict(), "policy_version": engine.policy_version})


async def what_can_endpoint(service: Service, call: Call) -> Answer:
    q = _query(call, (), (), ("kind", "purpose", "action"))
    if isinstance(q, Answer):
        return q
    subject = call.scope.get("path_params", {}).get("subject", "")
    engine = service.live.engine
    if subject not in engine.tables.vocabulary.people:
        return problem(call, 404, "unknown_subject", f"`{subject[:60]}`不在用户清单中", f"`{subject[:60]}` is not in the policy's assignments")
    try:
        answer = await anyio.to_thread.run_sync(
            lambda: what_can(engine, subject, kinds=q["kind"], purposes=q["purpose"], actions=q["action"]))
    except UnknownWord as exc:
        return _unknown_word(call, exc)
    return _json({**answer.to_dict(), "policy_version": engine.policy_version})


async def policy_status(service: Service, call: Call) -> Answer:
    status = service.live.status()
    service.metrics.reload_counts(status.reloads, status.failed_reloads)
    return _json(status.to_dict())


async def policy_reload(service: Service, call: Call) -> Answer:
    reloaded = await anyio.to_thread.run_sync(service.live.reload)
    status = service.live.status()
    service.metrics.reload_counts(status.reloads, status.failed_reloads)
    logger.info("reload asked by `%s`: %s", call.caller.name, "replaced" if reloaded else "not replaced")
    return _json({"reloaded": reloaded, "policy": status.to_dict()})


# -- operations ----------------------------------------------------------------------------------------


async def healthz(service: Service, call: Call) -> Answer:
    return _json({"status": "ok"})


async def readyz(service: Service, call: Call) -> Answer:
    version = service.live.version
    if service.log is None:
        return _json({"ready": True, "policy_version": version, "log": "none", "message": "就绪", "message_en": "ready"})
    if await anyio.to_thread.run_sync(service.log.writable):
        return _json({"ready": True, "policy_version": version, "log": "ok", "message": "就绪", "message_en": "ready"})
    return _json({"ready": False, "policy_version": version, "log": "unwritable",
                  "message": "决策日志无法写入", "message_en": "the decision log cannot be written"}, 503)


async def metrics_endpoint(service: Service, call: Call) -> Answer:
    status = service.live.status()
    service.metrics.reload_counts(status.reloads, status.failed_reloads)
    return Answer(200, service.metrics.exposition(), CONTENT_TYPE.encode())


def _openapi(document: bytes) -> Handler:
    async def openapi(service: Service, call: Call) -> Answer:
        return Answer(200, document)

    return openapi


def _docs_file(name: str) -> Handler:
    content = (_DOCS / name).read_bytes()
    kind = _DOC_FILES[name]

    async def docs(service: Service, call: Call) -> Answer:
        return Answer(200, content, kind, ((b"content-security-policy", _DOCS_CSP), (b"x-content-type-options", b"nosniff")))

    return docs


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    call = Call(scope, receive, _request_id(scope))
    call.lang = _lang(scope)
    path = str(scope.get("path", ""))[:80]
    a = problem(call, 404, "not_found", f"没有这个地址`{path}`", f"no such path `{path}`")
    await send({"type": "http.response.start", "status": 404, "headers": [
        (b"content-type", a.content_type), (b"content-length", str(len(a.body)).encode()),
        (b"x-request-id", call.request_id.encode())]})
    await send({"type": "http.response.body", "body": a.body})


def build_app(service: Service, lifespan: Any = None) -> Router:
    """The ASGI application of ``service``."""
    document = orjson.dumps(openapi_document())
    e = Endpoint
    routes = [
        Route("/v1/check", e(service, "/v1/check", ("POST",), "check", check)),
        Route("/v1/check/batch", e(service, "/v1/check/batch", ("POST",), "check", check_batch)),
        Route("/v1/explain", e(service, "/v1/explain", ("POST",), "explain", explain)),
        Route("/v1/who-can", e(service, "/v1/who-can", ("GET",), "explain", who_can_endpoint)),
        Route("/v1/what-can/{subject}", e(service, "/v1/what-can/{subject}", ("GET",), "explain", what_can_endpoint)),
        Route("/v1/policy", e(service, "/v1/policy", ("GET",), "explain", policy_status)),
        Route("/v1/policy/reload", e(service, "/v1/policy/reload", ("POST",), "admin", policy_reload)),
        Route("/healthz", e(service, "/healthz", ("GET",), None, healthz)),
        Route("/readyz", e(service, "/readyz", ("GET",), None, readyz)),
        Route("/metrics", e(service, "/metrics", ("GET",), None, metrics_endpoint)),
        Route("/openapi.json", e(service, "/openapi.json", ("GET",), None, _openapi(document))),
        Route("/docs", e(service, "/docs", ("GET",), None, _docs_file("index.html"))),
        *(Route(f"/docs/{name}", e(service, "/docs", ("GET",), None, _docs_file(name))) for name in _DOC_FILES),
    ]
    return Router(routes=routes, default=_not_found, lifespan=lifespan)
