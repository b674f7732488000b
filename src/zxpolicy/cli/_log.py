"""``zxpolicy log``: verify the decision log's chain; show one record; the daily check; the
monthly report. The reports verify the whole chain first and refuse a log that does not verify."""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import click
from tqdm import tqdm

from .._diagnostic import localized
from .._errors import LogError, PolicyError
from ..log import (
    FLAG_LABELS,
    FLAGS,
    RESULT_LABELS,
    Anchor,
    DailyCheck,
    LogRecord,
    LogStore,
    StoredRecord,
    csv_text,
    daily_check,
    monthly_report,
    open_log,
    review_settings,
    verify_chain,
    verify_link,
)
from ..policy import Labels, labelled, load_policy
from . import main
from ._common import (
    EXIT_DENIED,
    EXIT_ERROR,
    echo_json,
    fail,
    json_option,
    lang_option,
    policy_dir,
    policy_line,
    loaded_version,
)

PROGRESS_MIN = 50_000  # records: below this a bar flashes by and says nothing
LOG_HELP = "LOG is a SQLite file or a postgresql:// URL."
MAX_ANCHORS = 100_000  # anchors a verify takes: years of signed daily heads
MAX_ANCHORS_BYTES = 16 * 1024 * 1024
MAX_ID = 200  # characters of a decision id looked up
UNVERIFIED = ("未校验：未核实决策日志的哈希链，本表可能不完整或被篡改",
              "UNVERIFIED: the decision log's hash chain was not checked; this may be incomplete or tampered with")
no_verify_option = click.option(
    "--no-verify", is_flag=True,
    help="Do not verify the chain first (a large log, read again and again); the output says UNVERIFIED (未校验).",
)


def _progress(what: str) -> Any:
    def wrap(rows: Iterator[StoredRecord], total: int) -> Iterable[StoredRecord]:
        show = sys.stderr.isatty() and total >= PROGRESS_MIN
        return tqdm(rows, total=total, desc=what, unit=" records", file=sys.stderr, disable=not show)

    return wrap


def _open(target: str, lang: str) -> LogStore:
    """The log, opened read-only: these commands change nothing of it (a read-only copy will do),
    and create nothing where there is none. One that cannot be opened exits 2."""
    try:
        return open_log(target, read_only=True)
    except LogError as exc:
        _fail(exc, lang)


def _fail(exc: LogError, lang: str) -> NoReturn:
    """A log that cannot be opened or read: one line in ``lang``, exit 2."""
    click.echo(" ".join(localized(exc, lang).split()), err=True)
    sys.exit(EXIT_ERROR)


def _labels(policy: str | None, lang: str) -> Labels:
    """The policy's labels. A policy that does not load prints its problems in ``lang``, exit 2."""
    try:
        loaded = load_policy(policy_dir(policy))
        loaded_version(loaded.version)
        return Labels.of(loaded.document)
    except PolicyError as exc:
        click.echo(exc.text(lang), err=True)
    sys.exit(EXIT_ERROR)


def _settings(policy: str | None, lang: str) -> tuple[Any, Labels]:
    """The policy's reporting settings, and its labels. A policy that does not load prints its
    problems in ``lang`` and exits 2."""
    try:
        loaded = load_policy(policy_dir(policy))
        loaded_version(loaded.version)
        return review_settings(loaded.document), Labels.of(loaded.document)
    except PolicyError as exc:
        click.echo(exc.text(lang), err=True)
    except LookupError as exc:
        click.echo(str(exc.args[0]), err=True)
    sys.exit(EXIT_ERROR)


@main.group()
def log() -> None:
    """The decision log: verify its hash chain, check a day's queries, report a month.

    \b
    Example:
      zxpolicy check --log decisions.db examples/query-allowed.json
      zxpolicy log verify decisions.db --anchors signed-heads.txt
      zxpolicy log show decisions.db 01a2383e-d307-7000-8000-025fc5d82736
      zxpolicy log daily-check decisions.db --date 2026-11-27 --mask
      zxpolicy log monthly-report decisions.db --month 2026-11 --count illegal_provision=0 \\
          --count misuse=0 --count report_leak=0
    """



