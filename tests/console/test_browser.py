"""The console in a real browser: headless Chromium drives a running ``zxpolicy console``
through every page, as compliance staff would (see conftest for the data and the browser).

Each test signs in as the person the flow needs, in a browser context of its own, and leaves a
screenshot of each page it saw. No timings are asserted: the pages' speed is measured by
``python -m bench console``.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from zxpolicy.log import open_log

from ..serve._server import free_port
from .conftest import (
    PAGED_DAY,
    PAGED_ROWS,
    PASSWORD,
    REFUSED_DAY,
    REVIEW_DAY,
    SIGNED_DAY,
    Console,
    artifacts,
    chromium_or_skip,
)

NewPage = Callable[..., Any]
NAV = "header nav"  # the main navigation (a page may have its own table of contents)
PAGES = ["/policy", "/try", "/changes", "/changes/history", "/daily", "/reports", "/reports/monthly?month=2026-11",
         "/reports/quarterly?quarter=2026-Q4"]


def shot(page: Any, name: str) -> None:
    """A screenshot of the whole page, kept as an artefact of the run."""
    page.screenshot(path=str(artifacts() / f"{name}.png"), full_page=True)


def sign_in(page: Any, user: str, password: str | None = None) -> None:
    page.goto("/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD[user] if password is None else password)
    page.click("#login-submit")
    page.wait_for_load_state()


def signed_in(new_page: NewPage, user: str) -> Any:
    page = new_page()
    sign_in(page, user)
    assert page.url.endswith("/policy"), page.url
    return page


def set_field(page: Any, form: str, name: str, value: str | list[str] | bool) -> None:
    """Fill one field of ``form`` by its name, whatever control the page chose for it."""
    field = page.locator(f"{form} [name='{name}']").first
    tag = field.evaluate("e => e.tagName.toLowerCase()")
    kind = (field.get_attribute("type") or "").lower()
    if isinstance(value, bool) or kind == "checkbox":
        field.set_checked(bool(value))
    elif tag == "select":
        field.select_option(value)
    elif kind == "datetime-local":
        assert isinstance(value, str)
        field.fill(value[:16])  # YYYY-MM-DDTHH:MM: the control's own form
    else:
        assert isinstance(value, str)
        field.fill(value)


def unlabelled(page: Any) -> list[str]:
    """Every visible form control of the page without a ``<label>`` (by its id or name)."""
    return list(page.evaluate("""() => Array.from(document.querySelectorAll('input, select, textarea'))
        .filter(e => e.type !== 'hidden' && e.type !== 'submit' && e.type !== 'button')
        .filter(e => !(e.labels && e.labels.length > 0))
        .map(e => e.id || e.name || e.outerHTML.slice(0, 80))"""))


def download(page: Any, selector: str) -> tuple[str, str]:
    """Click the link and take what the browser saves: its suggested name and its text."""
    with page.expect_download() as info:
        page.click(selector)
    d = info.value
    path = d.path()
    assert path is not None, d.failure()
    with open(path, encoding="utf-8-sig") as f:
        return d.suggested_filename, f.read()


def test_without_the_browser_the_tests_skip_saying_why_but_fail_where_ci_installed_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    missing = tmp_path / "chromium"
    monkeypatch.delenv("ZXPOLICY_REQUIRE_CHROMIUM", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        chromium_or_skip(missing)
    monkeypatch.setenv("ZXPOLICY_REQUIRE_CHROMIUM", "1")
    with pytest.raises(pytest.fail.Exception, match="ZXPOLICY_REQUIRE_CHROMIUM"):
        chromium_or_skip(missing)


# -- signing in ------------------------------------------------------------------------------------

def test_sign_in_refuses_a_wrong_password_and_an_unknown_user_alike_then_signs_in_and_out(
    new_page: NewPage,
) -> None:
    page = new_page()
    page.goto("/policy")
    assert "/login" in page.url  # nothing is shown before signing in
    shot(page, "01-login")
    sign_in(page, "u-riskmgr-hq", "not-the-password-1")
    assert "/login" in page.url
    wrong = page.inner_text("#error")
    assert wrong.strip()
    shot(page, "02-login-refused")
    sign_in(page, "u-nobody", "not-the-password-1")
    assert "/login" in page.url and page.inner_text("#error") == wrong  # no hint whether the user exists

    sign_in(page, "u-riskmgr-hq")
    assert page.url.endswith("/policy")
    nav = page.locator(NAV)
    for href, label in [("/policy", "策略"), ("/try", "试算"), ("/changes", "变更"), ("/daily", "日核查"),
                        ("/reports", "报表")]:
        assert label in nav.locator(f"a[href='{href}']").inner_text()
    assert "u-riskmgr-hq" in nav.inner_text() or "风险控制部经理" in nav.inner_text()
    cookie = next(c for c in page.context.cookies() if c["name"] == "zx_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    nav.get_by_role("button", name="退出").click()
    page.wait_for_load_state()
    assert "/login" in page.url
    page.goto("/daily")
    assert "/login" in page.url  # the session ended on the server, not only in the browser


def test_a_user_without_the_view_right_is_refused_with_the_reason(new_page: NewPage) -> None:
    page = new_page()
    sign_in(page, "u-query-east1")
    page.goto("/policy")
    assert page.locator("#rules").count() == 0
    text = page.content()
    assert "console_right_missing" in text
    shot(page, "03-no-view-right")


# -- 策略 ------------------------------------------------------------------------------------------

def test_the_policy_page_shows_the_version_rules_grants_chains_classification_and_orgs(
    new_page: NewPage, console: Console,
) -> None:
    page = signed_in(new_page, "u-officer-east")
    version = page.inner_text("#version")
    assert console.data.version.removeprefix("sha256:")[:12] in version
    assert str(console.data.revision) in version

    rules = page.locator("#rules")
    for rule in ("Q-03", "A-01", "C-01"):
        assert rules.locator("tr", has_text=rule).count() >= 1, rule
    assert "第十七条" in rules.inner_text()
    # each rule links to where it is used: following Q-03's link lands on something that names it
    link = rules.locator("tr", has_text="Q-03").locator("a").first
    href = link.get_attribute("href")
    assert href and href.startswith("#"), href
    link.click()
    assert page.url.endswith(href) and page.locator(href).count() == 1
    assert "Q-03" in page.locator(href).inner_text()

    grants = page.locator("#grants")
    assert grants.locator("table").count() >= 3  # one matrix per kind
    report_matrix = grants.locator("table", has_text="query_operator").first
    row = report_matrix.locator("tr", has_text="query_operator").first
    assert "loan_review" in row.inner_text()
    assert grants.locator("td.empty").count() >= 1  # what is not granted shows as an empty cell

    chains = page.locator("#chains")
    assert chains.locator("ol").count() >= 1 and chains.locator("ul.unordered").count() >= 1
    assert "u-riskmgr-hq" in chains.inner_text()  # who may fill a step, from the assignments
    assert page.locator("#classification").inner_text().strip()
    orgs = page.locator("#orgs")
    assert orgs.locator("ul ul").count() >= 1  # a tree, not a list
    assert "east-1" in orgs.inner_text() or "东区第一基层社" in orgs.inner_text()
    shot(page, "10-policy")

    page.click("#lang-switch")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Policy" in page.locator(NAV).inner_text()
    shot(page, "11-policy-en")
    page.goto("/try")  # the choice is kept (a cookie)
    assert "Policy" in page.locator(NAV).inner_text()
    page.click("#lang-switch")
    page.wait_for_load_state()
    assert "策略" in page.locator(NAV).inner_text()


# -- 试算 ------------------------------------------------------------------------------------------

def fill_request(page: Any, *, with_consent: bool) -> None:
    form = "#try-form"
    for name, value in [("subject", "u-query-east1"), ("action", "query"), ("purpose", "loan_review"),
                        ("resource_kind", "credit_report"), ("resource_level", "ordinary"),
                        ("resource_org", "east-1"), ("resource_id", "rep-7"), ("customer_id", "c-7"),
                        ("at", "2026-11-27T10:00")]:
        set_field(page, form, name, value)
    set_field(page, form, "consent", with_consent)
    if with_consent:
        set_field(page, form, "consent_customer_id", "c-7")
        set_field(page, form, "consent_purposes", ["loan_review"])
        set_field(page, form, "consent_signed_at", "2026-11-20T09:00")


def test_try_shows_an_allowed_and_a_denied_request_stage_by_stage(new_page: NewPage) -> None:
    page = signed_in(new_page, "u-officer-east")
    page.click("header nav a[href='/try']")
    page.wait_for_load_state()
    assert page.locator("#try-form datalist option[value='u-query-east1']").count() == 1
    shot(page, "20-try")

    fill_request(page, with_consent=True)
    page.click("#try-submit")
    page.wait_for_load_state()
    result = page.locator("#result")
    assert "allowed" in (result.get_attribute("class") or "").split(), result.inner_text()
    stages = page.inner_text("#stages")
    assert "✓" in stages and "✗" not in stages and "Q-03" in stages and "第十七条" in stages
    shot(page, "21-try-allowed")

    fill_request(page, with_consent=False)
    page.click("#try-submit")
    page.wait_for_load_state()
    result = page.locator("#result")
    assert "denied" in (result.get_attribute("class") or "").split(), result.inner_text()
    stages = page.inner_text("#stages")
    assert "✗" in stages and "Q-04" in stages  # the consent stage fails, with its rule
    assert page.locator("#missing").inner_text().strip()  # and what is still missing is said
    shot(page, "22-try-denied")


def try_request(page: Any, fields: dict[str, str], *, approvals: str = "", evidence: str = "") -> tuple[str, str, str]:
    """Fill the try form (no consent) and submit it: the result's class, the stages, what is missing."""
    page.goto("/try")
    for name, value in {"resource_kind": "credit_report", "resource_org": "east-1", "at": "2026-11-27T10:00",
                        **fields}.items():
        set_field(page, "#try-form", name, value)
    set_field(page, "#try-form", "approvals", approvals)
    set_field(page, "#try-form", "evidence", evidence)
    page.click("#try-submit")
    page.wait_for_load_state()
    missing = page.inner_text("#missing") if page.locator("#missing").count() else ""
    return page.locator("#result").get_attribute("class") or "", page.inner_text("#stages"), missing


