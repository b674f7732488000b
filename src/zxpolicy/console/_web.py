"""The console's request pipeline: signing in, CSRF, rights, the audit trail, bounded forms.

Every page is rendered on the server (Jinja2, autoescaped), in Chinese unless the person chose
English (``?lang=en``, kept in the ``lang`` cookie). At every request, in this order:

1. who asks: the session cookie ``zx_session`` (HttpOnly, SameSite=Strict, Secure under TLS), or,
   where the console is told to, a trusted reverse proxy's header (``--trusted-header``, from a
   peer of ``--trusted-proxy`` only); no one: the sign-in page;
2. a POST must come from this origin (``Origin``, else ``Referer``) and carry the session's CSRF
   token (compared in constant time); its body is a bounded ``application/x-www-form-urlencoded``
   form, parsed here (``urllib.parse``);
3. what they may do: ``console_rights`` of the engine running now (a change of the policy
   changes the rights at once); a right missing is a refusal with its reason;
4. the page or the action; then the audit trail records it (views and actions, refusals too).

Bad input is a 400 page in both languages, never a 500. Every answer carries the security
headers (``SECURITY_HEADERS``): scripts, styles and images from the console itself only.
"""

from __future__ import annotations

import copy
import hmac
import ipaddress
import logging
import secrets
import ssl
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from .._diagnostic import Reason
from .._errors import ConsoleError, LogError, StoreError, ZxpolicyError
from ..decide import Engine
from ..live import LivePolicy, watch
from ..log import LogStore, open_log, review_settings
from ..policy import Reporting
from ..store import PolicyStore, open_store
from ._accounts import Session, check_password, end_session, new_session, session_of
from ._db import ConsoleDb, open_console_db
from ._ledger import audit
from ._pages import BadInput, DailyCache, Memo, VerifiedChain, pick
from ._rights import ConsoleRights, console_rights

__all__ = ["MAX_FORM", "SECURITY_HEADERS", "Console", "ConsoleOptions", "Ctx", "Handler", "Page", "SecurityHeaders",
           "check_console_options", "error_page", "html", "lang_of", "login_endpoint", "open_console", "reason_of",
           "read_form", "static_file"]

logger = logging.getLogger("zxpolicy.console")

HERE = Path(__file__).parent
SESSION_COOKIE = "zx_session"
LOGIN_COOKIE = "zx_login"  # the sign-in form's CSRF token, before there is a session
LANG_COOKIE = "lang"
MAX_FORM = 256 * 1024  # bytes of a form
MAX_PROPOSAL = 1 << 20  # bytes of a proposal's form: one policy file's text
MAX_FIELDS = 200
MAX_QUERY = 4096
MAX_FILE = (1 << 20) - 4096  # characters of one policy file edited in the console