_ANCHOR = re.compile(r"(\d{1,18}):([0-9a-f]{64})")


def _anchor(text: str, where: str, lang: str) -> Anchor:
    m = _ANCHOR.fullmatch(text.strip())
    if m is None:
        fail(f"{where}`{text.strip()[:80]}`：应为 序号:哈希（数字、冒号、64 位十六进制）",
             f"{where}`{text.strip()[:80]}`: expected SEQ:HASH (a number, a colon, 64 hex digits)", lang)
    return int(m[1]), m[2]


def _anchors(given: tuple[str, ...], files: tuple[str, ...], lang: str) -> list[Anchor]:
    """The anchors of ``--anchor`` and of each ``--anchors`` file (one ``SEQ:HASH`` a line; blank
    lines and ``#`` comments skipped). A bad one, or too many, exits 2 naming it."""
    out = [_anchor(a, "--anchor ", lang) for a in given]
    for name in files:
        try:
            with open(name, "rb") as fh:
                data = fh.read(MAX_ANCHORS_BYTES + 1)
        except OSError as exc:
            fail(f"无法读取锚点文件`{name}`：{exc.strerror}", f"cannot read the anchors file `{name}`: {exc.strerror}", lang)
        if len(data) > MAX_ANCHORS_BYTES:
            fail(f"锚点文件`{name}`超过 16 MiB", f"the anchors file `{name}` is over 16 MiB", lang)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            fail(f"锚点文件`{name}`不是 UTF-8 文本", f"the anchors file `{name}` is not UTF-8 text", lang)
        for number, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if line:
                out.append(_anchor(line, f"{name}:{number}: ", lang))
    if len(out) > MAX_ANCHORS:
        fail(f"锚点过多（{len(out)}，至多 {MAX_ANCHORS}）", f"too many anchors ({len(out)}, at most {MAX_ANCHORS})", lang)
    return out


@log.command("verify")
@click.argument("target", metavar="LOG")
@click.option("--anchor", "anchor", multiple=True, metavar="SEQ:HASH",
              help="A record's hash kept elsewhere (the head an earlier verify or daily-check printed); repeatable.")
@click.option("--anchors", "anchor_files", multiple=True, type=click.Path(), metavar="FILE",
              help="A file of anchors, one SEQ:HASH a line (# comments and blank lines allowed).")
@lang_option
@json_option
def verify_command(target: str, anchor: tuple[str, ...], anchor_files: tuple[str, ...], lang: str, as_json: bool) -> None:
    """Check that no record was edited, deleted, inserted or reordered; name the first bad one.

    LOG is a SQLite file or a postgresql:// URL, opened read-only: nothing of it is changed or
    created, and a read-only copy will do. The chain must start with the log's genesis record.
    Prints the head (its last record's number and hash): keep it elsewhere (daily-check prints it
    for the reviewer to sign) and give it back with --anchor or --anchors: each must match the
    record at its number, so a rewritten chain or a cut tail is caught. Exit 0 intact, or empty (a
    log with no decision yet: nothing to check), 1 tampered (a missing genesis, table or head, a
    record's body that is not a record, an anchor not matched, included), 2 a log that cannot be
    opened or read, or an anchor that is not SEQ:HASH.

    \b
    Example:
      zxpolicy log verify decisions.db
      zxpolicy log verify decisions.db --anchor 10000:9f86d08... --anchors signed-heads.txt
    """
    anchors = _anchors(anchor, anchor_files, lang)
    store = _open(target, lang)
    try:
        v = verify_chain(store, anchors=anchors, progress=_progress("verify"))
    except LogError as exc:
        _fail(exc, lang)
    finally:
        store.close()
    zh = lang == "zh"
    f = v.finding
    if as_json:
        echo_json({
            "ok": v.ok, "status": v.status, "records": v.records, "head": {"seq": v.head_seq, "hash": v.head_hash},
            "log_id": v.log_id, "anchors": len(anchors), "finding": None if f is None else f.to_dict(),
        })
    elif f is not None:
        click.echo(("已被篡改：" if zh else "TAMPERED: ") + localized(f, lang))
    elif v.status == "empty":
        click.echo(f"空日志：没有可核查的记录；链头 {v.head_seq}:{v.head_hash}" if zh
                   else f"empty: nothing to check; head {v.head_seq}:{v.head_hash}")
    else:
        anchored = (f"，{len(anchors)} 个锚点相符" if zh else f", {len(anchors)} anchors matched") if anchors else ""
        click.echo(f"完好：{v.records} 条记录{anchored}；链头 {v.head_seq}:{v.head_hash}" if zh
                   else f"intact: {v.records} records{anchored}; head {v.head_seq}:{v.head_hash}")
    sys.exit(0 if v.ok else EXIT_DENIED)