def test_try_takes_approvals_and_evidence_and_says_which_step_is_still_missing(new_page: NewPage) -> None:
    page = signed_in(new_page, "u-riskmgr-hq")
    copy = {"subject": "u-officer-east", "action": "copy", "purpose": "loan_review", "resource_level": "confidential",
            "resource_id": "report-9", "customer_id": ""}
    result, stages, missing = try_request(page, copy, approvals="u-gm-hq general_manager")
    assert "denied" in result.split() and "风险控制部经理" in missing  # the classification's step
    assert "u-gm-hq" in stages
    shot(page, "23-try-approval-missing")
    result, stages, missing = try_request(page, copy, approvals="u-gm-hq general_manager\nu-riskmgr-hq risk_control_manager")
    assert "allowed" in result.split() and "✗" not in stages and "u-riskmgr-hq" in stages

    legal = {"subject": "u-query-east1", "action": "query", "purpose": "legal", "resource_level": "ordinary",
             "resource_id": "rep-8", "customer_id": "c-8"}
    result, stages, missing = try_request(page, legal, approvals="u-supervisor-hq credit_info_supervisor")
    assert "denied" in result.split() and "Q-05" in stages and "法律依据" in missing  # the evidence still needed
    result, stages, _ = try_request(page, legal, approvals="u-supervisor-hq credit_info_supervisor",
                                    evidence="legal_basis=刑事诉讼法 第五十四条")
    assert "allowed" in result.split() and "✗" not in stages
    shot(page, "24-try-evidence")


