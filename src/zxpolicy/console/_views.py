"""The console's pages and actions: one function each, from a request (``Ctx``) to an answer.

Each is called by the pipeline (``_web.Page``) once the person is known, the form read and
checked, and the right the route needs held; each fills ``ctx.detail`` with what the audit
trail keeps of an action. What a page shows is built in ``_pages``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.responses import RedirectResponse, Response

from .._diagnostic import Reason
from .._errors import ConsoleError, LogError, StoreError
from ..log import DailyRow, MonthlyReport, daily_check, monthly_report
from ..policy import Labels, Reporting
from ..store import change_report, publish, since, verify_entries
from ._accounts import end_session
from ._ledger import OUTCOME_LABELS, OUTCOMES, audit, day_states, outcomes, record_outcome, sign_off, signoff
from ._pages import (
    PAGE_ROWS,
    BadInput,
    calendar,
    closed,
    daily_lines,
    day_lines,
    diff_groups,
    month_bounds,
    parse_day,
    parse_month,
    parse_try_form,
    policy_view,
    quarter_csv,
    quarter_days,
    quarter_markdown,
    quarter_summary,
    recorded_counts,
    result_view,
    revision_view,
    state_label,
    version_view,
    zone_of,
)
from ._web import MAX_FILE, SESSION_COOKIE, Console, Ctx, Handler, reason_of


def logout(ctx: Ctx) -> Response:
    token = ctx.request.cookies.get(SESSION_COOKIE, "")
    if token:
        end_session(ctx.console.db, token)
    audit(ctx.console.db, by=ctx.user, kind="signout", what="logout")
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- 策略 ---------------------------------------------------------------------------------------------

def policy_page(ctx: Ctx) -> Response:
    engine = ctx.console.engine
    view = ctx.console.policy_pages.get((engine.policy_version, id(engine), ctx.lang), lambda: policy_view(engine.document, ctx.lang))
    return ctx.render("policy.html", version=version_view(ctx.console.live.status(), ctx.lang), view=view)


# -- 试算 ---------------------------------------------------------------------------------------------

def _try_choices(ctx: Ctx) -> dict[str, Any]:
    doc = ctx.console.engine.document
    labels = Labels.of(doc)
    return {
        "people": [(a.id, a.zh or a.id) for a in doc.assignments[:5000]],
        "actions": [(a.id, labels.name("actions", a.id, ctx.lang)) for a in doc.actions],
        "purposes": [(p.id, labels.name("purposes", p.id, ctx.lang)) for p in doc.purposes],
        "kinds": [(k.id, labels.name("kinds", k.id, ctx.lang)) for k in doc.kinds],
        "levels": [(lv.id, labels.name("levels", lv.id, ctx.lang)) for lv in doc.levels],
        "orgs": [(o.id, labels.name("orgs", o.id, ctx.lang)) for o in doc.orgs],
    }


def try_page(ctx: Ctx) -> Response:
    result = None
    values: dict[str, list[str]] = {}
    if ctx.request.method == "POST":
        values = ctx.form
        for name, limit in (("approvals", 20_000), ("evidence", 20_000)):
            ctx.field(name, limit)
        engine = ctx.console.engine
        request = parse_try_form(ctx.form, engine.document)
        for name in ("subject", "purpose", "action"):
            if len(str(request[name])) > 200:
                raise BadInput(f"`{name}`过长", f"`{name}` is too long", "field_too_long")
        explanation = engine.explain(request["subject"], request["resource"], request["purpose"], action=request["action"],
                                     consent=request["consent"], approvals=request["approvals"],
                                     evidence=request["evidence"], at=request["at"])
        result = result_view(explanation, engine.document, ctx.lang)
        ctx.detail.update({"subject": str(request["subject"]), "action": str(request["action"]),
                           "purpose": str(request["purpose"]), "allowed": str(result.allowed).lower()})
    return ctx.render("try.html", choices=_try_choices(ctx), values=values, result=result)


# -- 变更 ---------------------------------------------------------------------------------------------

def _zone(ctx: Ctx) -> str:
    return zone_of(ctx.console.engine.document).key


def changes_page(ctx: Ctx) -> Response:
    revisions = ctx.console.store.revisions()
    zone = _zone(ctx)
    proposals = [revision_view(r, ctx.lang, zone) for r in revisions if r.state == "proposed"]
    return ctx.render("changes.html", proposals=proposals, current=ctx.console.store.current_revision())


def _revision_number(ctx: Ctx) -> int:
    text = str(ctx.request.path_params.get("rev", ""))
    if not text.isdigit() or len(text) > 9:
        raise BadInput(f"版本号应为正整数：{text[:20]}", f"the revision must be a whole number: {text[:20]}", "revision_invalid")
    return int(text)


def _change(ctx: Ctx, number: int, status: int = 200, refusal: Reason | None = None) -> Response:
    store = ctx.console.store
    try:
        r = store.revision(number)
    except StoreError as exc:
        if exc.code == "revision_unknown":
            raise BadInput(exc.message, exc.message_en, exc.code, 404) from None
        raise
    rights = ctx.rights
    assert rights is not None
    may = None
    if r.state != "proposed":
        may = Reason("proposal_closed", "", "", f"第 {r.revision} 版不在待审批状态（{revision_view(r, 'zh').state_label}）",
                     f"revision {r.revision} is not open for approval ({revision_view(r, 'en').state_label})")
    elif r.proposed_by == ctx.user:
        may = Reason("approver_is_proposer", "", "", f"`{ctx.user}`提出了第 {r.revision} 版，不能自己审批；须由另一人审批",
                     f"`{ctx.user}` proposed revision {r.revision} and cannot approve it: another person must")
    elif not rights.has("approve"):
        may = rights.refusal("approve")
    diff = r.diff or {}
    intro, groups = diff_groups(str(diff.get("markdown_en" if ctx.lang == "en" else "markdown", "")))
    return ctx.render("change.html", status, r=revision_view(r, ctx.lang, _zone(ctx)), gates=r.gates, intro=intro, groups=groups,
                      first=bool(diff.get("first")), refusal=refusal or may, may_approve=may is None)


def change_page(ctx: Ctx) -> Response:
    return _change(ctx, _revision_number(ctx))


def _decide(ctx: Ctx, approve: bool) -> Response:
    number = _revision_number(ctx)
    comment = ctx.field("comment", 2000).strip()
    ctx.detail.update({"revision": str(number), "comment": comment})
    store = ctx.console.store
    try:
        if approve:
            store.approve(number, by=ctx.user)
        else:
            store.reject(number, by=ctx.user, message=comment)
    except StoreError as exc:
        ctx.detail["refused"] = exc.code
        return _change(ctx, number, 409, reason_of(exc))
    if approve:
        ctx.console.live.reload()  # the console's own engine runs it now, not at the next poll
    return RedirectResponse(f"/changes/{number}", 303)


def approve_action(ctx: Ctx) -> Response:
    return _decide(ctx, True)


def reject_action(ctx: Ctx) -> Response:
    return _decide(ctx, False)


def _current_files(ctx: Ctx) -> dict[str, str]:
    current = ctx.console.store.current()
    if current is None:
        raise ConsoleError("store_empty", "策略库中还没有已批准的版本", "the store has no approved version yet")
    return current.files


def propose_page(ctx: Ctx, status: int = 200, published: Any = None, refusal: Reason | None = None) -> Response:
    files = _current_files(ctx)
    names = sorted(files)
    chosen = (ctx.form.get("file") or [""])[-1] if ctx.form else ctx.arg("file")
    if chosen not in files:
        chosen = "grants.yaml" if "grants.yaml" in files else names[0]
    content = (ctx.form.get("content") or [""])[-1] if ctx.form else files[chosen]
    return ctx.render("propose.html", status, files=names, chosen=chosen, content=content,
                      message=(ctx.form.get("message") or [""])[-1] if ctx.form else "",
                      allow_widening=bool(ctx.form.get("allow_widening")), published=published, refusal=refusal)


def propose_file(ctx: Ctx) -> Response:
    files = _current_files(ctx)
    name = ctx.arg("name")
    if name not in files:
        raise BadInput(f"当前版本没有文件`{name[:80]}`", f"the current version has no file `{name[:80]}`", "file_unknown", 404)
    return Response(files[name], media_type="text/plain; charset=utf-8", headers={"cache-control": "no-store"})


def propose_action(ctx: Ctx) -> Response:
    files = dict(_current_files(ctx))
    name = ctx.field("file", 200, required=True, label=("文件", "file"))
    if name not in files:
        raise BadInput(f"当前版本没有文件`{name[:80]}`", f"the current version has no file `{name[:80]}`", "file_unknown")
    content = ctx.field("content", MAX_FILE, label=("文件内容", "file's text")).replace("\r\n", "\n")
    message = ctx.field("message", 2000, required=True, label=("变更说明", "message")).strip()
    widening = bool(ctx.form.get("allow_widening"))
    files[name] = content
    ctx.detail.update({"file": name, "message": message, "allow_widening": str(widening).lower()})
    try:
        done = publish(files, ctx.console.store, by=ctx.user, message=message, allow_widening=widening)
    except StoreError as exc:
        return propose_page(ctx, 409, refusal=reason_of(exc))
    if done.revision is None:
        ctx.detail["refused"] = done.refused_en
        return propose_page(ctx, 409, published=done, refusal=Reason("proposal_refused", "", "", done.refused, done.refused_en))
    ctx.detail["revision"] = str(done.revision)
    return RedirectResponse(f"/changes/{done.revision}", 303)


def propose_form(ctx: Ctx) -> Response:
    return propose_page(ctx)


def _since(ctx: Ctx) -> date | None:
    text = ctx.arg("since").strip()
    return parse_day(text, "since") if text else None


def _history(ctx: Ctx) -> list[Any]:
    store = ctx.console.store
    entries = store.entries()
    finding = verify_entries(entries)
    if finding is not None:  # a report on an edited history would vouch for the edit
        raise ConsoleError("store_history_broken", f"策略库的历史记录在第 {finding.seq} 条处被改动，不出报告：{finding.message}",
                           f"the store's history is broken at entry {finding.seq}; no report: {finding.message_en}")
    return since(store.revisions(entries), _since(ctx), _zone(ctx))


def history_page(ctx: Ctx) -> Response:
    revisions = _history(ctx)
    zone = _zone(ctx)
    day = _since(ctx)
    query = f"?since={day.isoformat()}" if day else ""
    return ctx.render("history.html", revisions=[revision_view(r, ctx.lang, zone) for r in reversed(revisions)],
                      since=day.isoformat() if day else "", query=query)


def _download(text: str, name: str) -> Response:
    csv = name.endswith(".csv")
    body = ("\ufeff" + text) if csv else text  # a BOM: spreadsheets read the CSV as UTF-8
    kind = "text/csv; charset=utf-8" if csv else "text/markdown; charset=utf-8"
    return Response(body.encode("utf-8"), media_type=kind,
                    headers={"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"})


def change_report_download(fmt: str) -> Handler:
    def download(ctx: Ctx) -> Response:
        day = _since(ctx)
        text = change_report(_history(ctx), fmt, ctx.lang, _zone(ctx), day.isoformat() if day else "")
        return _download(text, f"change-report{'-since-' + day.isoformat() if day else ''}.{fmt}")

    return download


# -- 日核查 -------------------------------------------------------------------------------------------

def _today(ctx: Ctx) -> date:
    return datetime.now(zone_of(ctx.console.engine.document)).date()


def _daily_day(ctx: Ctx, text: str) -> date:
    """The day asked for; by default ``review_day``."""
    return parse_day(text) if text else review_day(ctx.console)


def review_day(console: Console) -> date:
    """The day the daily check opens on: the day the newest decision was written, when that is
    before today, else yesterday."""
    zone = zone_of(console.engine.document)
    today = datetime.now(zone).date()
    try:
        last = console.log.row_at(console.log.head()[0])
        written = datetime.fromisoformat(last.logged_at).astimezone(zone).date() if last else None
    except (LogError, ValueError):
        written = None
    return written if written is not None and written < today and last is not None and last.seq > 0 else today - timedelta(days=1)


def prepare(console: Console) -> None:
    """What the console's first pages will show, made before anyone asks (at start, off the
    request path): the log's chain verified, the daily check of ``review_day``, last month's
    report and this quarter's days. A page of another day or month reads its period on its first
    view. A log that does not verify is said by the pages that need it."""
    head = console.chain.head()
    settings = console.settings()
    today = datetime.now(zone_of(console.engine.document)).date()
    _, first, last = quarter_days(f"{today.year}-Q{(today.month - 1) // 3 + 1}")
    while first <= min(last, today):
        lines_of(console, settings, first, head)
        first += timedelta(days=1)
    last_month = today.replace(day=1) - timedelta(days=1)
    month_report(console, settings, last_month.year, last_month.month, {})
    console.daily.get(console.log, settings, review_day(console), head)  # last: the days above pass through the same cache


def lines_of(console: Console, settings: Reporting, day: date, head: tuple[int, str]) -> tuple[int, frozenset[int]]:
    """A day's count of queries and its flagged seqs, from its daily check (kept, a day that is
    over once)."""
    rules = settings.model_dump_json()
    key = (day, rules) if closed(day, settings) else (day, rules, head[0])
    return console.days.get(key, lambda: day_lines(console.daily.get(console.log, settings, day, head)))


def daily_page(ctx: Ctx, day: date | None = None, status: int = 200, refusal: Reason | None = None) -> Response:
    console = ctx.console
    day = day or _daily_day(ctx, ctx.arg("date"))
    page_text = ctx.arg("page", "1") if ctx.request.method == "GET" else (ctx.form.get("page") or ["1"])[-1]
    only = (ctx.arg("only") if ctx.request.method == "GET" else (ctx.form.get("only") or [""])[-1]) == "flagged"
    if not page_text.isdigit() or not 0 < len(page_text) < 7 or int(page_text) < 1:
        raise BadInput(f"页码应为正整数：{page_text[:20]}", f"the page must be a positive whole number: {page_text[:20]}", "page_invalid")
    page = int(page_text)
    first, last = month_bounds(day)
    states = day_states(console.db, first, last)
    rows: Sequence[DailyRow] = ()
    check, problem = None, None
    try:
        check = console.daily.get(console.log, console.settings(), day, console.verified_head())
        rows = [r for r in check.rows if r.flags] if only else check.rows
    except (LogError, ConsoleError) as exc:
        problem = reason_of(exc)
    pages = max(1, -(-len(rows) // PAGE_ROWS))
    page = min(page, pages)
    shown = daily_lines(rows[(page - 1) * PAGE_ROWS: page * PAGE_ROWS], outcomes(console.db, day), ctx.lang)
    signed = signoff(console.db, day)
    rights = ctx.rights
    assert rights is not None
    prev_month = (first - timedelta(days=1)).replace(day=1)
    next_month = last + timedelta(days=1)
    return ctx.render(
        "daily.html", status, day=day, weeks=calendar(day, states), states=states, state_label=state_label,
        lines=shown, total=len(rows), flagged=check.flagged if check else 0, queries=len(check.rows) if check else 0,
        page=page, pages=pages, only=only, check=check, signed=signed, problem=problem, refusal=refusal,
        may_review=rights.has("review") and signed is None and check is not None,
        outcomes=[(o, OUTCOME_LABELS[o][0 if ctx.lang != "en" else 1]) for o in OUTCOMES],
        prev_month=prev_month, next_month=next_month, today=_today(ctx),
    )


def daily_view(ctx: Ctx) -> Response:
    return daily_page(ctx)


def _path_day(ctx: Ctx) -> date:
    return parse_day(str(ctx.request.path_params.get("day", "")))


def _back(day: date, ctx: Ctx, anchor: str = "") -> str:
    query = [("date", day.isoformat())]
    page = (ctx.form.get("page") or [""])[-1]
    if page.isdigit() and len(page) < 7 and page != "1":
        query.append(("page", page))
    if (ctx.form.get("only") or [""])[-1] == "flagged":
        query.append(("only", "flagged"))
    return "/daily?" + urlencode(query) + anchor


def outcome_action(ctx: Ctx) -> Response:
    console = ctx.console
    day = _path_day(ctx)
    seq_text = ctx.field("seq", 20, required=True, label=("日志序号", "log seq")).strip()
    if not seq_text.isdigit():
        raise BadInput(f"日志序号应为整数：{seq_text[:20]}", f"the log seq must be a whole number: {seq_text[:20]}", "seq_invalid")
    seq = int(seq_text)
    outcome = ctx.field("outcome", 20, required=True, label=("核实结果", "outcome"))
    note = ctx.field("note", 4000, label=("说明", "note"))
    reference = ctx.field("reference", 400, label=("业务编号", "reference"))
    ctx.detail.update({"day": day.isoformat(), "seq": str(seq), "outcome": outcome})
    try:
        check = console.daily.get(console.log, console.settings(), day, console.verified_head())
        row = next((r for r in check.rows if r.seq == seq), None)
        if row is None:
            raise BadInput(f"{day.isoformat()} 的日核查中没有日志序号 {seq}", f"the daily check of {day.isoformat()} has no log seq {seq}",
                           "seq_unknown")
        record_outcome(console.db, day=day, seq=seq, decision_id=row.decision_id, outcome=outcome, note=note,
                       reference=reference, by=ctx.user)
    except (ConsoleError, LogError) as exc:
        ctx.detail["refused"] = exc.code
        return daily_page(ctx, day, 409, reason_of(exc))
    return RedirectResponse(_back(day, ctx, f"#row-{seq}"), 303)


def signoff_action(ctx: Ctx) -> Response:
    console = ctx.console
    day = _path_day(ctx)
    ctx.detail["day"] = day.isoformat()
    try:
        check = daily_check(console.log, console.settings(), day)  # the whole chain verified now, before signing
        entry = sign_off(console.db, day=day, by=ctx.user, head_seq=check.head_seq, head_hash=check.head_hash,
                         flagged=[r.seq for r in check.rows if r.flags])
    except (ConsoleError, LogError) as exc:
        ctx.detail["refused"] = exc.code
        return daily_page(ctx, day, 409, reason_of(exc))
    ctx.detail["head"] = f"{entry.data.get('head_seq')}:{entry.data.get('head_hash')}"
    return RedirectResponse(_back(day, ctx), 303)


# -- 报表 ---------------------------------------------------------------------------------------------

def reports_page(ctx: Ctx) -> Response:
    today = _today(ctx)
    last_month = today.replace(day=1) - timedelta(days=1)
    quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    return ctx.render("reports.html", month=today.strftime("%Y-%m"), last_month=last_month.strftime("%Y-%m"), quarter=quarter)


def _monthly(ctx: Ctx) -> tuple[Any, str, dict[str, int], Reporting]:
    console = ctx.console
    today = _today(ctx)
    month = ctx.arg("month") or (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    year, number = parse_month(month)
    settings = console.settings()
    recorded = recorded_counts({k: [v] for k, v in ctx.request.query_params.items()}, settings)
    report = month_report(console, settings, year, number, recorded)
    return report, f"{year:04d}-{number:02d}", recorded, settings


def month_report(console: Console, settings: Reporting, year: int, number: int, recorded: dict[str, int]) -> MonthlyReport:
    """The month's report. The chain verified up to its head (only what is new since the last
    view), the month counted without verifying it again, then what was written meanwhile verified
    too: every record counted is one verified. Counted once for a month that is over, once per
    head for the current one; the register counts typed in are put in after."""
    head = console.verified_head()
    last_day = (date(year, number, 1) + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    period = (year, number, settings.model_dump_json())
    key = period if closed(last_day, settings) else (*period, head)

    def count() -> MonthlyReport:
        made = monthly_report(console.log, settings, year, number, None, verify=False)
        after = console.verified_head()
        return replace(made, verified=True, head_seq=after[0], head_hash=after[1])

    base = console.months.get(key, count)
    given = {c.id: recorded.get(c.id) for c in settings.categories if c.source == "recorded"}
    return replace(base, totals={**base.totals, **given})


def monthly_page(ctx: Ctx) -> Response:
    report, month, recorded, settings = _monthly(ctx)
    doc = ctx.console.engine.document
    labels = Labels.of(doc)
    query = urlencode([("month", month), *((f"count_{k}", str(v)) for k, v in recorded.items())])
    return ctx.render("monthly.html", report=report, month=month, recorded=recorded, categories=settings.categories,
                      orgs={o: labels.name("orgs", o, ctx.lang) for o in report.by_org}, query=query)


def monthly_download(fmt: str) -> Handler:
    def download(ctx: Ctx) -> Response:
        report, month, _, _ = _monthly(ctx)
        labels = Labels.of(ctx.console.engine.document)
        if fmt == "md":
            text = report.markdown(ctx.lang, {o: labels.name("orgs", o, ctx.lang) for o in report.by_org})
        else:
            text = report.csv(ctx.lang)
        return _download(text, f"monthly-report-{month}.{fmt}")

    return download


def _quarterly(ctx: Ctx) -> Any:
    console = ctx.console
    today = _today(ctx)
    name, first, last = quarter_days(ctx.arg("quarter") or f"{today.year}-Q{(today.month - 1) // 3 + 1}")
    settings = console.settings()
    head = console.verified_head()
    zone = _zone(ctx)
    revisions = [r for r in since(console.store.revisions(), first, zone)
                 if min(x for x in (r.proposed_at, r.closed_at) if x)[:10] <= last.isoformat()]
    return quarter_summary(
        name, first, last, today, head,
        lambda day: lines_of(console, settings, day, head),
        day_states(console.db, first, last), lambda day: outcomes(console.db, day),
        [revision_view(r, ctx.lang, zone) for r in revisions],
    )


def quarterly_page(ctx: Ctx) -> Response:
    summary = _quarterly(ctx)
    return ctx.render("quarterly.html", s=summary, state_label=state_label)


def quarterly_download(fmt: str) -> Handler:
    def download(ctx: Ctx) -> Response:
        summary = _quarterly(ctx)
        text = quarter_markdown(summary, ctx.lang) if fmt == "md" else quarter_csv(summary, ctx.lang)
        return _download(text, f"quarterly-report-{summary.quarter}.{fmt}")

    return download