_RECORD_FIELDS = (  # (key, Chinese, English, labelled section)
    ("decision_id", "决策编号", "decision", None), ("at", "请求时间", "request time", None),
    ("logged_at", "写入时间", "written", None), ("subject_id", "用户", "user", None),
    ("subject_org", "用户机构", "user's org", "orgs"), ("action", "操作", "action", "actions"),
    ("resource_id", "资料", "resource", None), ("resource_kind", "资料种类", "kind", "kinds"),
    ("resource_level", "密级", "level", "levels"), ("resource_org", "资料机构", "resource's org", "orgs"),
    ("customer_id", "客户", "customer", None), ("purpose", "用途", "purpose", "purposes"),
    ("consent_id", "授权书", "consent", None), ("approvals", "审批", "approvals", None),
    ("evidence_keys", "证明材料", "evidence", None), ("allowed", "结果", "result", None),
    ("codes", "原因代码", "reason codes", None), ("obligations", "义务", "obligations", "obligations"),
    ("policy_version", "策略版本", "policy version", None),
)


@log.command("show")
@click.argument("target", metavar="LOG")
@click.argument("decision_id", metavar="DECISION_ID")
@click.option("--policy", type=click.Path(), help="Policy directory (for the labels). Default as for check.")
@lang_option
@json_option
def show_command(target: str, decision_id: str, policy: str | None, lang: str, as_json: bool) -> None:
    """Print the record of one decision (the decision_id of check --json), and whether its link
    in the chain verifies: its hash recomputes from the record before it and its own content,
    and the record after it links to it (only `log verify` shows the whole chain intact).

    Exit 0 the link verifies, 1 it does not, 2 no such record or a log that cannot be opened.

    \b
    Example:
      zxpolicy log show decisions.db 01a2383e-d307-7000-8000-025fc5d82736
    """
    wanted = decision_id.strip()
    if not wanted or len(wanted) > MAX_ID:
        fail(f"决策编号`{wanted[:40]}`：应为 1 至 {MAX_ID} 个字符", f"decision id `{wanted[:40]}`: expected 1 to {MAX_ID} characters", lang)
    store = _open(target, lang)
    try:
        row = store.find(wanted)
        finding = verify_link(store, row) if row is not None else None
    except LogError as exc:
        _fail(exc, lang)
    finally:
        store.close()
    if row is None:
        fail(f"决策日志中没有决策`{wanted}`的记录", f"the log has no record of decision `{wanted}`", lang)
    zh = lang == "zh"
    rec: LogRecord | None
    try:
        rec = row.record()
    except (ValueError, TypeError, KeyError):
        rec = None  # the genesis, or a body that is not a record (the finding says which)
    if as_json:
        echo_json({
            "seq": row.seq, "decision_id": row.decision_id, "hash": row.hash, "prev_hash": row.prev_hash,
            "record": None if rec is None else {k: getattr(rec, k) for k, *_ in _RECORD_FIELDS},
            "link_ok": finding is None, "finding": None if finding is None else finding.to_dict(),
        })
    else:
        labels = _labels(policy, lang)
        lines = [f"第{row.seq}条记录" if zh else f"record {row.seq}"]
        if rec is not None:
            for key, name_zh, name_en, section in _RECORD_FIELDS:
                lines.append(f"  {name_zh if zh else name_en}：" if zh else f"  {name_en}: ")
                lines[-1] += _record_value(rec, key, section, labels, lang)
        else:
            lines.append(f"  {row.body[:500]}" if isinstance(row.body, str) else "  —")
        lines.append(("  哈希：" if zh else "  hash: ") + str(row.hash))
        if finding is None:
            lines.append("链接校验：通过" if zh else "link: verifies")
        else:
            lines.append(("链接校验：未通过：" if zh else "link: DOES NOT VERIFY: ") + localized(finding, lang))
        click.echo("\n".join(lines))
        click.echo(policy_line(lang))  # the policy whose labels are shown
    sys.exit(0 if finding is None else EXIT_DENIED)