# -- 变更 ------------------------------------------------------------------------------------------

WIDER = ("    purposes: [dissent]\n", "    purposes: [dissent, legal]\n")  # dispute handlers may query for `legal`


def test_a_change_is_proposed_by_one_user_refused_to_its_proposer_and_approved_by_another(
    new_page: NewPage, console: Console,
) -> None:
    proposer = signed_in(new_page, "u-supervisor-hq")  # may propose, and approve: not this change
    proposer.goto("/changes/propose")
    proposer.select_option("#file", "grants.yaml")
    proposer.wait_for_function("() => document.querySelector('#content').value.includes('grants:')")
    text = proposer.input_value("#content")
    assert text.count(WIDER[0]) == 1
    proposer.fill("#content", text.replace(*WIDER))
    proposer.fill("#message", "异议处理员可为司法查询调阅征信报告")
    shot(proposer, "30-propose")
    proposer.click("#propose-submit")
    proposer.wait_for_load_state()
    # a widening is not proposed unless the proposer says it is meant
    assert not re.search(r"/changes/\d+$", proposer.url), proposer.url
    assert proposer.locator("#refusal, #gates").first.inner_text().strip()
    shot(proposer, "31-propose-widening-refused")

    proposer.goto("/changes/propose")
    proposer.select_option("#file", "grants.yaml")
    proposer.wait_for_function("() => document.querySelector('#content').value.includes('grants:')")
    proposer.fill("#content", proposer.input_value("#content").replace(*WIDER))
    proposer.fill("#message", "异议处理员可为司法查询调阅征信报告")
    proposer.check("#allow-widening")
    proposer.click("#propose-submit")
    proposer.wait_for_url(re.compile(r"/changes/\d+$"), timeout=120_000)  # the gates run: suites, invariants, diff
    revision = int(proposer.url.rsplit("/", 1)[1])
    assert revision > console.data.revision
    gates = proposer.inner_text("#gates")
    assert gates.count("✓") == 4 and "✗" not in gates
    widened = proposer.locator("#diff tr.widened")
    assert widened.count() >= 1 and "⚠" in widened.first.inner_text()
    assert "dispute_handler" in proposer.inner_text("#diff") or "异议处理员" in proposer.inner_text("#diff")
    # the proposer may approve changes, but not their own: no form, a refusal with its reason
    assert proposer.locator("#approve-form").count() == 0
    assert "approver_is_proposer" in proposer.inner_text("#refusal")
    shot(proposer, "32-proposal-as-proposer")
    # a user without the right to approve is refused too, for that reason
    officer = signed_in(new_page, "u-officer-east")
    officer.goto(f"/changes/{revision}")
    assert officer.locator("#approve-form").count() == 0
    assert "console_right_missing" in officer.inner_text("#refusal")

    approver = signed_in(new_page, "u-riskmgr-hq")
    approver.goto("/changes")
    listed = approver.locator("#proposals")
    assert "异议处理员可为司法查询调阅征信报告" in listed.inner_text()
    shot(approver, "33-changes")
    listed.locator(f"a[href='/changes/{revision}']").first.click()
    approver.wait_for_load_state()
    assert approver.locator("#approve-form").count() == 1 and approver.locator("#refusal").count() == 0
    assert unlabelled(approver) == []
    shot(approver, "34-proposal-as-approver")
    approver.fill("#comment", "已核对差异，同意")
    approver.click("#approve")
    approver.wait_for_load_state()

    # approved: the console's own engine now runs it
    approver.goto("/policy")
    approver.wait_for_function(f"() => document.querySelector('#version').innerText.includes('{revision}')")
    approver.goto("/changes/history")
    history = approver.locator("#history")
    row = history.locator("tr", has_text="异议处理员可为司法查询调阅征信报告").first
    assert "u-supervisor-hq" in row.inner_text() and "u-riskmgr-hq" in row.inner_text()
    shot(approver, "35-history")

    name, body = download(approver, "a[href*='/changes/report.md']")
    assert name.endswith(".md") and "异议处理员可为司法查询调阅征信报告" in body and "u-riskmgr-hq" in body
    name, body = download(approver, "a[href*='/changes/report.csv']")
    assert name.endswith(".csv")
    rows = list(csv.reader(io.StringIO(body)))
    assert any("u-riskmgr-hq" in r for r in rows) and len(rows) >= 3