SECURITY_HEADERS = (
    (b"content-security-policy", b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                 b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
)


@dataclass(frozen=True)
class ConsoleOptions:
    """``store``: the policy store's URL (the console's engine runs its current version);
    ``log``: the decision log (a SQLite path or a ``postgresql://`` URL), where the console keeps
    its own tables too. ``trusted_header``: a header naming the signed-in user, believed only
    from a peer in ``trusted_proxies``. ``secure_cookies``: None → Secure under TLS."""

    store: str
    log: str
    host: str = "127.0.0.1"
    port: int = 8282
    tls_cert: str | None = None
    tls_key: str | None = None
    trusted_header: str | None = None
    trusted_proxies: tuple[str, ...] = ("127.0.0.1",)
    secure_cookies: bool | None = None


def check_console_options(o: ConsoleOptions) -> list[str]:
    """What can be refused before anything opens (``ConsoleError``); the warnings to print."""
    if not o.store.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise ConsoleError("store_url_invalid", f"策略库地址`{o.store[:80]}`无效：应为 sqlite:///路径 或 postgresql://…",
                           f"the store URL `{o.store[:80]}` is not valid: expected sqlite:///PATH or postgresql://…")
    if (o.tls_cert is None) != (o.tls_key is None):
        raise ConsoleError("tls_incomplete", "`--tls-cert`与`--tls-key`须同时给出", "give both `--tls-cert` and `--tls-key`")
    if o.tls_cert is not None:
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(o.tls_cert, o.tls_key)
        except (OSError, ssl.SSLError) as exc:
            said = " ".join(str(exc).split())[:200]
            raise ConsoleError("tls_unusable", f"TLS 证书或密钥无法加载：{said}", f"the TLS certificate or key does not load: {said}") from None
    for proxy in o.trusted_proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConsoleError("trusted_proxy_invalid", f"`--trusted-proxy`应为 IP 地址或网段：{proxy[:60]}",
                               f"`--trusted-proxy` must be an IP address or network: {proxy[:60]}") from None
    if o.trusted_header is not None and not o.trusted_header.strip():
        raise ConsoleError("trusted_header_invalid", "`--trusted-header`不能为空", "`--trusted-header` is empty")
    warnings = []
    if o.tls_cert is None and o.host not in ("127.0.0.1", "::1", "localhost"):
        warnings.append(f"WARNING: listening on {o.host} without TLS: passwords and session cookies cross the network "
                        "in clear unless a TLS proxy stands in front")
    return warnings


# -- the console's state -----------------------------------------------------------------------------

class Console:
    """What every page needs: the live policy (the console's own engine), the store, the log, the
    console's tables, the templates and the caches."""

    def __init__(self, o: ConsoleOptions, live: LivePolicy, store: PolicyStore, log: LogStore, db: ConsoleDb) -> None:
        self.options = o
        self.live, self.store, self.log, self.db = live, store, log, db
        self.proxies = tuple(ipaddress.ip_network(p, strict=False) for p in o.trusted_proxies)
        self.templates = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=True,
                                     trim_blocks=True, lstrip_blocks=True)
        self.policy_pages = Memo(8)  # (version, lang) → PolicyView
        self.daily = DailyCache()
        self.chain = VerifiedChain(log)  # the log's verified head: the whole chain once, then what is new
        self.days = Memo(400)  # (day, head) → (queries, flagged seqs)
        self.months = Memo(8)  # (month, counts, head, settings) → MonthlyReport

    def with_options(self, o: ConsoleOptions) -> Console:
        """The same store, log and tables, served with other options (cookies, the trusted proxy)."""
        twin = copy.copy(self)
        twin.options = o
        twin.proxies = tuple(ipaddress.ip_network(p, strict=False) for p in o.trusted_proxies)
        return twin

    def close(self) -> None:
        for closing in (self.live.close, self.store.close, self.log.close, self.db.close):
            try:
                closing()
            except Exception as exc:  # closing one must not keep the others open
                logger.warning("closing the console: %s", exc)

    @property
    def engine(self) -> Engine:
        return self.live.engine

    def settings(self) -> Reporting:
        try:
            return review_settings(self.engine.document)
        except LookupError:
            raise ConsoleError("reporting_not_configured", "策略没有`reporting`段（policies/reporting.yaml）：无法进行日核查与出具报表",
                               "the policy has no `reporting` section (policies/reporting.yaml): no daily check or report") from None

    def verified_head(self) -> tuple[int, str]:
        return self.chain.head()

    def secure(self, request: Request) -> bool:
        if self.options.secure_cookies is not None:
            return self.options.secure_cookies
        if self.options.tls_cert is not None or request.url.scheme == "https":
            return True
        return self.trusted_peer(request) and request.headers.get("x-forwarded-proto", "").lower() == "https"

    def trusted_peer(self, request: Request) -> bool:
        host = request.client.host if request.client is not None else ""
        try:
            peer = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(peer in net for net in self.proxies)


def open_console(o: ConsoleOptions) -> Console:
    """Open the store, its live policy, the log and the console's tables (``ConsoleError`` when
    one cannot be used; an empty store: ``store_empty``)."""
    opened: list[Callable[[], None]] = []
    try:
        try:
            store = open_store(o.store)
            opened.append(store.close)
            live = watch(o.store)
            opened.append(live.close)
        except StoreError as exc:
            if exc.code == "store_empty":
                raise ConsoleError("store_empty", f"{exc.message}：先发布并审批一个版本（zxpolicy policy publish / approve）",
                                   f"{exc.message_en}: publish and approve a version first (zxpolicy policy publish / approve)") from None
            raise ConsoleError(exc.code, exc.message, exc.message_en) from None
        db = open_console_db(o.log)
        opened.append(db.close)
        try:
            log = open_log(o.log)
        except LogError as exc:
            raise ConsoleError(exc.code, exc.message, exc.message_en) from None
        return Console(o, live, store, log, db)
    except BaseException:
        for closing in reversed(opened):
            closing()
        raise