def _record_value(rec: LogRecord, key: str, section: str | None, labels: Labels, lang: str) -> str:
    value = getattr(rec, key)
    zh = lang == "zh"
    if key == "allowed":
        return labelled("allow" if value else "deny", RESULT_LABELS[bool(value)], lang)
    if key in ("at", "logged_at"):
        return str(value)
    if isinstance(value, tuple):
        if not value:
            return "无" if zh else "none"
        return labels.names(section, value, lang) if section else ("、" if zh else ", ").join(value)
    if value is None:
        return "无" if zh else "none"
    return labels.name(section, value, lang) if section else str(value)


_HEAD = {
    "seq": ("序号", "seq"), "time": ("请求时间", "request time"), "written": ("写入时间", "written"),
    "subject": ("用户", "user"), "caller": ("调用系统", "caller"), "org": ("机构", "org"), "action": ("操作", "action"), "kind": ("资料", "kind"),
    "customer": ("客户", "customer"), "purpose": ("用途", "purpose"), "allowed": ("结果", "result"),
    "flags": ("标记", "flags"), "decision_id": ("决策编号", "decision"),
}
_SECTION = {"org": "orgs", "action": "actions", "kind": "kinds", "purpose": "purposes"}


def _head_line(result: DailyCheck, lang: str) -> str:
    if not result.head_hash:
        return "链头：无（日志没有链头）" if lang == "zh" else "chain head: none (the log has no head)"
    if lang == "zh":
        return f"链头（请签署留存，日后以 zxpolicy log verify --anchor 核对）：{result.head}"
    return f"chain head (sign and keep it; check it later with zxpolicy log verify --anchor): {result.head}"


