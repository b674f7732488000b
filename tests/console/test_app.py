"""The console's web application, in process (Starlette's TestClient): signing in, rights, CSRF,
cookies, each page's content, the review and approval flows, downloads, bad input, the language.

The data are the browser tests' (``conftest.make_data``): a store with the bundled policy, a log
of four days, accounts, one day signed off. One console serves the whole module; the tests that
change something (a proposal, a day's review) each use a revision or a day of their own.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from zxpolicy.console import ConsoleOptions, audit_entries, build_console_app
from zxpolicy.console._web import Console, open_console

from .conftest import PAGED_DAY, PAGED_ROWS, PASSWORD, REFUSED_DAY, REVIEW_DAY, SIGNED_DAY, ConsoleData, make_data

ORIGIN = {"origin": "http://testserver"}
WIDER = ("    purposes: [dissent]\n", "    purposes: [dissent, legal]\n")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> ConsoleData:
    return make_data(tmp_path_factory.mktemp("console-app"))


@pytest.fixture(scope="module")
def console(data: ConsoleData) -> Iterator[Console]:
    c = open_console(ConsoleOptions(store=data.store_url, log=data.log))
    yield c
    c.close()


@pytest.fixture(scope="module")
def app(data: ConsoleData, console: Console) -> object:
    return build_console_app(console.options, console)


def client(app: object, **kw: object) -> TestClient:
    return TestClient(app, headers=ORIGIN, follow_redirects=False, **kw)  # type: ignore[arg-type]


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def sign_in(app: object, user: str, password: str | None = None) -> TestClient:
    c = client(app)
    page = c.get("/login")
    r = c.post("/login", data={"username": user, "password": PASSWORD[user] if password is None else password,
                               "csrf": csrf_of(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/policy", r.text[-800:]
    return c


def post(c: TestClient, path: str, data: dict[str, object], *, page: str | None = None) -> object:
    """A form posted as the page ``page`` (default: ``path``) would post it, with its CSRF token."""
    token = csrf_of(c.get(page or path).text)
    return c.post(path, data={**data, "csrf": token})


def by_id(html: str, ident: str) -> str:
    """The text from the element with ``id`` to the end of its section (enough for the tests)."""
    at = html.find(f'id="{ident}"')
    assert at >= 0, f"no #{ident}"
    return html[at:]


# -- signing in, cookies, headers ---------------------------------------------------------------

def test_signing_in_sets_a_strict_http_only_session_cookie_and_says_nothing_of_who_exists(app: object) -> None:
    c = client(app)
    assert c.get("/policy").headers["location"] == "/login"
    page = c.get("/login")
    assert page.status_code == 200
    for ident in ("login-form", "username", "password", "login-submit"):
        assert f'id="{ident}"' in page.text
    assert '<label for="username">' in page.text and '<label for="password">' in page.text
    login_cookie = page.headers["set-cookie"]
    assert "HttpOnly" in login_cookie and "samesite=strict" in login_cookie.lower()

    wrong = c.post("/login", data={"username": "u-riskmgr-hq", "password": "not-the-password", "csrf": csrf_of(page.text)})
    unknown = c.post("/login", data={"username": "u-nobody", "password": "not-the-password", "csrf": csrf_of(wrong.text)})
    assert wrong.status_code == unknown.status_code == 401
    said = [re.search(r'<p id="error"[^>]*>(.*?)</p>', r.text).group(1) for r in (wrong, unknown)]  # type: ignore[union-attr]
    assert said[0] == said[1] and said[0]
    assert "zx_session" not in wrong.headers.get("set-cookie", "")

    r = c.post("/login", data={"username": "u-riskmgr-hq", "password": PASSWORD["u-riskmgr-hq"], "csrf": csrf_of(unknown.text)})
    assert r.status_code == 303
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("zx_session="))
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback
    policy = c.get("/policy")
    assert policy.status_code == 200 and "风险控制部经理" in policy.text and "u-riskmgr-hq" in policy.text
    assert c.get("/login").headers["location"] == "/policy"  # signed in already


def test_every_answer_carries_the_security_headers(app: object) -> None:
    c = sign_in(app, "u-officer-east")
    for path in ("/login", "/policy", "/static/console.css", "/no-such-page"):
        r = c.get(path)
        assert r.headers["content-security-policy"].startswith("default-src 'self'")
        assert "'unsafe-inline'" not in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY" and r.headers["referrer-policy"] == "same-origin"
    assert c.get("/no-such-page").status_code == 404
    assert c.get("/policy").headers["cache-control"] == "no-store"
    page = c.get("/policy").text
    assert "<script>" not in page and " style=" not in page and "http://" not in page.split("<main>")[0]


def test_cookies_are_secure_under_tls(data: ConsoleData, console: Console) -> None:
    c = TestClient(build_console_app(console.options, console), base_url="https://testserver",  # type: ignore[arg-type]
                   headers={"origin": "https://testserver"}, follow_redirects=False)
    page = c.get("/login")
    assert "Secure" in page.headers["set-cookie"]
    r = c.post("/login", data={"username": "u-gm-hq", "password": PASSWORD["u-gm-hq"], "csrf": csrf_of(page.text)})
    assert r.status_code == 303 and "Secure" in r.headers["set-cookie"]


def test_signing_out_ends_the_session_on_the_server(app: object) -> None:
    c = sign_in(app, "u-gm-hq")
    token = c.cookies.get("zx_session")
    r = post(c, "/logout", {}, page="/policy")
    assert r.status_code == 303 and r.headers["location"] == "/login"  # type: ignore[attr-defined]
    again = client(app)
    again.cookies.set("zx_session", token or "")
    assert again.get("/policy").headers["location"] == "/login"


def test_a_trusted_proxy_header_signs_in_only_from_a_trusted_peer(data: ConsoleData, console: Console) -> None:
    proxied = build_console_app(replace(console.options, trusted_header="X-Remote-User", trusted_proxies=("127.0.0.1",)), console)
    via_proxy = client(proxied, client=("127.0.0.1", 40000))
    r = via_proxy.get("/policy", headers={"X-Remote-User": "u-supervisor-hq"})
    assert r.status_code == 200 and "u-supervisor-hq" in r.text and "zx_session=" in r.headers["set-cookie"]
    # the session it made carries a CSRF token like any other: a POST needs it
    assert via_proxy.post("/try", data={"subject": "x"}, headers={"X-Remote-User": "u-supervisor-hq"}).status_code == 403
    direct = client(proxied, client=("10.9.8.7", 40000))
    assert direct.get("/policy", headers={"X-Remote-User": "u-supervisor-hq"}).headers["location"] == "/login"


# -- rights --------------------------------------------------------------------------------------

def test_a_right_missing_is_refused_with_its_reason(app: object) -> None:
    nobody = sign_in(app, "u-query-east1")  # an account, but a role without console rights
    r = nobody.get("/policy")
    assert r.status_code == 403 and "console_right_missing" in r.text and 'id="rules"' not in r.text
    assert 'id="refusal"' in r.text

    viewer = sign_in(app, "u-riskmgr-hq")  # view and approve; neither propose nor review
    r = viewer.get("/changes/propose")
    assert r.status_code == 403 and "console_right_missing" in r.text and "propose" in r.text
    r = post(viewer, f"/daily/{REFUSED_DAY.isoformat()}/outcome", {"seq": "1", "outcome": "compliant"},
             page=f"/daily?date={REFUSED_DAY.isoformat()}")
    assert r.status_code == 403 and "console_right_missing" in r.text  # type: ignore[attr-defined]


def test_csrf_and_origin_are_checked_on_every_post(app: object) -> None:
    c = sign_in(app, "u-officer-east")
    token = csrf_of(c.get("/try").text)
    r = c.post("/try", data={"subject": "u-query-east1"})
    assert r.status_code == 403 and "csrf_mismatch" in r.text
    r = c.post("/try", data={"subject": "u-query-east1", "csrf": token + "x"})
    assert r.status_code == 403 and "csrf_mismatch" in r.text
    r = c.post("/try", data={"subject": "u-query-east1", "csrf": token}, headers={"origin": "http://evil.example"})
    assert r.status_code == 403 and "cross_origin" in r.text
    bare = TestClient(app, follow_redirects=False)  # type: ignore[arg-type]
    bare.cookies = c.cookies
    assert bare.post("/try", data={"subject": "u-query-east1", "csrf": token}).status_code == 403  # no Origin, no Referer
    referred = bare.post("/try", data={"subject": "u-query-east1", "csrf": token}, headers={"referer": "http://testserver/try"})
    assert referred.status_code == 200
    # the sign-in form too: without its cookie's token, refused
    fresh = client(app)
    assert fresh.post("/login", data={"username": "u-gm-hq", "password": PASSWORD["u-gm-hq"], "csrf": "x"}).status_code == 403


# -- 策略 ----------------------------------------------------------------------------------------

def test_the_policy_page_shows_the_version_rules_matrices_chains_classification_and_orgs(
    app: object, data: ConsoleData,
) -> None:
    html = sign_in(app, "u-officer-east").get("/policy").text
    version = by_id(html, "version")[:2000]
    assert data.version in version and f"第 {data.revision} 版" in version
    rules = by_id(html, "rules")
    for rule in ("Q-03", "A-01", "C-01"):
        assert f'id="rule-{rule}"' in rules
    # every link of the rule catalogue lands on an element of the page that names the rule
    for anchor in set(re.findall(r'<a href="#([a-z0-9-]+)"', by_id(html, "rules").split('id="grants"')[0])):
        assert f'id="{anchor}"' in html, anchor
    q03 = re.search(r'<tr id="rule-Q-03">.*?</tr>', html, re.S).group(0)  # type: ignore[union-attr]
    target = re.search(r'href="#([a-z0-9-]+)"', q03).group(1)  # type: ignore[union-attr]
    assert "Q-03" in html[html.index(f'id="{target}"'):][:400]
    grants = by_id(html, "grants").split('id="chains"')[0]
    assert grants.count("<table") >= 3 and "query_operator" in grants and "loan_review" in grants
    chains = by_id(html, "chains").split('id="classification"')[0]
    assert "<ol" in chains and 'class="steps unordered"' in chains and "u-riskmgr-hq" in chains
    assert "top_secret" in by_id(html, "classification")
    orgs = by_id(html, "orgs")
    assert orgs.count("<ul>") >= 3 and "east-1" in orgs  # hq > east > east-1: nested


# -- 试算 ----------------------------------------------------------------------------------------

REQUEST = {"subject": "u-query-east1", "action": "query", "purpose": "loan_review", "resource_kind": "credit_report",
           "resource_level": "ordinary", "resource_org": "east-1", "resource_id": "rep-7", "customer_id": "c-7",
           "at": "2026-11-27T10:00"}


def test_try_explains_an_allowed_and_a_denied_request_stage_by_stage(app: object) -> None:
    c = sign_in(app, "u-officer-east")
    page = c.get("/try").text
    assert '<option value="u-query-east1">' in page and 'id="try-submit"' in page
    allowed = post(c, "/try", {**REQUEST, "consent": "on", "consent_customer_id": "c-7", "consent_purposes": ["loan_review"],
                               "consent_signed_at": "2026-11-20T09:00"}).text  # type: ignore[attr-defined]
    result = by_id(allowed, "result")
    assert 'class="allowed"' in allowed and "✓" in by_id(allowed, "stages") and "Q-03" in result and "第十七条" in result
    assert "✗" not in by_id(allowed, "stages").split("</ol>")[0]
    denied = post(c, "/try", REQUEST).text  # type: ignore[attr-defined]
    assert 'class="denied"' in denied
    stages = by_id(denied, "stages").split("</ol>")[0]
    assert "✗" in stages and "Q-04" in stages and "consent_missing" in stages
    assert "书面授权" in by_id(denied, "missing").split("</section>")[0]
    # approvals and evidence lines are read; the form keeps what was typed
    legal = post(c, "/try", {**REQUEST, "purpose": "legal", "evidence": "legal_basis=法院协助查询通知书",
                             "approvals": "u-supervisor-hq credit_info_supervisor"}).text  # type: ignore[attr-defined]
    assert 'class="allowed"' in legal and "u-supervisor-hq" in by_id(legal, "stages")
    assert "法院协助查询通知书" in legal


@pytest.mark.parametrize("bad", [
    {"at": "2026-13-45T99:00"},
    {"at": "0001-01-01T00:00", "approvals": "u-supervisor-hq credit_info_supervisor"},
    {"approvals": "only-one-word"},
    {"evidence": "no equals sign"},
    {"approvals": "\n".join(["a b"] * 60)},
])
def test_a_try_form_that_cannot_be_read_is_400(app: object, bad: dict[str, str]) -> None:
    r = post(sign_in(app, "u-officer-east"), "/try", {**REQUEST, **bad})
    assert r.status_code == 400 and 'id="refusal"' in r.text  # type: ignore[attr-defined]


# -- 变更 ----------------------------------------------------------------------------------------

def propose(c: TestClient, text_of: object, message: str, widening: bool) -> object:
    page = c.get("/changes/propose?file=grants.yaml").text
    assert 'id="file"' in page and 'id="content"' in page and 'id="allow-widening"' in page
    content = c.get("/changes/propose/file?name=grants.yaml").text
    form = {"file": "grants.yaml", "content": text_of(content), "message": message}  # type: ignore[operator]
    if widening:
        form["allow_widening"] = "on"
    return c.post("/changes/propose", data={**form, "csrf": csrf_of(page)})


def test_a_change_is_proposed_refused_to_its_proposer_approved_by_another_and_reported(
    app: object, data: ConsoleData, console: Console,
) -> None:
    proposer = sign_in(app, "u-officer-east")
    message = "=HYPERLINK(\"http://x\")异议处理员可为司法查询调阅征信报告"
    refused = propose(proposer, lambda t: t.replace(*WIDER), message, widening=False)
    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert "proposal_refused" in refused.text and 'id="gates"' in refused.text  # type: ignore[attr-defined]
    done = propose(proposer, lambda t: t.replace(*WIDER), message, widening=True)
    assert done.status_code == 303, done.text[-2000:]  # type: ignore[attr-defined]
    revision = int(done.headers["location"].rsplit("/", 1)[1])  # type: ignore[attr-defined]

    mine = proposer.get(f"/changes/{revision}").text
    assert by_id(mine, "gates").split("</ul>")[0].count("✓") == 4
    diff = by_id(mine, "diff")
    assert '<tr class="widened">' in diff and "⚠" in diff and "dispute_handler" in diff
    assert 'id="approve-form"' not in mine and "approver_is_proposer" in by_id(mine, "refusal")

    approver = sign_in(app, "u-riskmgr-hq")
    listed = approver.get("/changes").text
    assert f'href="/changes/{revision}"' in by_id(listed, "proposals") and "HYPERLINK" in listed
    page = approver.get(f"/changes/{revision}").text
    for ident in ("approve-form", "comment", "approve", "reject"):
        assert f'id="{ident}"' in page
    assert 'id="refusal"' not in page
    r = approver.post(f"/changes/{revision}/approve", data={"comment": "已核对差异，同意", "csrf": csrf_of(page)})
    assert r.status_code == 303
    assert console.live.status().revision == revision  # the console's engine runs it at once
    assert f"第 {revision} 版" in by_id(approver.get("/policy").text, "version")[:2000]
    again = approver.post(f"/changes/{revision}/approve", data={"comment": "", "csrf": csrf_of(page)})
    assert again.status_code == 409 and "proposal_closed" in again.text

    history = approver.get("/changes/history").text
    row = next(r for r in by_id(history, "history").split("<tr") if "HYPERLINK" in r)
    assert "u-officer-east" in row and "u-riskmgr-hq" in row
    md = approver.get("/changes/report.md")
    assert md.status_code == 200 and "attachment" in md.headers["content-disposition"] and "u-riskmgr-hq" in md.text
    got = approver.get("/changes/report.csv?since=2020-01-01")
    assert got.headers["content-type"].startswith("text/csv") and got.headers["content-disposition"].endswith('.csv"')
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    cell = next(c for r in rows for c in r if "HYPERLINK" in c)
    assert cell.startswith("'=")  # a spreadsheet does not take it for a formula
    assert approver.get("/changes/report.csv?since=yesterday").status_code == 400
    actions = [e.data for e in audit_entries(console.db, limit=200) if e.kind == "action"]
    assert any(a["detail"].get("comment") == "已核对差异，同意" for a in actions)


def test_a_proposal_is_rejected_with_a_comment(app: object) -> None:
    proposer = sign_in(app, "u-supervisor-hq")
    done = propose(proposer, lambda t: t + "\n# 说明：本文件仅调整注释\n", "仅调整注释", widening=False)
    assert done.status_code == 303, done.text[-2000:]  # type: ignore[attr-defined]
    revision = int(done.headers["location"].rsplit("/", 1)[1])  # type: ignore[attr-defined]
    gm = sign_in(app, "u-gm-hq")
    page = gm.get(f"/changes/{revision}").text
    r = gm.post(f"/changes/{revision}/reject", data={"comment": "无需变更", "csrf": csrf_of(page)})
    assert r.status_code == 303
    assert f'href="/changes/{revision}"' not in gm.get("/changes").text
    shown = gm.get(f"/changes/{revision}").text
    assert "无需变更" in shown and 'id="approve-form"' not in shown and "proposal_closed" in shown


# -- 日核查 --------------------------------------------------------------------------------------

def rows_of(html: str) -> list[str]:
    body = by_id(html, "rows").split("<tbody>")[1].split("</tbody>")[0]
    return re.findall(r"<tr id=\"row-(\d+)\"", body)


def outcome(c: TestClient, day: object, seq: str, value: str, note: str, reference: str) -> object:
    return post(c, f"/daily/{day}/outcome", {"seq": seq, "outcome": value, "note": note, "reference": reference},
                page=f"/daily?date={day}")


def flagged_seqs(html: str) -> list[str]:
    return re.findall(r'<select id="outcome-(\d+)"', html)


def test_a_day_is_signed_off_only_once_every_flagged_line_has_an_outcome(app: object, console: Console) -> None:
    c = sign_in(app, "u-supervisor-hq")
    refused_day = c.get(f"/daily?date={REFUSED_DAY.isoformat()}").text
    assert len(rows_of(refused_day)) == 4 and 'id="signoff-form"' in refused_day
    first, second = flagged_seqs(refused_day)
    assert "非工作时间" in by_id(refused_day, "rows")
    r = outcome(c, REFUSED_DAY, first, "compliant", "夜间补录，已与贷款审批核实", "贷-1127-01")
    assert r.status_code == 303 and r.headers["location"].endswith(f"#row-{first}")  # type: ignore[attr-defined]
    assert outcome(c, REFUSED_DAY, second, "pending", "待信贷部门回复", "").status_code == 303  # type: ignore[attr-defined]
    r = post(c, f"/daily/{REFUSED_DAY.isoformat()}/signoff", {}, page=f"/daily?date={REFUSED_DAY.isoformat()}")
    assert r.status_code == 409 and "day_not_reviewed" in by_id(r.text, "refusal")  # type: ignore[attr-defined]

    c.get(f"/daily?date={REVIEW_DAY.isoformat()}")
    page = c.get(f"/daily?date={REVIEW_DAY.isoformat()}").text
    seqs = flagged_seqs(page)
    assert len(rows_of(page)) == 5 and len(seqs) == 2
    assert outcome(c, REVIEW_DAY, seqs[0], "compliant", "已核实", "贷-1126-01").status_code == 303  # type: ignore[attr-defined]
    assert outcome(c, REVIEW_DAY, seqs[1], "violation", "无授权即查询", "案-2026-033").status_code == 303  # type: ignore[attr-defined]
    reviewed = c.get(f"/daily?date={REVIEW_DAY.isoformat()}").text
    assert "违规" in by_id(reviewed, "rows") and "案-2026-033" in reviewed
    r = post(c, f"/daily/{REVIEW_DAY.isoformat()}/signoff", {}, page=f"/daily?date={REVIEW_DAY.isoformat()}")
    assert r.status_code == 303  # type: ignore[attr-defined]
    signed = c.get(f"/daily?date={REVIEW_DAY.isoformat()}").text
    assert 'id="signoff-form"' not in signed and "u-supervisor-hq" in signed and not flagged_seqs(signed)
    late = outcome(c, REVIEW_DAY, seqs[0], "violation", "", "")
    assert late.status_code == 409 and "day_already_signed" in late.text  # type: ignore[attr-defined]
    calendar = by_id(signed, "calendar")
    for day, state in ((SIGNED_DAY, "signed"), (REVIEW_DAY, "signed"), (REFUSED_DAY, "in_progress"), (PAGED_DAY, "not_started")):
        assert re.search(rf'href="/daily\?date={day.isoformat()}" class="{state}[ "]', calendar), (day, state)


def test_the_daily_check_pages_and_filters_and_refuses_what_it_cannot_read(app: object) -> None:
    c = sign_in(app, "u-riskmgr-hq")
    first = c.get(f"/daily?date={PAGED_DAY.isoformat()}").text
    assert len(rows_of(first)) == 100 and 'id="pager"' in first and not flagged_seqs(first)  # no review right: no forms
    assert 'id="signoff-form"' not in first
    assert len(rows_of(c.get(f"/daily?date={PAGED_DAY.isoformat()}&page=2").text)) == PAGED_ROWS - 100
    assert len(rows_of(c.get(f"/daily?date={PAGED_DAY.isoformat()}&only=flagged").text)) == 3
    for query in ("date=2026-13-01", "date=yesterday", "date=0001-01-01", "date=9999-12-31", f"date={PAGED_DAY.isoformat()}&page=abc",
                  f"date={PAGED_DAY.isoformat()}&page=0", "date=" + "9" * 5000):
        assert c.get(f"/daily?{query}").status_code == 400, query
    reviewer = sign_in(app, "u-supervisor-hq")
    day = f"/daily/{PAGED_DAY.isoformat()}/outcome"
    for form, status in (({"seq": "x", "outcome": "compliant"}, 400), ({"seq": "999999", "outcome": "compliant"}, 400),
                         ({"seq": "1", "outcome": "maybe"}, 409), ({"outcome": "compliant"}, 400)):
        r = post(reviewer, day, form, page=f"/daily?date={PAGED_DAY.isoformat()}")
        assert r.status_code == status, (form, r.text[-500:])  # type: ignore[attr-defined]
    assert post(reviewer, "/daily/2026-02-30/signoff", {}, page="/daily").status_code == 400  # type: ignore[attr-defined]


# -- 报表 ----------------------------------------------------------------------------------------

def test_the_monthly_report_takes_the_register_counts_and_downloads(app: object) -> None:
    c = sign_in(app, "u-supervisor-hq")
    assert 'href="/reports/quarterly?quarter=' in c.get("/reports").text
    page = c.get("/reports/monthly?month=2026-11&count_illegal_provision=0&count_misuse=2&count_report_leak=0").text
    for name in ("count_illegal_provision", "count_misuse", "count_report_leak"):
        assert f'<label for="{name}">' in page
    assert "异常查询" in page and "滥用" in page and 'value="2"' in page
    md = c.get("/reports/monthly.md?month=2026-11&count_illegal_provision=0&count_misuse=2&count_report_leak=0")
    assert md.headers["content-disposition"] == 'attachment; filename="monthly-report-2026-11.md"' and "滥用" in md.text
    got = c.get("/reports/monthly.csv?month=2026-11&count_misuse=2")
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    total = next(r for r in rows if r and r[0] == "total")
    assert total[rows[0].index("misuse")] == "2"
    for query in ("month=2026-13", "month=11-2026", "month=9999-12", "month=0001-01", "month=2026-11&count_misuse=-1", "month=2026-11&count_misuse=lots"):
        assert c.get(f"/reports/monthly?{query}").status_code == 400, query


def test_the_quarterly_summary_counts_signed_days_violations_and_changes(app: object) -> None:
    c = sign_in(app, "u-supervisor-hq")
    page = c.get("/reports/quarterly?quarter=2026-Q4").text
    summary = by_id(page, "summary")
    assert "违规" in summary and "2026-Q4" in page
    assert f'href="/daily?date={SIGNED_DAY.isoformat()}"' in page
    md = c.get("/reports/quarterly.md?quarter=2026-Q4")
    assert md.status_code == 200 and SIGNED_DAY.isoformat() in md.text and "已签核" in md.text
    rows = list(csv.reader(io.StringIO(c.get("/reports/quarterly.csv?quarter=2026-Q4").content.decode("utf-8-sig"))))
    signed = next(r for r in rows if r and r[0] == SIGNED_DAY.isoformat())
    assert signed[3] == "1"  # the violation found on the day signed before the tests
    for quarter in ("2026-Q5", "2026Q4", "Q4", "9999-Q4", "0000-Q1"):
        assert c.get(f"/reports/quarterly?quarter={quarter}").status_code == 400


# -- bad input, the language, the audit trail -----------------------------------------------------

def test_bad_input_is_a_400_page_never_a_500(app: object) -> None:
    c = sign_in(app, "u-supervisor-hq")
    token = csrf_of(c.get("/try").text)
    big = c.post("/try", content=b"subject=" + b"x" * (300 * 1024), headers={"content-type": "application/x-www-form-urlencoded"})
    assert big.status_code == 413
    assert c.post("/try", content=b'{"subject": 1}', headers={"content-type": "application/json"}).status_code == 415
    assert c.post("/try", content=b"csrf=" + token.encode() + b"&subject=\xff\xfe",
                  headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 400
    many = "&".join(f"f{i}=1" for i in range(300)) + f"&csrf={token}"
    assert c.post("/try", content=many.encode(), headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 400
    for path, status in (("/changes/abc", 400), ("/changes/99999", 404), ("/changes/propose/file?name=../../etc/passwd", 404),
                         ("/daily?date=2026-11-24&only=flagged&page=99", 200), ("/policy?" + "x" * 5000, 400)):
        r = c.get(path)
        assert r.status_code == status, (path, r.text[-300:])
    assert c.put("/policy").status_code == 405
    r = c.get("/changes/abc")
    assert "revision_invalid" in r.text and "版本号" in r.text and "revision must be" in r.text
    assert "<nav" in r.text and "退出" in r.text  # said on the signed-in person's page


def test_the_language_switch_is_kept_in_a_cookie(app: object) -> None:
    c = sign_in(app, "u-officer-east")
    zh = c.get("/policy").text
    assert '<html lang="zh-CN">' in zh and ">策略<" in zh and 'id="lang-switch" href="/policy?lang=en"' in zh
    en = c.get("/policy?lang=en")
    assert '<html lang="en">' in en.text and ">Policy<" in en.text and "lang=en" in en.headers["set-cookie"]
    assert ">Try<" in c.get("/try").text  # the cookie keeps the choice
    daily = c.get(f"/daily?date={PAGED_DAY.isoformat()}").text
    assert f'href="/daily?date={PAGED_DAY.isoformat()}&amp;lang=zh"' in daily  # the switch keeps the page's query
    assert ">策略<" in c.get("/policy?lang=zh").text


def test_every_view_and_action_is_in_the_audit_trail(app: object, console: Console) -> None:
    c = sign_in(app, "u-gm-hq")
    c.get(f"/daily?date={SIGNED_DAY.isoformat()}")
    post(c, f"/daily/{SIGNED_DAY.isoformat()}/signoff", {}, page="/policy")  # gm may not review: refused, and recorded
    entries = audit_entries(console.db, limit=50)
    mine = [e for e in entries if e.by == "u-gm-hq"]
    kinds = {(e.kind, e.data.get("what", "")) for e in mine}
    assert ("view", "GET /daily") in kinds and ("signin", "password") in kinds
    refused = next(e for e in mine if e.data.get("what") == f"POST /daily/{SIGNED_DAY.isoformat()}/signoff")
    assert refused.kind == "action" and refused.data["detail"]["code"] == "console_right_missing"
    assert any(e.kind == "signin_failed" for e in audit_entries(console.db, limit=2000))


def test_the_static_files_ship_in_the_package_and_nothing_is_fetched_from_elsewhere(app: object) -> None:
    c = client(app)
    js = c.get("/static/console.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript") and "fetch(" in js.text
    css = c.get("/static/console.css")
    assert css.status_code == 200 and "@import" not in css.text and "url(" not in css.text
    console = Path(__file__).resolve().parents[2] / "src" / "zxpolicy" / "console"
    for page in [*console.glob("templates/*.html"), *console.glob("static/*")]:
        text = page.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text, page
        if page.suffix == ".html":
            assert "<script>" not in text and " style=" not in text and " onclick=" not in text, page
