"""What the console's pages show, built from the policy, the store, the log and the ledger.

Each builder returns plain data (dataclasses, lists, dicts) for a template; none renders HTML
and none reads a request. The policy page's data is made once per policy version and language
(a policy of 10,000 users is walked once, not at every view); the daily check of a day is made
once per day and log head (``DailyCache``), so that paging through 100,000 records does not
read and verify the log again.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from .._diagnostic import Reason
from .._errors import LogError
from ..compliance import STAGE_NAMES, still_needed, target_label
from ..decide import Explanation
from ..live import LiveStatus
from ..log import FLAG_LABELS, DailyCheck, DailyRow, LogStore, csv_text, daily_check, verify_chain, verify_since
from ..policy import Labels, PolicyDocument, Reporting, Step
from ..store import STATES, Revision, local_time
from ._ledger import OUTCOME_LABELS, LedgerEntry

__all__ = [
    "PAGE_ROWS",
    "BadInput",
    "DailyCache",
    "PolicyView",
    "parse_try_form",
    "policy_view",
    "quarter_days",
]

PAGE_ROWS = 100  # rows of the daily check per page
SHOWN_USERS = 12  # users named under a chain's step; the rest are counted
DEFAULT_ZONE = "Asia/Shanghai"
YEARS = range(1970, 3000)  # the days the console speaks of: no arithmetic near the calendar's ends

T = TypeVar("T")


class BadInput(ValueError):
    """What a request carried cannot be used: a 400 page saying why, in both languages."""

    def __init__(self, zh: str, en: str, code: str = "bad_input", status: int = 400) -> None:
        super().__init__(en)
        self.code, self.message, self.message_en, self.status = code, zh, en, status


def pick(lang: str, zh: str, en: str) -> str:
    return en if lang == "en" else zh


def zone_of(doc: PolicyDocument) -> ZoneInfo:
    return ZoneInfo(doc.reporting.time_zone if doc.reporting is not None else DEFAULT_ZONE)


# -- the policy page -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Use:
    """Where a rule is used: an anchor of the page (``#grant-0``) and what is there, in words."""

    anchor: str
    text: str


@dataclass(frozen=True)
class RuleRow:
    id: str
    clause: str
    title: str
    uses: tuple[Use, ...]


@dataclass(frozen=True)
class GrantEntry:
    """One grant in one cell of a matrix: its purposes and levels; ``anchor`` on its first cell."""

    anchor: str
    rule: str
    clause: str
    purposes: tuple[tuple[str, str], ...]  # (id, label)
    levels: str


@dataclass(frozen=True)
class Matrix:
    kind: str
    title: str
    actions: tuple[tuple[str, str], ...]  # (id, label)
    rows: tuple[tuple[str, str, tuple[tuple[GrantEntry, ...], ...]], ...]  # (role id, label, cells)


@dataclass(frozen=True)
class ChainStep:
    roles: str
    note: str
    users: tuple[str, ...]
    more: int


@dataclass(frozen=True)
class ChainView:
    anchor: str
    rule: str
    clause: str
    what: str
    ordered: bool
    steps: tuple[ChainStep, ...]
    notes: str


@dataclass(frozen=True)
class OrgNode:
    id: str
    label: str
    children: tuple[OrgNode, ...]


@dataclass(frozen=True)
class PolicyView:
    purposes: tuple[tuple[str, str], ...]  # (id, label): the legend of the matrices
    rules: tuple[RuleRow, ...]
    matrices: tuple[Matrix, ...]
    chains: tuple[ChainView, ...]
    classification: tuple[ChainView, ...]
    exemptions: tuple[str, ...]
    classification_rule: str
    classification_clause: str
    orgs: tuple[OrgNode, ...]
    users: int


def _clauses(doc: PolicyDocument) -> dict[str, str]:
    return {r.id: r.clause for r in doc.rules}


def _holders(doc: PolicyDocument) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for a in doc.assignments:
        for role in dict.fromkeys(a.roles):
            out.setdefault(role, []).append(a.id)
    return out


def _step(step: Step, labels: Labels, holders: Mapping[str, list[str]], lang: str) -> ChainStep:
    roles = pick(lang, "或", " or ").join(labels.name("roles", r, lang) for r in step.roles)
    notes = []
    if step.approver_org == "same":
        notes.append(pick(lang, "须为申请人本机构", "of the applicant's own organisation"))
    if step.when:
        notes.append(pick(lang, "条件：", "when: ") + ", ".join(f"{k}={v}" for k, v in step.when.items()))
    users = list(dict.fromkeys(u for r in step.roles for u in holders.get(r, ())))
    return ChainStep(roles, "; ".join(notes), tuple(users[:SHOWN_USERS]), max(0, len(users) - SHOWN_USERS))


def _kinds_actions(doc: PolicyDocument, labels: Labels, actions: Iterable[str], kinds: Iterable[str], lang: str) -> str:
    return f"{labels.names('actions', actions, lang)} · {labels.names('kinds', kinds, lang)}"


def _orgs(doc: PolicyDocument, labels: Labels, lang: str) -> tuple[OrgNode, ...]:
    children: dict[str | None, list[str]] = {}
    known = {o.id for o in doc.orgs}
    for o in doc.orgs:
        children.setdefault(o.parent if o.parent in known else None, []).append(o.id)

    def node(ident: str, seen: frozenset[str]) -> OrgNode:
        below = tuple(node(c, seen | {c}) for c in children.get(ident, ()) if c not in seen)
        return OrgNode(ident, labels.text("orgs", ident, lang), below)

    return tuple(node(root, frozenset({root})) for root in children.get(None, ()))


def policy_view(doc: PolicyDocument, lang: str) -> PolicyView:
    """The policy page's data: the rules and where each is used, the grants as matrices, the
    chains with who may fill each step, the classification steps, the org tree."""
    labels = Labels.of(doc)
    clauses = _clauses(doc)
    holders = _holders(doc)
    uses: dict[str, list[Use]] = {r.id: [] for r in doc.rules}

    def used(rule: str, anchor: str, text: str) -> None:
        uses.setdefault(rule, []).append(Use(anchor, text))

    matrices = []
    anchored: set[int] = set()
    for kind in doc.kinds:
        grants = [(i, g) for i, g in enumerate(doc.grants) if kind.id in g.kinds]
        if not grants:
            continue
        actions = [a.id for a in doc.actions if any(a.id in g.actions for _, g in grants)]
        roles = [r.id for r in doc.roles if any(r.id in g.roles for _, g in grants)]
        rows = []
        for role in roles:
            cells = []
            for action in actions:
                entries = []
                for i, g in grants:
                    if role in g.roles and action in g.actions:
                        anchor = "" if i in anchored else f"grant-{i}"
                        anchored.add(i)
                        shown = labels.names("levels", g.levels, lang, sep="/") if g.levels else pick(lang, "任意密级", "any level")
                        named = tuple((x, labels.text("purposes", x, lang)) for x in g.purposes)
                        entries.append(GrantEntry(anchor, g.rule, g.clause or clauses.get(g.rule, ""), named, shown))
                cells.append(tuple(entries))
            rows.append((role, labels.name("roles", role, lang), tuple(cells)))
        matrices.append(Matrix(kind.id, labels.name("kinds", kind.id, lang),
                               tuple((a, labels.text("actions", a, lang)) for a in actions), tuple(rows)))
    for i, g in enumerate(doc.grants):
        who = ("、" if lang != "en" else ", ").join(labels.text("roles", r, lang) for r in g.roles[:4])
        more = pick(lang, f"等 {len(g.roles)} 个角色", f" and {len(g.roles) - 4} more") if len(g.roles) > 4 else ""
        used(g.rule, f"grant-{i}", pick(lang, "授权：", "grant: ") + f"{who}{more} · " + _kinds_actions(doc, labels, g.actions, g.kinds, lang))

    chains = []
    for i, a in enumerate(doc.approvals):
        what = _kinds_actions(doc, labels, a.actions, a.kinds, lang)
        notes = []
        if a.retention_ended:
            notes.append(pick(lang, "须保管期已满", "only once the retention has ended"))
        if a.obligations:
            notes.append(pick(lang, "义务：", "obligations: ") + labels.names("obligations", a.obligations, lang))
        chains.append(ChainView(f"chain-{i}", a.rule, a.clause or clauses.get(a.rule, ""), what, a.ordered,
                                tuple(_step(s, labels, holders, lang) for s in a.steps), "; ".join(notes)))
        used(a.rule, f"chain-{i}", pick(lang, "审批链：", "approval chain: ") + what)
    for i, p in enumerate(doc.purposes):
        if p.approvals is not None:
            c = p.approvals
            what = pick(lang, "用途：", "purpose: ") + labels.name("purposes", p.id, lang)
            chains.append(ChainView(f"purpose-chain-{i}", c.rule, c.clause or clauses.get(c.rule, ""), what, c.ordered,
                                    tuple(_step(s, labels, holders, lang) for s in c.steps), ""))
            used(c.rule, f"purpose-chain-{i}", pick(lang, "审批链：", "approval chain: ") + what)

    cls = doc.classification
    levels = []
    for level in doc.levels:
        steps = cls.steps.get(level.id, [])
        levels.append(ChainView(f"classification-{level.id}", cls.rule, cls.clause or clauses.get(cls.rule, ""),
                                labels.name("levels", level.id, lang), False,
                                tuple(_step(s, labels, holders, lang) for s in steps), ""))
    used(cls.rule, "classification", pick(lang, "密级审批", "classification steps"))
    exemptions = []
    for e in cls.exemptions:
        exemptions.append(f"{e.rule}: " + pick(lang, f"{labels.name('roles', e.role, lang)}（机构须与资料所属机构相同）免于密级审批：{labels.names('actions', e.actions, lang)}",
                                               f"{labels.name('roles', e.role, lang)} (of exactly the resource's organisation) needs no classification step to {labels.names('actions', e.actions, lang)}"))
        used(e.rule, "classification", pick(lang, "密级审批的豁免", "classification exemption"))

    rules = tuple(RuleRow(r.id, r.clause, pick(lang, r.zh, r.en), tuple(uses.get(r.id, ()))) for r in doc.rules)
    purposes = tuple((x.id, pick(lang, x.zh, x.en)) for x in doc.purposes)
    return PolicyView(purposes, rules, tuple(matrices), tuple(chains), tuple(levels), tuple(exemptions), cls.rule,
                      cls.clause or clauses.get(cls.rule, ""), _orgs(doc, labels, lang), len(doc.assignments))


class Memo:
    """A few values kept by key, the oldest dropped first; safe between threads."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._kept: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any, make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                found: T = self._kept[key]
                return found
        value = make()
        with self._lock:
            self._kept[key] = value
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return value


@dataclass(frozen=True)
class VersionView:
    version: str
    revision: int | None
    source: str
    loaded_at: str
    from_cache: bool
    failure: str


def version_view(status: LiveStatus, lang: str) -> VersionView:
    failure = ""
    if status.last_failure is not None:
        failure = f"{local_time(status.last_failure.at)} {status.last_failure.text(lang)}"
    return VersionView(status.version, status.revision, status.source, local_time(status.loaded_at), status.from_cache, failure)


# -- trying a request ------------------------------------------------------------------------------

TRY_FIELDS = ("subject", "action", "purpose", "resource_kind", "resource_level", "resource_org", "resource_id",
              "customer_id", "consent", "consent_customer_id", "consent_purposes", "consent_signed_at",
              "consent_expires_at", "approvals", "evidence", "at")
_LINE_LIMIT = 50  # approvals or evidence lines


def _when(text: str, zone: ZoneInfo, name: str) -> str | None:
    """A time from the form: ``datetime-local`` (the policy's zone), or ISO 8601 with an offset."""
    text = text.strip()
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(f"`{name}`不是有效的时间：{text[:40]}", f"`{name}` is not a valid time: {text[:40]}") from None
    if at.year not in YEARS:
        raise BadInput(f"`{name}`的年份应在 {YEARS[0]} 到 {YEARS[-1]} 之间", f"the year of `{name}` must be {YEARS[0]} to {YEARS[-1]}")
    if at.tzinfo is None:
        at = at.replace(tzinfo=zone)
    return at.isoformat()


def parse_try_form(form: Mapping[str, list[str]], doc: PolicyDocument) -> dict[str, Any]:
    """The request a try form describes, as ``Engine.explain`` takes it. Approvals: one
    ``approver role [time]`` a line (without a time, the lines are dated a minute apart, in their
    order, before the request); evidence: one ``key=value`` a line. Raises ``BadInput``."""
    zone = zone_of(doc)

    def one(name: str) -> str:
        return (form.get(name) or [""])[-1].strip()

    at = _when(one("at"), zone, "at") or datetime.now(zone).isoformat(timespec="seconds")
    resource: dict[str, Any] = {"id": one("resource_id"), "kind": one("resource_kind"), "level": one("resource_level"),
                                "org": one("resource_org")}
    if one("customer_id"):
        resource["customer_id"] = one("customer_id")
    consent = None
    if one("consent"):
        consent = {"id": "console-try", "customer_id": one("consent_customer_id") or one("customer_id"),
                   "purposes": [p for p in form.get("consent_purposes", []) if p.strip()],
                   "signed_at": _when(one("consent_signed_at"), zone, "consent_signed_at") or at}
        expires = _when(one("consent_expires_at"), zone, "consent_expires_at")
        if expires:
            consent["expires_at"] = expires
    lines = [ln.split() for ln in one("approvals").splitlines() if ln.strip()]
    if len(lines) > _LINE_LIMIT:
        raise BadInput(f"审批至多 {_LINE_LIMIT} 行", f"at most {_LINE_LIMIT} approval lines")
    approvals = []
    base = datetime.fromisoformat(at)
    for n, parts in enumerate(lines):
        if len(parts) not in (2, 3):
            raise BadInput(f"审批第 {n + 1} 行应为“审批人 角色 [时间]”", f"approval line {n + 1} must be `approver role [time]`")
        when = _when(parts[2], zone, "approvals") if len(parts) == 3 else (base - timedelta(minutes=len(lines) - n)).isoformat()
        approvals.append({"approver": parts[0], "role": parts[1], "at": when, "resource_id": resource["id"], "action": one("action")})
    evidence: dict[str, str] = {}
    ev_lines = [ln for ln in one("evidence").splitlines() if ln.strip()]
    if len(ev_lines) > _LINE_LIMIT:
        raise BadInput(f"证据至多 {_LINE_LIMIT} 行", f"at most {_LINE_LIMIT} evidence lines")
    for n, line in enumerate(ev_lines):
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"证据第 {n + 1} 行应为“键=值”", f"evidence line {n + 1} must be `key=value`")
        evidence[key.strip()] = value.strip()
    return {"subject": one("subject"), "resource": resource, "purpose": one("purpose"), "action": one("action") or "query",
            "consent": consent, "approvals": approvals, "evidence": evidence or None, "at": at}


@dataclass(frozen=True)
class StageView:
    passed: bool
    name: str
    target: str
    approver: str
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class ResultView:
    allowed: bool
    version: str
    stages: tuple[StageView, ...]
    needs: tuple[str, ...]
    blockers: tuple[str, ...]
    obligations: str
    reasons: tuple[Reason, ...]


def result_view(explanation: Explanation, doc: PolicyDocument, lang: str) -> ResultView:
    """An explanation as ``zxpolicy explain`` prints it: each stage ✓/✗ with its target in
    words, its rules and clauses; then what is still needed."""
    stages = []
    for s in explanation.stages:
        what = target_label(s.name, s.target, doc, lang)
        stages.append(StageView(s.passed, STAGE_NAMES.get(s.name, (s.name, s.name))[0 if lang != "en" else 1],
                                f"{s.target} ({what})" if what else s.target, s.approver, s.reasons))
    d = explanation.decision
    still = still_needed(explanation, doc, lang)
    obligations = Labels.of(doc).names("obligations", d.obligations, lang) if d.allowed and d.obligations else ""
    return ResultView(d.allowed, d.policy_version, tuple(stages), still.needs, still.blockers, obligations, d.reasons)


# -- changes -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DiffRow:
    mark: str  # widened, narrowed, changed
    cells: tuple[tuple[tuple[bool, str], ...], ...]  # each cell: (is code, text) pieces


@dataclass(frozen=True)
class DiffGroup:
    title: str
    mark: str
    columns: tuple[str, ...]
    rows: tuple[DiffRow, ...]


_MARK_WORDS = {"widened": ("放宽", "WIDENED"), "narrowed": ("收紧", "NARROWED"), "changed": ("其他变化", "CHANGED")}


def _mark_of(text: str) -> str:
    lowered = text.lower()
    for mark, (zh, en) in _MARK_WORDS.items():
        if en.lower() in lowered or zh in text or mark in lowered:
            return mark
    return ""


def _pieces(cell: str) -> tuple[tuple[bool, str], ...]:
    """A Markdown cell's text, `code` spans apart; the escapes the table needed undone."""
    text = cell.strip().replace("\\|", "|").replace("&lt;", "<").replace("\\\\", "\\")
    parts = text.split("`")
    return tuple((i % 2 == 1, p) for i, p in enumerate(parts) if p)


def _cells(line: str) -> list[str]:
    body = line.strip().strip("|")
    return [c for c in re.split(r"(?<!\\)\|", body)]


def diff_groups(markdown: str) -> tuple[list[str], list[DiffGroup]]:
    """The diff a proposal recorded (its Markdown, as ``zxpolicy diff`` writes it), as groups of
    rows: one table per mark, rows grouped as the Markdown groups them; the users' and settings'
    changes as rows too. Returns the lines of text before the first group, and the groups."""
    intro: list[str] = []
    groups: list[DiffGroup] = []
    title, mark = "", ""
    columns: tuple[str, ...] = ()
    rows: list[DiffRow] = []
    for line in [*markdown.splitlines(), "#### "]:  # the last heading closes the last group
        if line.startswith("#### "):
            if title and (rows or columns):
                groups.append(DiffGroup(title, mark, columns, tuple(rows)))
            title, mark, columns, rows = line[5:].strip(), _mark_of(line[5:]), (), []
        elif line.startswith("### "):
            continue
        elif not title:
            if line.strip():
                intro.append(line.replace("**", "").strip())
        elif line.startswith("|"):
            if re.fullmatch(r"\|(\s*-+\s*\|)+", line.strip()):
                continue
            cells = _cells(line)
            if not columns:
                columns = tuple(c.strip() for c in cells)
            else:
                rows.append(DiffRow(mark, tuple(_pieces(c) for c in cells)))
        elif line.startswith("- "):
            m = re.match(r"- \*\*(.+?)\*\* (.*)$", line)
            if m:
                rows.append(DiffRow(_mark_of(m.group(1)), (((False, m.group(1)),), _pieces(m.group(2)))))
    return intro, groups


@dataclass(frozen=True)
class RevisionView:
    revision: int
    version: str
    state: str
    state_label: str
    message: str
    proposed_by: str
    proposed_at: str
    approvals: tuple[tuple[str, str], ...]
    closed_by: str
    closed_at: str
    close_message: str
    gates_ok: int
    gates: int
    widened: Any
    narrowed: Any
    changed: Any
    widening: bool
    first: bool


def revision_view(r: Revision, lang: str, zone: str = DEFAULT_ZONE) -> RevisionView:
    d = r.diff or {}
    first = bool(d.get("first"))
    return RevisionView(
        r.revision, r.version, r.state, STATES.get(r.state, (r.state, r.state))[0 if lang != "en" else 1], r.message,
        r.proposed_by, local_time(r.proposed_at, zone), tuple((b, local_time(a, zone)) for b, a in r.approvals),
        r.closed_by, local_time(r.closed_at, zone), r.close_message, sum(1 for g in r.gates if g.get("ok")), len(r.gates),
        "—" if first else d.get("widened", ""), "—" if first else d.get("narrowed", ""), "—" if first else d.get("changed", ""),
        r.widening, first,
    )


# -- the daily check ---------------------------------------------------------------------------------

# A record is written with the engine's clock when it is decided, so a day (or a month) whose end
# has passed gets no more records; this margin covers a write begun just before midnight.
_SETTLED = timedelta(minutes=5)


def closed(last_day: date, settings: Reporting) -> bool:
    """Whether the period ending with ``last_day`` (in the reporting time zone) is over, so that
    no record can still be written in it: what was computed of it stays true as the log grows."""
    zone = ZoneInfo(settings.time_zone)
    end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), zone)
    return datetime.now(zone) > end + _SETTLED


