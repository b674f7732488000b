"""Running the service: options checked before the listener opens, uvicorn, workers and signals.

``serve(options)`` checks what can be checked before a port is opened (the policy loads, the
tokens file reads, the TLS files load, a non-loopback address is authenticated), then runs
uvicorn: one process, or ``--workers N`` processes sharing the socket, each with its own live
policy (each follows the source), all writing the same log and the same metrics folder.

Signals: SIGTERM (and Ctrl-C) stops accepting, lets the requests in flight finish, then exits
(uvicorn's graceful shutdown). SIGHUP reloads the policy (``LivePolicy.reload``) and the tokens
file, in every worker; the supervisor of several workers passes it on to each.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import shutil
import signal
import ssl
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors.multiprocess import Multiprocess

from .._errors import LogError, ServeError, ZxpolicyError
from ..live import watch
from ..log import open_log
from ._app import TLS_CN, KeptLog, Service, build_app
from ._auth import Tokens, load_tokens, subject_cn
from ._metrics import Metrics

__all__ = ["ServeOptions", "build_service", "check_options", "serve"]

logger = logging.getLogger("zxpolicy.serve")

_ENV = "ZXPOLICY_SERVE_OPTIONS"  # the options, as JSON, for the worker processes
_POLL_S = 1.0  # how often a worker adds the live policy's reloads to its metrics


@dataclass(frozen=True)
class ServeOptions:
    policy: str
    log: str | None = None
    host: str = "127.0.0.1"
    port: int = 8181
    workers: int = 1
    tokens: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None
    insecure: bool = False
    cache_dir: str | None = None
    drain_seconds: int = 30


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_options(o: ServeOptions) -> list[str]:
    """What can be refused before anything starts; ``ServeError`` for the first problem. Returns
    the warnings to print at start."""
    warnings = []
    if o.workers < 1:
        raise ServeError("bad_workers", "`--workers`应至少为 1", "`--workers` must be at least 1")
    if (o.tls_cert is None) != (o.tls_key is None):
        raise ServeError("tls_incomplete", "`--tls-cert`与`--tls-key`须同时给出", "give both `--tls-cert` and `--tls-key`")
    if o.tls_client_ca is not None and o.tls_cert is None:
        raise ServeError("tls_incomplete", "`--tls-client-ca`需要`--tls-cert`与`--tls-key`",
                         "`--tls-client-ca` needs `--tls-cert` and `--tls-key`")
    if o.tls_cert is not None:
        try:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(o.tls_cert, o.tls_key)
            if o.tls_client_ca is not None:
                context.load_verify_locations(o.tls_client_ca)
        except (OSError, ssl.SSLError) as exc:
            said = " ".join(str(exc).split())[:200]
            raise ServeError("tls_unusable", f"TLS 证书或密钥无法加载：{said}", f"the TLS certificate or key does not load: {said}") from None
    if o.tokens is not None:
        load_tokens(o.tokens)
    if not is_loopback(o.host) and o.tokens is None and o.tls_client_ca is None:
        if not o.insecure:
            raise ServeError(
                "open_listener",
                f"拒绝在非本机地址`{o.host}`上无身份认证地监听：请给出`--tokens`或`--tls-client-ca`（或`--insecure`）",
                f"refusing to listen on `{o.host}`, not a loopback address, without authentication: give `--tokens` "
                "or `--tls-client-ca` (or `--insecure`)",
            )
        warnings.append(f"WARNING: --insecure: listening on {o.host} with no authentication; any caller may ask")
    return warnings


def build_service(o: ServeOptions) -> Service:
    """The service a worker runs: its live policy (and log), tokens and metrics."""
    metrics = Metrics()
    kept: KeptLog | None = None
    if o.log is not None:
        kept = KeptLog(open_log(o.log), o.log, metrics)
    try:
        live = watch(o.policy, log=kept, cache_dir=o.cache_dir)
    except BaseException:
        if kept is not None:
            kept.close()
        raise
    tokens: Tokens | None = load_tokens(o.tokens) if o.tokens is not None else None
    return Service(live, metrics, tokens, o.tls_client_ca is not None, kept)


def _lifespan(service: Service, o: ServeOptions) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async def poll() -> None:
            while True:
                s = service.live.status()
                service.metrics.reload_counts(s.reloads, s.failed_reloads)
                await asyncio.sleep(_POLL_S)

        task = asyncio.get_running_loop().create_task(poll())
        try:
            yield
        finally:
            task.cancel()
            service.live.close()
            if service.log is not None:
                service.log.close()

    return lifespan


def _on_hup(service: Service, o: ServeOptions) -> None:
    """SIGHUP: reload the policy and the tokens file, off the signal handler."""

    def reload() -> None:
        replaced = service.live.reload()
        logger.info("SIGHUP: policy %s (%s)", "replaced" if replaced else "unchanged", service.live.version)
        if o.tokens is not None:
            try:
                service.tokens = load_tokens(o.tokens)
            except ZxpolicyError as exc:
                logger.warning("SIGHUP: the tokens file does not load; the previous tokens stay: %s", exc)

    signal.signal(signal.SIGHUP, lambda sig, frame: threading.Thread(target=reload, daemon=True).start())


def _log_to_stderr() -> None:
    """zxpolicy's own messages (reloads, SIGHUP, faults) beside uvicorn's, on stderr."""
    root = logging.getLogger("zxpolicy")
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)


def app_factory() -> Any:
    """The ASGI app of one worker, from the options the command put in the environment."""
    _log_to_stderr()
    o = ServeOptions(**json.loads(os.environ[_ENV]))
    service = build_service(o)
    _on_hup(service, o)
    return build_app(service, _lifespan(service, o))


class TlsHttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, with the client certificate's CN in each request's scope
    (``scope["extensions"]["tls"]``): the handshake has verified it against the client CA."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        cn = None
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            cert = ssl_object.getpeercert()
            if cert:
                cn = subject_cn(cert.get("subject", ()))
        self._zx_tls = {TLS_CN: cn}

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["extensions"] = {"tls": self._zx_tls}  # type: ignore[dict-item]


class _Supervisor(Multiprocess):
    """uvicorn's supervisor of several workers, passing SIGHUP on to each (uvicorn's own would
    replace every worker): each reloads its live policy."""

    def handle_hup(self) -> None:
        for process in self.processes:
            if process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGHUP)


@contextlib.contextmanager
def _metrics_dir(workers: int) -> Iterator[None]:
    """With several workers, a folder for their metrics (prometheus-client's multiprocess mode):
    ``$PROMETHEUS_MULTIPROC_DIR`` when it is set (its files of an earlier run are removed
    first), else a fresh one, removed at the end."""
    if workers == 1:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        yield
        return
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        os.makedirs(given, exist_ok=True)
        for name in os.listdir(given):
            if name.endswith(".db"):
                os.remove(os.path.join(given, name))
        yield
        return
    folder = tempfile.mkdtemp(prefix="zxpolicy-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    try:
        yield
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(folder, ignore_errors=True)


def serve(o: ServeOptions) -> int:
    """Run the service until SIGTERM or Ctrl-C; the exit code."""
    for line in check_options(o):
        print(line, flush=True)
    try:  # the policy must load here, once, so that a mistake is one line, not a worker's traceback
        watch(o.policy, cache_dir=o.cache_dir).close()
        if o.log is not None:
            open_log(o.log).close()
    except LogError as exc:
        raise ServeError("log_unusable", exc.message, exc.message_en) from None
    os.environ[_ENV] = json.dumps(asdict(o))
    with _metrics_dir(o.workers):
        config = uvicorn.Config(
            "zxpolicy.serve._run:app_factory", factory=True, host=o.host, port=o.port, workers=o.workers,
            http=TlsHttpProtocol if o.tls_client_ca else "httptools", loop="auto", lifespan="on",
            access_log=False, server_header=False, timeout_graceful_shutdown=o.drain_seconds,
            ssl_certfile=o.tls_cert, ssl_keyfile=o.tls_key, ssl_ca_certs=o.tls_client_ca,
            ssl_cert_reqs=ssl.CERT_REQUIRED if o.tls_client_ca else ssl.CERT_NONE,
        )
        server = uvicorn.Server(config)
        if o.workers > 1:
            _Supervisor(config, sockets=[config.bind_socket()]).run()
            return 0
        server.run()
        return 0 if server.started else 2