@log.command("daily-check")
@click.argument("target", metavar="LOG")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="The day the queries were written, YYYY-MM-DD, in the policy's time zone. Default: today there.")
@click.option("--policy", type=click.Path(), help="Policy directory (its `reporting` section). Default as for check.")
@click.option("--mask", is_flag=True, help="Mask customer ids (first and last two characters shown).")
@click.option("--flagged", is_flag=True, help="List only the flagged queries.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")
@no_verify_option
@lang_option
@json_option
def daily_check_command(
    target: str, day: Any, policy: str | None, mask: bool, flagged: bool, as_csv: bool, no_verify: bool, lang: str, as_json: bool,
) -> None:
    """查询日核查: the queries written that day, each with its flags, to review line by line.

    The whole chain is verified first: a log that does not verify gives no review (exit 2, naming
    the first bad record). Queries are taken by the day they were written, whatever time they
    claim. Flags: off_hours (written or claimed outside working hours), backdated, future_dated
    (the claimed time further than the clock tolerance from the time written), volume, repeat,
    denied, review_purpose (the policy's `reporting` settings). Ends with the chain's head
    (SEQ:HASH) for the reviewer to sign; `log verify --anchor` takes it back. Exit 0 when nothing
    is flagged, 1 when something is.

    \b
    Example:
      zxpolicy log daily-check decisions.db --date 2026-11-27
      zxpolicy log daily-check decisions.db --date 2026-11-27 --mask --csv > 2026-11-27.csv
    """
    store = _open(target, lang)  # first: a log that cannot be opened is all that is said
    try:
        settings, labels = _settings(policy, lang)
        day = day or _now(settings)
        result = daily_check(store, settings, day.date(), verify=not no_verify, progress=_progress("daily-check"))
    except LogError as exc:
        _fail(exc, lang)
    except ValueError as exc:  # a record that does not parse (unverified): the log was tampered with
        click.echo(str(exc), err=True)
        sys.exit(EXIT_ERROR)
    finally:
        store.close()
    rows = result.rows
    shown = [r for r in rows if r.flags] if flagged else rows
    items = [r.to_dict(mask) for r in shown]
    zh = lang == "zh"
    if as_json:
        echo_json({"date": day.date().isoformat(), "time_zone": settings.time_zone, "verified": result.verified,
                   "queries": len(rows), "flagged": result.flagged, "rows": items,
                   "head": {"seq": result.head_seq, "hash": result.head_hash}})
    elif as_csv:
        table: list[list[object]] = [[UNVERIFIED[0 if zh else 1]]] if not result.verified else []  # a first line, as a banner
        table.append([*_HEAD, "codes"])
        table += [[*(_cell(it, k, labels, lang) for k in _HEAD), " ".join(it["codes"])] for it in items]  # type: ignore[arg-type]
        table.append(["head", result.head])  # the last line: what the reviewer signs
        click.echo(csv_text(table), nl=False)  # formula-like cells escaped: ids come from the requests
    else:
        click.echo(_daily_text(items, result, labels, lang))
    sys.exit(EXIT_DENIED if result.flagged else 0)


def _flag(flag: str, lang: str) -> str:
    return labelled(flag, FLAG_LABELS.get(flag), lang)


def _cell(item: dict[str, object], key: str, labels: Labels, lang: str, day: str = "") -> str:
    value = item[key]
    if key == "allowed":
        return labelled("allow" if value else "deny", RESULT_LABELS[bool(value)], lang)
    if key == "flags":
        return ("、" if lang == "zh" else ", ").join(_flag(f, lang) for f in value) if isinstance(value, list) else ""
    if key in ("time", "written"):
        text = str(value)  # the local time, ISO: a date other than the day's is shown whole
        return text[11:19] if day and text.startswith(day) else text[:19].replace("T", " ")
    if key in _SECTION and isinstance(value, str):
        return labels.name(_SECTION[key], value, lang)
    return "" if value is None else str(value)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _daily_text(items: list[dict[str, object]], result: DailyCheck, labels: Labels, lang: str) -> str:
    zh = lang == "zh"
    day = result.day.isoformat()
    # The caller column only where a service wrote the records: a log of embedded checks has none.
    keys = [k for k in _HEAD if k != "caller" or any(it["caller"] is not None for it in items)]
    table = [[_HEAD[k][0 if zh else 1] for k in keys]] + [[_cell(it, k, labels, lang, day) for k in keys] for it in items]
    widths = [max(_width(row[i]) for row in table) for i in range(len(keys))]
    lines = ["  ".join(c + " " * (w - _width(c)) for c, w in zip(row, widths)).rstrip() for row in table]
    counts = {f: sum(1 for r in result.rows if f in r.flags) for f in FLAGS}
    summary = ("、" if zh else ", ").join(f"{_flag(f, lang)} {n}" for f, n in counts.items() if n)
    n, flagged = len(result.rows), result.flagged
    head = (f"{day} 写入的查询 {n} 笔，标记 {flagged} 笔（{summary or '无'}），请逐笔核实。" if zh
            else f"{day}: {n} queries written, {flagged} flagged ({summary or 'none'}); review each line.")
    banner = [UNVERIFIED[0 if zh else 1]] if not result.verified else []
    # The last line is what the reviewer signs; the policy that gave the flags just before it.
    return "\n".join([*banner, head, *lines, policy_line(lang), _head_line(result, lang)])


