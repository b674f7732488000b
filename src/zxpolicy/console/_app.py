"""The console's web application: its routes, and running it with uvicorn.

    app = build_console_app(ConsoleOptions(store="sqlite:///store.db", log="decisions.db"))
    run_console(options)          # zxpolicy console --store ... --log ...

The pipeline every request goes through (signing in, CSRF, rights, the audit trail) is in
``_web``; the pages and actions in ``_views``; what they show in ``_pages``.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .._errors import ConsoleError, LogError
from . import _views as v
from ._web import (
    MAX_FORM,
    MAX_PROPOSAL,
    SECURITY_HEADERS,
    STATIC,
    Console,
    ConsoleOptions,
    Handler,
    Page,
    SecurityHeaders,
    check_console_options,
    error_page,
    lang_of,
    login_endpoint,
    open_console,
    static_file,
)

__all__ = ["SECURITY_HEADERS", "ConsoleOptions", "build_console_app", "check_console_options", "run_console"]


def build_console_app(options: ConsoleOptions, console: Console | None = None) -> Any:
    """The console's ASGI application on ``options`` (the store, its live policy, the log and the
    console's tables are opened now, and closed when the application shuts down)."""
    c = open_console(options) if console is None else console.with_options(options)

    def page(handler: Handler, right: str, limit: int = MAX_FORM) -> Page:
        return Page(c, handler, right, limit)

    def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        path = request.url.path[:80]
        if status == 405:
            return error_page(c, request, lang_of(request), 405, "method_not_allowed", f"此地址不支持方法`{request.method}`",
                              f"method `{request.method}` is not allowed here")
        return error_page(c, request, lang_of(request), 404, "not_found", f"没有这个地址`{path}`", f"no such path `{path}`")

    async def root(request: Request) -> Response:
        return RedirectResponse("/policy", 303)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        try:
            yield
        finally:
            c.close()

    login = login_endpoint(c)
    routes = [
        Route("/", root, methods=["GET"]),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", page(v.logout, "view"), methods=["POST"]),
        Route("/policy", page(v.policy_page, "view"), methods=["GET"]),
        Route("/try", page(v.try_page, "view"), methods=["GET", "POST"]),
        Route("/changes", page(v.changes_page, "view"), methods=["GET"]),
        Route("/changes/propose", page(v.propose_form, "propose"), methods=["GET"]),
        Route("/changes/propose", page(v.propose_action, "propose", MAX_PROPOSAL), methods=["POST"]),
        Route("/changes/propose/file", page(v.propose_file, "propose"), methods=["GET"]),
        Route("/changes/history", page(v.history_page, "view"), methods=["GET"]),
        Route("/changes/report.md", page(v.change_report_download("md"), "view"), methods=["GET"]),
        Route("/changes/report.csv", page(v.change_report_download("csv"), "view"), methods=["GET"]),
        Route("/changes/{rev}", page(v.change_page, "view"), methods=["GET"]),
        Route("/changes/{rev}/approve", page(v.approve_action, "approve"), methods=["POST"]),
        Route("/changes/{rev}/reject", page(v.reject_action, "approve"), methods=["POST"]),
        Route("/daily", page(v.daily_view, "view"), methods=["GET"]),
        Route("/daily/{day}/outcome", page(v.outcome_action, "review"), methods=["POST"]),
        Route("/daily/{day}/signoff", page(v.signoff_action, "review"), methods=["POST"]),
        Route("/reports", page(v.reports_page, "view"), methods=["GET"]),
        Route("/reports/monthly", page(v.monthly_page, "view"), methods=["GET"]),
        Route("/reports/monthly.md", page(v.monthly_download("md"), "view"), methods=["GET"]),
        Route("/reports/monthly.csv", page(v.monthly_download("csv"), "view"), methods=["GET"]),
        Route("/reports/quarterly", page(v.quarterly_page, "view"), methods=["GET"]),
        Route("/reports/quarterly.md", page(v.quarterly_download("md"), "view"), methods=["GET"]),
        Route("/reports/quarterly.csv", page(v.quarterly_download("csv"), "view"), methods=["GET"]),
        *(Route(f"/static/{name}", static_file(name), methods=["GET"]) for name in STATIC),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found}, lifespan=lifespan)
    app.state.console = c
    return SecurityHeaders(app)


def _port_free(host: str, port: int) -> None:
    """Refuse, in one line, an address that cannot be listened on (uvicorn would say it in several)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(infos[0][4])
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise ConsoleError("address_unavailable", f"无法在 {host}:{port} 上监听：{why}", f"cannot listen on {host}:{port}: {why}") from None


def _prepare(console: Console) -> None:
    """Before the port opens: the log's whole chain verified, and the pages a reviewer opens
    first made (``_views.prepare``), so that a first view pays neither. A log that does not
    verify, or a policy without reports, does not stop the console: the pages that need them
    say so."""
    try:
        v.prepare(console)
        seq, _ = console.verified_head()
        print(f"decision log verified up to record {seq}", flush=True)
    except (LogError, ConsoleError) as exc:
        print(f"WARNING: {exc.message_en}", flush=True)


def run_console(o: ConsoleOptions) -> int:
    """Serve the console until SIGTERM or Ctrl-C; the exit code. Raises ``ConsoleError`` for
    options, a store or a log that cannot be used, before the port is opened."""
    for line in check_console_options(o):
        print(line, flush=True)
    _port_free(o.host, o.port)
    app = build_console_app(o)
    _prepare(app.app.state.console)
    config = uvicorn.Config(app, host=o.host, port=o.port, lifespan="on", access_log=False, server_header=False,
                            proxy_headers=False, ssl_certfile=o.tls_cert, ssl_keyfile=o.tls_key, log_level="info")
    server = uvicorn.Server(config)
    scheme = "https" if o.tls_cert else "http"
    print(f"zxpolicy console: {scheme}://{o.host}:{o.port}/ (store {app.app.state.console.store.shown}, log {o.log})", flush=True)
    server.run()
    return 0 if server.started else 2
