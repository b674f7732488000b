"""``zxpolicy serve``: the decision service; ``zxpolicy token``: a new token for its tokens file.

``zxpolicy.serve`` (Starlette, uvicorn, prometheus-client) is imported when one of these runs,
not when ``zxpolicy check`` starts.
"""

from __future__ import annotations

import sys

import click

from .._diagnostic import localized
from .._errors import PolicyError, ServeError, StoreError
from . import main
from ._common import EXIT_ERROR, POLICY_HELP, lang_option, one_line, policy_dir, policy_error_text

_STORES = ("sqlite:///", "postgresql://", "postgres://")
SCOPES = ("check", "explain", "admin")  # zxpolicy.serve.SCOPES (a test holds them equal)


@main.command("serve")
@click.option("--policy", metavar="DIR|URL", help=POLICY_HELP + " Or a policy store: sqlite:///PATH, postgresql://…")
@click.option("--log", "log_target", metavar="PATH|URL", help="Write every decision to this decision log (SQLite file or postgresql:// URL).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8181, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--tokens", type=click.Path(dir_okay=False), help="Tokens file (YAML or JSON): name, scopes, sha256 of each token.")
@click.option("--tls-cert", type=click.Path(dir_okay=False), help="Server certificate (PEM) for HTTPS.")
@click.option("--tls-key", type=click.Path(dir_okay=False), help="Server private key (PEM).")
@click.option("--tls-client-ca", type=click.Path(dir_okay=False), help="Require client certificates signed by this CA (PEM); the CN names the caller.")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="Keep the last good policy here, to start from when the source is down.")
@click.option("--insecure", is_flag=True, help="Allow a non-loopback address without --tokens or --tls-client-ca.")
@lang_option
def serve_command(
    policy: str | None, log_target: str | None, host: str, port: int, workers: int, tokens: str | None,
    tls_cert: str | None, tls_key: str | None, tls_client_ca: str | None, cache_dir: str | None, insecure: bool, lang: str,
) -> None:
    """Serve decisions over HTTP: POST /v1/check takes the JSON of `zxpolicy check --json`.

    The policy is live: a change of the directory (or a publish to the store) is loaded and put
    in place without a restart; SIGHUP reloads it now, SIGTERM drains the requests in flight and
    exits. The API is at /openapi.json and /docs (see docs/SERVICE.md).

    \b
    Example:
      zxpolicy serve --policy policies
      zxpolicy serve --policy sqlite:///store.db --log decisions.db --tokens tokens.yaml \\
          --host 0.0.0.0 --tls-cert server.pem --tls-key server.key --workers 2
    """
    from ..serve import ServeOptions, serve

    if policy is not None and policy.startswith(_STORES):
        source = policy
    else:
        source = str(policy_dir(policy))
    options = ServeOptions(
        policy=source, log=log_target, host=host, port=port, workers=workers, tokens=tokens, tls_cert=tls_cert,
        tls_key=tls_key, tls_client_ca=tls_client_ca, insecure=insecure, cache_dir=cache_dir,
    )
    try:
        code = serve(options)
    except PolicyError as exc:
        click.echo(policy_error_text(exc, lang), err=True)
        sys.exit(EXIT_ERROR)
    except (ServeError, StoreError) as exc:
        click.echo(one_line(localized(exc, lang)), err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(code)


@main.command("token")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice(SCOPES), help="A scope of the token (repeatable).")
def token_command(name: str, scopes: tuple[str, ...]) -> None:
    """Make a new token for NAME: the token is printed once, with the entry for the tokens file.

    \b
    Example:
      zxpolicy token loan-system --scope check
      zxpolicy token ops --scope check --scope explain --scope admin
    """
    from ..serve import hash_token, new_token

    token = new_token()
    ordered = [s for s in SCOPES if s in scopes]
    click.echo(token)
    click.echo(f"# give the token above to `{name}` (it is not stored anywhere); add to the tokens file, under `tokens:`:", err=True)
    click.echo(f"  - {{name: {name}, scopes: [{', '.join(ordered)}], sha256: {hash_token(token)}}}", err=True)