@log.command("monthly-report")
@click.argument("target", metavar="LOG")
@click.option("--month", type=click.DateTime(["%Y-%m"]), help="The month, YYYY-MM. Default: the current month in the policy's time zone.")
@click.option("--policy", type=click.Path(), help="Policy directory (its `reporting` section). Default as for check.")
@click.option("--count", "counts", multiple=True, metavar="ID=N", help="The count of a `recorded` category, from the institution's register (repeatable).")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV instead of Markdown.")
@no_verify_option
@lang_option
@json_option
def monthly_report_command(
    target: str, month: Any, policy: str | None, counts: tuple[str, ...], as_csv: bool, no_verify: bool, lang: str, as_json: bool,
) -> None:
    """The month's statistics for the PBoC, by category and organisation; a zero-report when
    every count is zero.

    The whole chain is verified first: a log that does not verify gives no report (exit 2, naming
    the first bad record). Records are counted in the month they were written. Categories come
    from the policy's `reporting.categories`. Those an authorization log cannot see (illegal
    provision, misuse, leaks) are `recorded`: give each with --count. Exit 0 for a complete
    report, 1 when a recorded count is missing.

    \b
    Example:
      zxpolicy log monthly-report decisions.db --month 2026-11 --count illegal_provision=0 \\
          --count misuse=0 --count report_leak=0 > 2026-11.md
    """
    store = _open(target, lang)  # first: a log that cannot be opened is all that is said
    try:
        settings, labels = _settings(policy, lang)
        recorded = _recorded(settings, counts)
        month = month or _now(settings)
        report = monthly_report(store, settings, month.year, month.month, recorded, verify=not no_verify,
                                progress=_progress("monthly-report"))
    except LogError as exc:
        _fail(exc, lang)
    except ValueError as exc:  # a record that does not parse (unverified): the log was tampered with
        click.echo(str(exc), err=True)
        sys.exit(EXIT_ERROR)
    finally:
        store.close()
    if as_json:
        echo_json({"month": report.month, "verified": report.verified, "records": report.records, "queries": report.queries,
                   "by_org": {o: dict(c) for o, c in report.by_org.items()}, "totals": dict(report.totals),
                   "complete": report.complete, "zero_report": report.zero, "statement": report.statement(lang),
                   "head": {"seq": report.head_seq, "hash": report.head_hash}})
    elif as_csv:
        click.echo(report.csv(lang), nl=False)
    else:
        names = {org: labels.name("orgs", org, lang) for org in report.by_org}
        click.echo(report.markdown(lang, names), nl=False)
        click.echo("\n" + policy_line(lang))
    sys.exit(0 if report.complete else EXIT_DENIED)


def _now(settings: Any) -> datetime:
    """Now, in the reporting time zone: the day and month a report is for when none is given."""
    return datetime.now(ZoneInfo(settings.time_zone))


def _recorded(settings: Any, counts: tuple[str, ...]) -> dict[str, int]:
    """The ``--count ID=N`` given, checked against the policy's recorded categories."""
    recorded: dict[str, int] = {}
    ids = {c.id: c.source for c in settings.categories}
    for item in counts:
        key, sep, value = item.partition("=")
        if not sep or not value.isdigit():
            raise click.UsageError(f"--count `{item}`: expected ID=N with N a whole number")
        if ids.get(key) != "recorded":
            known = ", ".join(k for k, s in ids.items() if s == "recorded")
            raise click.UsageError(f"--count `{key}`: not a recorded category of the policy; those are: {known}")
        recorded[key] = int(value)
    return recorded