def test_a_proposal_is_rejected_with_a_comment(new_page: NewPage, console: Console) -> None:
    from zxpolicy.store import open_store, publish

    # Proposed through the library (the console's propose form is the test above): the dispute
    # handlers' grant toggled, narrower or wider by what is current when this test runs.
    store = open_store(console.data.store_url)
    try:
        current = store.current()
        assert current is not None
        files = dict(current.files)
        narrow, wide = WIDER
        was, becomes = (wide, narrow) if wide in files["grants.yaml"] else (narrow, wide)
        files["grants.yaml"] = files["grants.yaml"].replace(was, becomes)
        done = publish(files, store, by="u-supervisor-hq", message="调整异议处理员的查询用途", allow_widening=True)
        assert done.revision is not None, done.refused
    finally:
        store.close()
    page = signed_in(new_page, "u-gm-hq")
    page.goto("/changes")
    assert "调整异议处理员的查询用途" in page.inner_text("#proposals")
    page.goto(f"/changes/{done.revision}")
    assert page.locator("#diff tr.narrowed, #diff tr.widened").count() >= 1
    page.fill("#comment", "用途调整须先经风险控制部评估")
    page.click("#reject")
    page.wait_for_load_state()
    page.goto("/changes")
    assert "调整异议处理员的查询用途" not in page.inner_text("#proposals")
    page.goto("/changes/history")
    row = page.locator("#history tr", has_text="调整异议处理员的查询用途").first
    assert "u-gm-hq" in row.inner_text()
    assert "u-supervisor-hq" in row.inner_text()
    shot(page, "36-history-rejected")