class DailyCache:
    """The daily check of a day, made once and read from memory by paging, filtering and
    recording outcomes. A day that is over is made once (with the records up to the verified
    head then: none can come after); the current day once per verified head."""

    def __init__(self, size: int = 8) -> None:
        self._memo = Memo(size)

    def get(self, log: LogStore, settings: Reporting, day: date, head: tuple[int, str]) -> DailyCheck:
        def make() -> DailyCheck:
            rows = tuple(r for r in daily_check(log, settings, day, verify=False).rows if r.seq <= head[0])
            return DailyCheck(day, rows, head[0], head[1], True)

        rules = settings.model_dump_json()  # a policy with other thresholds flags other lines
        key = (day, rules) if closed(day, settings) else (day, rules, head)
        return replace(self._memo.get(key, make), head_seq=head[0], head_hash=head[1])


@dataclass(frozen=True)
class DailyLine:
    row: DailyRow
    flags: tuple[tuple[str, str], ...]  # (id, label)
    outcome: LedgerEntry | None
    outcome_label: str


def daily_lines(rows: Iterable[DailyRow], found: Mapping[int, LedgerEntry], lang: str) -> list[DailyLine]:
    """The rows of one page, each with its flags and its newest outcome, in words."""
    out = []
    for row in rows:
        entry = found.get(row.seq)
        label = OUTCOME_LABELS[entry.outcome][0 if lang != "en" else 1] if entry is not None and entry.outcome in OUTCOME_LABELS else ""
        out.append(DailyLine(row, tuple((f, FLAG_LABELS.get(f, (f, f))[0 if lang != "en" else 1]) for f in row.flags), entry, label))
    return out


