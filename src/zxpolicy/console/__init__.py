"""The compliance console (``zxpolicy console``): the policy, trying a request, reviewing and
approving changes, and signing off the daily check, in a browser.

    db = open_console_db("decisions.db")           # the decision log's database (or postgresql://…)
    add_user(db, "u-supervisor-hq", password)      # argon2id; the password itself is never kept
    console_rights(engine, "u-supervisor-hq")      # view / review / propose / approve, from the policy
    record_outcome(db, day=..., seq=..., outcome="violation", ...)   # 逐笔核实
    sign_off(db, day=..., by=..., head_seq=..., head_hash=..., flagged=[...])

    _db        the console's tables in the decision log's database, numbered migrations
    _accounts  local accounts (argon2id) and server-side sessions
    _rights    what a console user may do, decided from the policy's `console` section
    _ledger    the daily review's outcomes and sign-offs; the audit trail of views and actions
    _pages     what each page shows: the policy's matrices and chains, a try's stages, the
               recorded diff's rows, the daily check's lines and calendar, the quarter's summary
    _web       the request pipeline: signing in (accounts, a trusted proxy's header), CSRF and
               same-origin checks, bounded forms, rights at every request, the audit of every
               view and action, security headers
    _views     the pages and actions, one function each
    _app       the routes (Starlette, Jinja2); ``run_console`` serves them with uvicorn
    _demo      ``zxpolicy console demo``: a folder with a store, a log and accounts
    templates/, static/   the pages and their one stylesheet and one small script

    app = build_console_app(ConsoleOptions(store="sqlite:///store.db", log="decisions.db"))
    run_console(ConsoleOptions(...))               # zxpolicy console --store ... --log ...
"""

from ._accounts import (
    ABSOLUTE,
    IDLE,
    MIN_PASSWORD,
    Session,
    add_user,
    check_password,
    end_session,
    new_session,
    session_of,
    user_ids,
)
from ._app import SECURITY_HEADERS, ConsoleOptions, build_console_app, check_console_options, run_console
from ._db import ConsoleDb, open_console_db
from ._demo import Demo, make_demo
from ._ledger import (
    AUDIT_KINDS,
    DAY_STATES,
    OUTCOME_LABELS,
    OUTCOMES,
    LedgerEntry,
    LedgerFinding,
    audit,
    audit_entries,
    day_states,
    outcomes,
    record_outcome,
    sign_off,
    signoff,
    verify_audit,
    verify_ledger,
)
from ._rights import RIGHT_LABELS, RIGHTS, ConsoleRights, console_rights

__all__ = [
    "ABSOLUTE",
    "AUDIT_KINDS",
    "DAY_STATES",
    "IDLE",
    "MIN_PASSWORD",
    "OUTCOMES",
    "OUTCOME_LABELS",
    "RIGHTS",
    "RIGHT_LABELS",
    "SECURITY_HEADERS",
    "ConsoleDb",
    "ConsoleOptions",
    "ConsoleRights",
    "Demo",
    "LedgerEntry",
    "LedgerFinding",
    "Session",
    "add_user",
    "audit",
    "audit_entries",
    "build_console_app",
    "check_console_options",
    "check_password",
    "console_rights",
    "day_states",
    "end_session",
    "make_demo",
    "new_session",
    "open_console_db",
    "outcomes",
    "record_outcome",
    "run_console",
    "session_of",
    "sign_off",
    "signoff",
    "user_ids",
    "verify_audit",
    "verify_ledger",
]