# -- 日核查 ----------------------------------------------------------------------------------------

def flagged_forms(page: Any) -> Any:
    return page.locator("#rows form")


def record(page: Any, index: int, outcome: str, note: str, reference: str) -> None:
    form = flagged_forms(page).nth(index)
    form.locator("[name='outcome']").select_option(outcome)
    form.locator("[name='note']").fill(note)
    form.locator("[name='reference']").fill(reference)
    form.locator("[type='submit']").click()
    page.wait_for_load_state()


def test_a_day_is_reviewed_line_by_line_and_signed_while_a_day_with_a_line_unreviewed_is_refused(
    new_page: NewPage,
) -> None:
    page = signed_in(new_page, "u-supervisor-hq")

    # the day with a line left unreviewed: its sign-off is refused, and it stays in progress
    page.goto(f"/daily?date={REFUSED_DAY.isoformat()}")
    assert page.locator("#rows tbody tr").count() == 4
    assert flagged_forms(page).count() == 2
    assert "非工作时间" in page.inner_text("#rows")
    first, second = page.locator("#rows tr.flagged").evaluate_all("rows => rows.map(r => r.id.split('-')[1])")
    record(page, 0, "compliant", "夜间补录，已与贷款审批核实", "贷-2026-1127-01")
    page.goto(f"/daily?date={REFUSED_DAY.isoformat()}")
    page.click("#signoff-form [type='submit']")
    page.wait_for_load_state()
    refusal = page.inner_text("#refusal")
    assert "day_not_reviewed" in refusal and second in refusal  # it names the line still unreviewed
    assert f"{first}）" not in refusal and f"{first}," not in refusal
    shot(page, "40-daily-signoff-refused")

    # the day reviewed in full: two flagged lines, then the sign-off
    page.goto(f"/daily?date={REVIEW_DAY.isoformat()}")
    rows = page.locator("#rows")
    assert rows.locator("tbody tr").count() == 5 and flagged_forms(page).count() == 2
    text = rows.inner_text()
    assert "非工作时间" in text and "被拒绝" in text
    assert unlabelled(page) == []  # each outcome form's controls too
    shot(page, "41-daily")
    record(page, 0, "compliant", "夜间查询，已与贷款审批逐笔核实", "贷-2026-1126-01")
    page.goto(f"/daily?date={REVIEW_DAY.isoformat()}")
    record(page, 1, "violation", "无书面授权即查询，已通报", "案-2026-033")
    page.goto(f"/daily?date={REVIEW_DAY.isoformat()}")
    assert "违规" in page.inner_text("#rows") and "案-2026-033" in page.inner_text("#rows")
    page.click("#signoff-form [type='submit']")
    page.wait_for_load_state()
    assert page.locator("#refusal").count() == 0 or not page.inner_text("#refusal").strip()
    page.goto(f"/daily?date={REVIEW_DAY.isoformat()}")
    assert page.locator("#signoff-form").count() == 0  # signed: it cannot be signed again
    head = page.locator(".summary code").first.inner_text()  # the chain head the day was reviewed against
    assert "u-supervisor-hq" in page.inner_text(".signed-note") and head in page.inner_text(".signed-note")

    calendar = page.locator("#calendar")
    states = {d: calendar.locator(f"a[href*='date={d.isoformat()}']").first.get_attribute("class") or ""
              for d in (SIGNED_DAY, REVIEW_DAY, REFUSED_DAY)}
    assert "signed" in states[SIGNED_DAY].split() and "signed" in states[REVIEW_DAY].split()
    assert "in_progress" in states[REFUSED_DAY].split()
    shot(page, "42-daily-signed")