@dataclass(frozen=True)
class CalendarDay:
    day: date | None
    state: str


def calendar(month_of: date, states: Mapping[date, str]) -> list[list[CalendarDay]]:
    """The weeks (Monday first) of ``month_of``'s month, each day with its review state."""
    first = month_of.replace(day=1)
    weeks: list[list[CalendarDay]] = []
    week = [CalendarDay(None, "")] * first.weekday()
    day = first
    while day.month == first.month:
        week = [*week, CalendarDay(day, states.get(day, "not_started"))]
        if len(week) == 7:
            weeks.append(week)
            week = []
        day += timedelta(days=1)
    if week:
        weeks.append(week + [CalendarDay(None, "")] * (7 - len(week)))
    return weeks


def month_bounds(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


# -- reports -------------------------------------------------------------------------------------------

def parse_month(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) not in YEARS:
        raise BadInput(f"月份应为 YYYY-MM：{text[:20]}", f"the month must be YYYY-MM: {text[:20]}")
    return int(m.group(1)), int(m.group(2))


def quarter_days(text: str) -> tuple[str, date, date]:
    """``YYYY-Qn`` → (the quarter's name, its first day, its last day)."""
    m = re.fullmatch(r"(\d{4})-Q([1-4])", text.strip().upper())
    if not m or int(m.group(1)) not in YEARS:
        raise BadInput(f"季度应为 YYYY-Qn（如 2026-Q4）：{text[:20]}", f"the quarter must be YYYY-Qn (such as 2026-Q4): {text[:20]}")
    year, q = int(m.group(1)), int(m.group(2))
    first = date(year, 3 * q - 2, 1)
    return f"{year}-Q{q}", first, month_bounds(date(year, 3 * q, 1))[1]


@dataclass
class QuarterSummary:
    quarter: str
    first: date
    last: date
    head_seq: int
    head_hash: str
    days: list[tuple[date, int, int, int, str]] = field(default_factory=list)  # day, queries, flagged, violations, state
    changes: list[RevisionView] = field(default_factory=list)

    @property
    def signed(self) -> int:
        return sum(1 for d in self.days if d[4] == "signed")

    @property
    def unsigned(self) -> int:
        return sum(1 for d in self.days if d[4] != "signed")

    @property
    def flagged(self) -> int:
        return sum(d[2] for d in self.days)

    @property
    def violations(self) -> int:
        return sum(d[3] for d in self.days)

    @property
    def queries(self) -> int:
        return sum(d[1] for d in self.days)


_STATE_WORDS = {"not_started": ("未开始", "not started"), "in_progress": ("进行中", "in progress"), "signed": ("已签核", "signed")}


def state_label(state: str, lang: str) -> str:
    return _STATE_WORDS.get(state, (state, state))[0 if lang != "en" else 1]


def day_lines(check: DailyCheck) -> tuple[int, frozenset[int]]:
    """How many queries a day's check holds, and the seqs flagged."""
    return len(check.rows), frozenset(r.seq for r in check.rows if r.flags)


class VerifiedChain:
    """The log's head, verified: the whole chain the first time (at the console's start), then
    only the records written since the head last verified (``zxpolicy.log.verify_since``), so
    that a page view after a new query reads a few records, not the whole log. Whatever the
    short way cannot vouch for (a gap too long, a record that does not check, the verified
    record changed) is verified whole again. An edit of an older record is seen by the whole
    verification that every sign-off makes (``daily_check``), not by a page view."""

    def __init__(self, log: LogStore) -> None:
        self._log = log
        self._known: tuple[int, str] | None = None
        self._lock = threading.Lock()  # one verification at a time; the others wait for its head

    def head(self) -> tuple[int, str]:
        """The verified head; a broken chain raises ``LogError``."""
        with self._lock:
            known = self._known
            if known is not None:
                if self._log.head() == known:
                    return known
                newer = verify_since(self._log, *known)
                if newer is not None:
                    self._known = newer
                    return newer
            self._known = None
            self._known = verified(self._log)
            return self._known


def verified(log: LogStore) -> tuple[int, str]:
    """The log's head, its whole chain verified; a broken chain raises ``LogError``."""
    verdict = verify_chain(log)
    if verdict.finding is not None:
        raise LogError("log_tampered", f"决策日志校验未通过，不出具报告：{verdict.finding.message}",
                       f"the decision log does not verify, no report is made: {verdict.finding.message_en}")
    return verdict.head_seq, verdict.head_hash


def quarter_summary(quarter: str, first: date, last: date, today: date, head: tuple[int, str],
                    lines_of: Callable[[date], tuple[int, frozenset[int]]], states: Mapping[date, str],
                    outcomes_of: Callable[[date], Mapping[int, LedgerEntry]], changes: list[RevisionView]) -> QuarterSummary:
    """The quarter's self-inspection (自查自纠): each day up to ``today`` that had queries (or a
    review), with its flagged lines, the flagged lines found in violation, and its state; the
    policy's changes. ``head``: the log's verified head; ``lines_of(day)``: the day's count of
    queries and its flagged seqs."""
    out = QuarterSummary(quarter, first, last, head[0], head[1], changes=changes)
    day = first
    while day <= min(last, today):
        count, flagged = lines_of(day)
        state = states.get(day, "not_started")
        if count or state != "not_started":
            violations = sum(1 for seq, e in outcomes_of(day).items() if e.outcome == "violation" and seq in flagged)
            out.days.append((day, count, len(flagged), violations, state))
        day += timedelta(days=1)
    return out


def quarter_markdown(s: QuarterSummary, lang: str) -> str:
    zh = lang != "en"
    lines = [f"# 征信合规季度自查报告（{s.quarter}）" if zh else f"# Quarterly compliance self-inspection ({s.quarter})", ""]
    lines.append(f"期间：{s.first.isoformat()} 至 {s.last.isoformat()}；决策日志链头 {s.head_seq}:{s.head_hash}（已校验）。" if zh
                 else f"Period: {s.first.isoformat()} to {s.last.isoformat()}; decision log chain head {s.head_seq}:{s.head_hash} (verified).")
    lines += ["", f"- 有查询的日数：{len(s.days)}；已签核 {s.signed}，未签核 {s.unsigned}" if zh else
              f"- Days with queries: {len(s.days)}; signed {s.signed}, unsigned {s.unsigned}",
              f"- 查询 {s.queries} 笔；标记 {s.flagged} 笔；核实为违规 {s.violations} 笔" if zh else
              f"- Queries {s.queries}; flagged {s.flagged}; found in violation {s.violations}",
              f"- 期间策略变更：{len(s.changes)} 项" if zh else f"- Policy changes in the period: {len(s.changes)}", ""]
    head = ["日期", "查询", "标记", "违规", "状态"] if zh else ["day", "queries", "flagged", "violations", "state"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += [f"| {d.isoformat()} | {q} | {f} | {v} | {state_label(st, lang)} |" for d, q, f, v, st in s.days]
    if s.changes:
        lines += ["", "## 策略变更" if zh else "## Policy changes", ""]
        for c in s.changes:
            approved = ("、" if zh else ", ").join(b for b, _ in c.approvals) or "—"
            text = c.message.replace("\n", " ")
            lines.append(f"- 第 {c.revision} 版（{c.state_label}）：{text} —— 提出 {c.proposed_by}，审批 {approved}" if zh
                         else f"- revision {c.revision} ({c.state_label}): {text} — proposed by {c.proposed_by}, approved by {approved}")
    return "\n".join(lines) + "\n"


def quarter_csv(s: QuarterSummary, lang: str) -> str:
    zh = lang != "en"
    rows: list[list[object]] = [["day", "queries", "flagged", "violations", "state"]]
    rows += [[d.isoformat(), q, f, v, state_label(st, lang)] for d, q, f, v, st in s.days]
    rows.append(["total", s.queries, s.flagged, s.violations, f"signed {s.signed} / unsigned {s.unsigned}"])
    rows.append([])
    rows.append(["revision", "state", "message", "proposed_by", "approved_by"])
    rows += [[c.revision, c.state_label, c.message, c.proposed_by, ("、" if zh else ", ").join(b for b, _ in c.approvals)]
             for c in s.changes]
    return csv_text(rows)


def recorded_counts(form: Mapping[str, list[str]], settings: Reporting) -> dict[str, int]:
    """The register's counts given for the recorded categories (``count_<id>``); blank: not given."""
    out = {}
    for c in settings.categories:
        if c.source != "recorded":
            continue
        text = (form.get(f"count_{c.id}") or [""])[-1].strip()
        if not text:
            continue
        if not text.isdigit() or len(text) > 9:
            raise BadInput(f"{c.zh}的登记数应为非负整数：{text[:20]}", f"the count of {c.en} must be a whole number: {text[:20]}")
        out[c.id] = int(text)
    return out


def parse_day(text: str, name: str = "date") -> date:
    try:
        day = date.fromisoformat(text)
        if len(text) != 10 or day.year not in YEARS:
            raise ValueError
        return day
    except ValueError:
        raise BadInput(f"`{name}`应为 YYYY-MM-DD：{text[:20]}", f"`{name}` must be YYYY-MM-DD: {text[:20]}") from None