# -- one request -----------------------------------------------------------------------------------

@dataclass
class Ctx:
    """One request as a page sees it."""

    console: Console
    request: Request
    lang: str
    form: dict[str, list[str]]
    user: str = ""
    rights: ConsoleRights | None = None
    session: Session | None = None
    detail: dict[str, str] = field(default_factory=dict)  # what the audit trail records of an action

    def t(self, zh: str, en: str) -> str:
        return pick(self.lang, zh, en)

    def arg(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default)

    def field(self, name: str, limit: int, *, required: bool = False, label: tuple[str, str] | None = None) -> str:
        values = self.form.get(name) or [""]
        text = values[-1]
        zh, en = label or (name, name)
        if required and not text.strip():
            raise BadInput(f"请填写{zh}", f"the {en} is required", "field_missing")
        if len(text) > limit:
            raise BadInput(f"{zh}过长：至多 {limit} 个字符", f"the {en} is too long: at most {limit} characters", "field_too_long")
        return text

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        return html(self.console, self.request, self.lang, template, status, user=self.user, rights=self.rights,
                    csrf=self.session.csrf if self.session else "", **values)


def html(console: Console, request: Request, lang: str, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    other = "zh" if lang == "en" else "en"
    switch = request.url.path + "?" + urlencode([*query, ("lang", other)]) if request.method == "GET" else (
        request.url.path.rsplit("/", 1)[0] if request.url.path.endswith(("/approve", "/reject", "/outcome", "/signoff"))
        else request.url.path) + f"?lang={other}"
    rights: ConsoleRights | None = values.get("rights")
    body = console.templates.get_template(template).render(
        lang=lang, t=lambda zh, en: pick(lang, zh, en), path=request.url.path, lang_href=switch,
        user_label=rights.label if rights is not None else "", **values)
    return HTMLResponse(body, status, headers={"cache-control": "no-store"})


def reason_of(exc: ZxpolicyError) -> Reason:
    return Reason(getattr(exc, "code", type(exc).__name__), "", "", getattr(exc, "message", str(exc)),
                  getattr(exc, "message_en", str(exc)))


def _same_origin(request: Request) -> bool:
    """A POST from a page of this console: its Origin (else its Referer) names this host."""
    host = request.headers.get("host", "").lower()
    given = request.headers.get("origin") or request.headers.get("referer") or ""
    if not given or given == "null" or not host:
        return False
    try:
        return urlsplit(given).netloc.lower() == host
    except ValueError:
        return False


async def read_form(request: Request, limit: int) -> dict[str, list[str]]:
    """The request's form: ``application/x-www-form-urlencoded``, at most ``limit`` bytes and
    ``MAX_FIELDS`` fields, UTF-8. Raises ``BadInput`` (400, 413, 415)."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise BadInput(f"表单应为 application/x-www-form-urlencoded，实为`{media[:60]}`",
                       f"the form must be application/x-www-form-urlencoded, not `{media[:60]}`", "unsupported_media_type", 415)
    too_large = BadInput(f"表单超过 {limit // 1024} KiB", f"the form is larger than {limit // 1024} KiB", "body_too_large", 413)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    try:
        pairs = parse_qsl(b"".join(chunks).decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise BadInput("表单不是 UTF-8 文本", "the form is not UTF-8 text", "malformed_form") from None
    except ValueError:
        raise BadInput(f"表单字段超过 {MAX_FIELDS} 个", f"the form has more than {MAX_FIELDS} fields", "malformed_form") from None
    form: dict[str, list[str]] = {}
    for name, value in pairs:
        form.setdefault(name, []).append(value)
    return form


def lang_of(request: Request) -> str:
    asked = request.query_params.get("lang") if len(request.url.query) <= MAX_QUERY else None
    if asked in ("zh", "en"):
        return asked
    return "en" if request.cookies.get(LANG_COOKIE) == "en" else "zh"


def _finish(console: Console, request: Request, response: Response, lang: str) -> Response:
    asked = request.query_params.get("lang")
    if asked in ("zh", "en") and request.cookies.get(LANG_COOKIE) != asked:
        response.set_cookie(LANG_COOKIE, asked, max_age=365 * 86400, samesite="strict", secure=console.secure(request))
    return response


def error_page(console: Console, request: Request, lang: str, status: int, code: str, zh: str, en: str, **values: Any) -> HTMLResponse:
    return html(console, request, lang, "error.html", status, code=code, message=zh, message_en=en, **values)


Handler = Callable[[Ctx], Response]


class Page:
    """A route's endpoint: the steps of the module's text around ``handler``. ``right``: the
    console right it needs; ``limit``: the largest form it takes."""

    def __init__(self, console: Console, handler: Handler, right: str, limit: int = MAX_FORM) -> None:
        self.console, self.handler, self.right, self.limit = console, handler, right, limit

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        console = self.console
        lang = lang_of(request)
        ctx = Ctx(console, request, lang, {})
        try:
            if len(request.url.query) > MAX_QUERY:
                raise BadInput(f"查询字符串超过 {MAX_QUERY} 字节", f"the query string is longer than {MAX_QUERY} bytes", "query_too_long")
            if request.method == "POST":
                if not _same_origin(request):
                    raise BadInput("请求不是来自本控制台的页面（Origin/Referer 不符）", "the request does not come from a page of this "
                                   "console (Origin/Referer)", "cross_origin", 403)
                ctx.form = await read_form(request, self.limit)
            response = await run_in_threadpool(self.handle, ctx)
        except BadInput as exc:  # said on the page of the person who asked, when they are known
            values = {"code": exc.code, "message": exc.message, "message_en": exc.message_en}
            response = (ctx.render("error.html", exc.status, **values) if ctx.rights is not None
                        else error_page(console, request, lang, exc.status, exc.code, exc.message, exc.message_en))
        except Exception as exc:  # a fault of the console itself: said, and logged with its traceback
            logger.exception("internal error on %s %s", request.method, request.url.path)
            name = type(exc).__name__
            response = error_page(console, request, lang, 500, "internal_error", f"控制台内部错误（`{name}`）", f"internal error (`{name}`)")
        await _finish(console, request, response, lang)(scope, receive, send)

    def handle(self, ctx: Ctx) -> Response:
        console, request = ctx.console, ctx.request
        new_token = self.identify(ctx)
        if ctx.session is None:
            if request.method == "GET":
                return RedirectResponse("/login", 303)
            raise BadInput("未登录或会话已过期：请重新登录", "not signed in, or the session has ended: sign in again", "unauthenticated", 401)
        if request.method == "POST":
            given = (ctx.form.get("csrf") or [""])[-1]
            if not hmac.compare_digest(given.encode("utf-8", "replace"), ctx.session.csrf.encode("utf-8")):
                self.record(ctx, "refused", "csrf_mismatch")
                raise BadInput("表单已失效（CSRF 校验未通过）：请刷新页面后重试", "the form has expired (CSRF check failed): "
                               "reload the page and try again", "csrf_mismatch", 403)
        ctx.rights = console_rights(console.engine, ctx.user)
        if not ctx.rights.has(self.right):
            reason = ctx.rights.refusal(self.right)
            self.record(ctx, "refused", reason.code)
            response: Response = ctx.render("refused.html", 403, reason=reason)
        else:
            try:
                response = self.handler(ctx)
            except BadInput:
                self.record(ctx, "bad_input", "")
                raise
            except ZxpolicyError as exc:  # a refusal of the store, the log or the ledger not caught by the page
                reason = reason_of(exc)
                self.record(ctx, "refused", reason.code)
                response = ctx.render("refused.html", 409, reason=reason)
            else:
                self.record(ctx, "done", "")
        if new_token is not None:
            _session_cookie(console, request, response, new_token)
        return response

    def identify(self, ctx: Ctx) -> str | None:
        """Who asks (``ctx.user``, ``ctx.session``); a new session token when one was made for a
        user named by the trusted proxy's header."""
        console, request = ctx.console, ctx.request
        token = request.cookies.get(SESSION_COOKIE, "")
        session = session_of(console.db, token) if token else None
        header = console.options.trusted_header
        if header is not None and console.trusted_peer(request):
            named = request.headers.get(header, "").strip()
            if named and len(named) <= 200:
                if session is None or session.user_id != named:
                    if session is not None:
                        end_session(console.db, token)
                    token, csrf = new_session(console.db, named)
                    audit(console.db, by=named, kind="signin", what="trusted_header", detail={"header": header})
                    ctx.user, ctx.session = named, session_of(console.db, token)
                    return token
        if session is not None:
            ctx.user, ctx.session = session.user_id, session
        return None

    def record(self, ctx: Ctx, result: str, code: str) -> None:
        request = ctx.request
        detail = {"path": request.url.path, "result": result, **ctx.detail}
        if request.url.query:
            detail["query"] = request.url.query
        if code:
            detail["code"] = code
        audit(ctx.console.db, by=ctx.user or "-", kind="action" if request.method == "POST" else "view",
              what=f"{request.method} {request.url.path}", detail=detail)


def _session_cookie(console: Console, request: Request, response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=console.secure(request), path="/")


# -- signing in and out ------------------------------------------------------------------------------

def _login_page(console: Console, request: Request, lang: str, status: int = 200, error: str = "",
                username: str = "") -> Response:
    token = secrets.token_urlsafe(24)
    response = html(console, request, lang, "login.html", status, csrf=token, error=error, username=username, user="",
                    rights=None)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=console.secure(request), path="/login")
    return response