def test_the_daily_check_pages_a_long_day_and_shows_only_the_flagged_lines_on_request(new_page: NewPage) -> None:
    page = signed_in(new_page, "u-riskmgr-hq")  # may view, may not review
    page.goto(f"/daily?date={PAGED_DAY.isoformat()}")
    assert page.locator("#rows tbody tr").count() == 100
    assert flagged_forms(page).count() == 0  # no review right: no outcome forms
    assert page.locator("#pager a").count() >= 1
    page.goto(f"/daily?date={PAGED_DAY.isoformat()}&page=2")
    assert page.locator("#rows tbody tr").count() == PAGED_ROWS - 100
    shot(page, "43-daily-page-2")
    page.goto(f"/daily?date={PAGED_DAY.isoformat()}&only=flagged")
    assert page.locator("#rows tbody tr").count() == 3
    calendar = page.locator("#calendar")
    assert "not_started" in (calendar.locator(f"a[href*='date={PAGED_DAY.isoformat()}']").first.get_attribute("class")
                             or "").split()


# -- 报表 ------------------------------------------------------------------------------------------

def test_the_monthly_report_takes_the_register_counts_and_downloads_as_markdown_and_csv(new_page: NewPage) -> None:
    page = signed_in(new_page, "u-supervisor-hq")
    page.click("header nav a[href='/reports']")
    page.wait_for_load_state()
    shot(page, "50-reports")
    page.goto("/reports/monthly?month=2026-11")
    for category, count in (("illegal_provision", "0"), ("misuse", "2"), ("report_leak", "0")):
        page.fill(f"[name='count_{category}']", count)
    page.locator("[name='count_report_leak']").press("Enter")  # the form submits from the keyboard
    page.wait_for_load_state()
    text = page.inner_text("main") if page.locator("main").count() else page.inner_text("body")
    assert "异常查询" in text and "滥用" in text
    shot(page, "51-monthly")
    name, body = download(page, "a[href*='/reports/monthly.md']")
    assert name.endswith(".md") and "滥用" in body and "2026" in body
    name, body = download(page, "a[href*='/reports/monthly.csv']")
    rows = list(csv.reader(io.StringIO(body)))
    header = next(r for r in rows if r[:1] == ["org"])
    total = next(r for r in rows if r[:1] == ["total"])
    assert name.endswith(".csv") and total[header.index("misuse")] == "2"  # the count given on the form
    assert total[header.index("illegal_provision")] == "0"


def test_the_quarterly_summary_counts_signed_days_flagged_and_violating_lines_and_changes(new_page: NewPage) -> None:
    page = signed_in(new_page, "u-supervisor-hq")
    page.goto("/reports/quarterly?quarter=2026-Q4")
    assert "2026-10-01" in page.inner_text("main") and "2026-12-31" in page.inner_text("main")
    # the day signed off before the tests: its queries, flagged lines, the violation found, signed
    signed = page.locator("tr", has_text=SIGNED_DAY.isoformat()).first.locator("td")
    assert [signed.nth(i).inner_text().strip() for i in range(4)] == ["5", "2", "1", "已签核"]
    paged = page.locator("tr", has_text=PAGED_DAY.isoformat()).first.locator("td")
    assert [paged.nth(i).inner_text().strip() for i in range(4)] == [str(PAGED_ROWS), "3", "0", "未开始"]
    assert "启用行内征信授权策略" in page.inner_text("main")  # the policy changes of the quarter
    shot(page, "52-quarterly")
    name, body = download(page, "a[href*='/reports/quarterly.md']")
    assert name.endswith(".md") and SIGNED_DAY.isoformat() in body and "启用行内征信授权策略" in body
    name, body = download(page, "a[href*='/reports/quarterly.csv']")
    rows = list(csv.reader(io.StringIO(body)))
    assert name.endswith(".csv") and any(SIGNED_DAY.isoformat() in r for r in rows)


# -- zxpolicy console demo ----------------------------------------------------------------------------

def test_the_demo_command_gives_a_console_with_demo_data_and_prints_its_accounts(browser: Any, tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "demo.out"
    with open(out, "w", encoding="utf-8") as f:
        process = subprocess.Popen([sys.executable, "-m", "zxpolicy", "console", "demo", "--dir", str(tmp_path / "demo"),
                                    "--port", str(port)], stdout=f, stderr=subprocess.STDOUT, text=True,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # the demo publishes the bundled policy through the gates first
        while True:
            assert process.poll() is None, out.read_text(encoding="utf-8")
            try:
                if httpx.get(f"{url}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, out.read_text(encoding="utf-8")
            time.sleep(0.2)
        accounts = dict(re.findall(r"^\s+(u-[\w-]+)\s.*?\s(\S+)$", out.read_text(encoding="utf-8"), re.M))
        assert {"u-supervisor-hq", "u-riskmgr-hq"} <= set(accounts), out.read_text(encoding="utf-8")

        # the last day of the demo's log, to review
        log = open_log(tmp_path / "demo" / "decisions.db", read_only=True)
        try:
            *_, last = log.rows()
        finally:
            log.close()
        day = datetime.fromisoformat(last.logged_at).astimezone(ZoneInfo("Asia/Shanghai")).date()

        context = browser.new_context(base_url=url, locale="zh-CN", viewport={"width": 1280, "height": 900})
        try:
            page = context.new_page()
            page.goto("/login")
            page.fill("#username", "u-supervisor-hq")
            page.fill("#password", accounts["u-supervisor-hq"])
            page.click("#login-submit")
            page.wait_for_url(re.compile(r"/policy$"))
            page.goto("/changes")
            assert page.locator("#proposals a[href^='/changes/']").count() >= 1  # the open proposal to review
            page.goto(f"/daily?date={day.isoformat()}")
            assert page.locator("#rows tbody tr").count() >= 1 and page.locator("#rows tr.flagged").count() >= 1
            assert page.locator("#rows form").count() >= 1  # the reviewer may record outcomes
            shot(page, "60-demo-daily")
        finally:
            context.close()
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- the keyboard ----------------------------------------------------------------------------------

def focus_order(page: Any, steps: int) -> list[str]:
    order = []
    for _ in range(steps):
        page.keyboard.press("Tab")
        order.append(page.evaluate("() => document.activeElement.id || document.activeElement.name || "
                                   "document.activeElement.tagName"))
    return order


def test_the_forms_work_from_the_keyboard_and_every_control_has_a_label(new_page: NewPage) -> None:
    page = new_page()
    page.goto("/login")
    assert unlabelled(page) == []
    page.evaluate("() => document.activeElement && document.activeElement.blur()")  # from the top of the page
    order = focus_order(page, 8)
    assert "login-submit" in order, order
    order = order[: order.index("login-submit") + 1]
    assert [o for o in order if o in ("username", "password", "login-submit")] == ["username", "password", "login-submit"]
    page.focus("#username")
    page.keyboard.type("u-officer-east")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD["u-officer-east"])
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/policy$"))

    page.goto("/try")
    controls = page.evaluate("""() => Array.from(document.querySelectorAll(
        '#try-form input, #try-form select, #try-form textarea, #try-form button'))
        .filter(e => e.type !== 'hidden' && !e.disabled).map(e => e.id || e.name)""")
    assert {"subject", "purpose", "consent", "approvals", "evidence", "try-submit"} <= set(controls)
    page.focus("#try-form [name='subject']")
    reached = [page.evaluate("() => document.activeElement.id || document.activeElement.name")]
    for _ in range(100):  # a date-time control takes a Tab for each of its fields
        page.keyboard.press("Tab")
        reached.append(page.evaluate("() => document.activeElement.id || document.activeElement.name"))
        if reached[-1] == "try-submit":
            break
    missing = [c for c in controls if c not in reached]
    assert missing == [], f"not reached with Tab: {missing}"
    fill_request(page, with_consent=True)
    page.locator("#try-form [name='resource_id']").press("Enter")
    page.wait_for_load_state()
    assert "allowed" in (page.locator("#result").get_attribute("class") or "").split()

    for path in PAGES + ["/changes/propose"]:
        page.goto(path)
        assert unlabelled(page) == [], path