def login_endpoint(console: Console) -> Callable[[Request], Awaitable[Response]]:
    async def login(request: Request) -> Response:
        lang = lang_of(request)
        try:
            response = await _login(console, request, lang)
        except BadInput as exc:
            response = error_page(console, request, lang, exc.status, exc.code, exc.message, exc.message_en)
        except Exception as exc:
            logger.exception("internal error on %s /login", request.method)
            response = error_page(console, request, lang, 500, "internal_error", f"控制台内部错误（`{type(exc).__name__}`）",
                              f"internal error (`{type(exc).__name__}`)")
        return _finish(console, request, response, lang)

    return login


async def _login(console: Console, request: Request, lang: str) -> Response:
    if request.method == "GET":
        token = request.cookies.get(SESSION_COOKIE, "")
        header = console.options.trusted_header
        signed = token and await run_in_threadpool(session_of, console.db, token) is not None
        if signed or (header is not None and console.trusted_peer(request) and request.headers.get(header, "").strip()):
            return RedirectResponse("/policy", 303)
        return _login_page(console, request, lang)
    if not _same_origin(request):
        raise BadInput("请求不是来自本控制台的页面（Origin/Referer 不符）", "the request does not come from a page of this console "
                       "(Origin/Referer)", "cross_origin", 403)
    form = await read_form(request, MAX_FORM)
    given = (form.get("csrf") or [""])[-1]
    kept = request.cookies.get(LOGIN_COOKIE, "")
    if not kept or not hmac.compare_digest(given.encode("utf-8", "replace"), kept.encode("utf-8", "replace")):
        raise BadInput("登录表单已失效（CSRF 校验未通过）：请刷新页面后重试", "the sign-in form has expired (CSRF check failed): "
                       "reload the page and try again", "csrf_mismatch", 403)
    user = (form.get("username") or [""])[-1].strip()
    password = (form.get("password") or [""])[-1]
    ok = bool(user) and len(user) <= 200 and await run_in_threadpool(check_password, console.db, user, password)
    if not ok:
        await run_in_threadpool(lambda: audit(console.db, by=user[:200] or "-", kind="signin_failed", what="password"))
        return _login_page(console, request, lang, 401, pick(lang, "用户名或密码不正确", "wrong user name or password"), user[:200])
    token, _ = await run_in_threadpool(new_session, console.db, user)
    await run_in_threadpool(lambda: audit(console.db, by=user, kind="signin", what="password"))
    response = RedirectResponse("/policy", 303)
    _session_cookie(console, request, response, token)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


# -- the static files and the headers of every answer ---------------------------------------------------

STATIC = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}


def static_file(name: str) -> Callable[[Request], Awaitable[Response]]:
    content = (HERE / "static" / name).read_bytes()

    async def static(request: Request) -> Response:
        return Response(content, media_type=STATIC[name], headers={"cache-control": "public, max-age=3600"})

    return static


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every answer, the 404s and the static files too."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


