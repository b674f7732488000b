"""``zxpolicy log``: verify the decision log's chain; the daily check; the monthly report."""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any, NoReturn

import click
from tqdm import tqdm

from .._diagnostic import localized
from .._errors import LogError, PolicyError
from ..log import (
    FLAGS,
    LogStore,
    StoredRecord,
    csv_text,
    daily_check,
    monthly_report,
    open_log,
    review_settings,
    verify_chain,
)
from ..policy import load_policy
from . import main
from ._common import (
    EXIT_DENIED,
    EXIT_ERROR,
    echo_json,
    json_option,
    lang_option,
    policy_dir,
)

PROGRESS_MIN = 50_000  # records: below this a bar flashes by and says nothing
LOG_HELP = "LOG is a SQLite file or a postgresql:// URL."


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


def _settings(policy: str | None, lang: str) -> tuple[Any, dict[str, tuple[str, str]]]:
    """The policy's reporting settings, and its organisations' names. A policy that does not load
    prints its problems in ``lang`` and exits 2."""
    try:
        doc = load_policy(policy_dir(policy)).document
        return review_settings(doc), {o.id: (o.zh, o.en) for o in doc.orgs}
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
      zxpolicy log verify decisions.db
      zxpolicy log daily-check decisions.db --date 2026-11-27 --mask
      zxpolicy log monthly-report decisions.db --month 2026-11 --count illegal_provision=0 \\
          --count misuse=0 --count report_leak=0
    """


@log.command("verify")
@click.argument("target", metavar="LOG")
@click.option("--anchor", metavar="SEQ:HASH", help="A record's hash kept elsewhere (as printed by an earlier verify).")
@lang_option
@json_option
def verify_command(target: str, anchor: str | None, lang: str, as_json: bool) -> None:
    """Check that no record was edited, deleted, inserted or reordered; name the first bad one.

    LOG is a SQLite file or a postgresql:// URL, opened read-only: nothing of it is changed or
    created, and a read-only copy will do. Prints the head (its last record's number and hash):
    keep it elsewhere and give it back with --anchor to catch a rewritten chain. Exit 0 intact,
    1 tampered (a missing table or head, or a record's body that is not a record, included), 2 a
    log that cannot be opened or read.

    \b
    Example:
      zxpolicy log verify decisions.db
      zxpolicy log verify decisions.db --anchor 10000:9f86d08...
    """
    anchored: tuple[int, str] | None = None
    if anchor is not None:
        m = re.fullmatch(r"(\d+):([0-9a-f]{64})", anchor)
        if m is None:
            raise click.UsageError(f"--anchor `{anchor}`: expected SEQ:HASH (a number, a colon, 64 hex digits)")
        anchored = (int(m[1]), m[2])
    store = _open(target, lang)
    try:
        v = verify_chain(store, anchor=anchored, progress=_progress("verify"))
    except LogError as exc:
        _fail(exc, lang)
    finally:
        store.close()
    zh = lang == "zh"
    f = v.finding
    if as_json:
        echo_json({
            "ok": v.ok, "records": v.records, "head": {"seq": v.head_seq, "hash": v.head_hash},
            "finding": None if f is None else f.to_dict(),
        })
    elif f is None:
        click.echo(f"完好：{v.records} 条记录；链头 {v.head_seq}:{v.head_hash}" if zh
                   else f"intact: {v.records} records; head {v.head_seq}:{v.head_hash}")
    else:
        click.echo(("已被篡改：" if zh else "TAMPERED: ") + localized(f, lang))
    sys.exit(0 if v.ok else EXIT_DENIED)


_HEAD = {
    "seq": ("序号", "seq"), "time": ("时间", "time"), "subject": ("用户", "user"), "org": ("机构", "org"),
    "action": ("操作", "action"), "customer": ("客户", "customer"), "purpose": ("用途", "purpose"),
    "allowed": ("结果", "result"), "flags": ("标记", "flags"), "decision_id": ("决策编号", "decision"),
}


@log.command("daily-check")
@click.argument("target", metavar="LOG")
@click.option("--date", "day", required=True, type=click.DateTime(["%Y-%m-%d"]), help="The day, YYYY-MM-DD, in the policy's time zone.")
@click.option("--policy", type=click.Path(), help="Policy directory (its `reporting` section). Default as for check.")
@click.option("--mask", is_flag=True, help="Mask customer ids (first and last two characters shown).")
@click.option("--flagged", is_flag=True, help="List only the flagged queries.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")
@lang_option
@json_option
def daily_check_command(target: str, day: Any, policy: str | None, mask: bool, flagged: bool, as_csv: bool, lang: str, as_json: bool) -> None:
    """查询日核查: the day's queries, each with its flags, to review line by line.

    Flags: off_hours, volume, repeat, denied, review_purpose (the thresholds, hours and purposes
    are the policy's `reporting` settings). Exit 0 when nothing is flagged, 1 when something is.

    \b
    Example:
      zxpolicy log daily-check decisions.db --date 2026-11-27
      zxpolicy log daily-check decisions.db --date 2026-11-27 --mask --csv > 2026-11-27.csv
    """
    store = _open(target, lang)  # first: a log that cannot be opened is all that is said
    try:
        settings, _ = _settings(policy, lang)
        rows = daily_check(store, settings, day.date(), progress=_progress("daily-check"))
    except LogError as exc:
        _fail(exc, lang)
    except ValueError as exc:  # a record that does not parse: the log was tampered with
        click.echo(str(exc), err=True)
        sys.exit(EXIT_ERROR)
    finally:
        store.close()
    shown = [r for r in rows if r.flags] if flagged else rows
    items = [r.to_dict(mask) for r in shown]
    if as_json:
        echo_json({"date": day.date().isoformat(), "time_zone": settings.time_zone, "queries": len(rows),
                   "flagged": sum(1 for r in rows if r.flags), "rows": items})
    elif as_csv:
        table: list[list[object]] = [[*_HEAD, "codes"]]
        table += [[*(_cell(it, k) for k in _HEAD), " ".join(it["codes"])] for it in items]  # type: ignore[arg-type]
        click.echo(csv_text(table), nl=False)  # formula-like cells escaped: ids come from the requests
    else:
        click.echo(_daily_text(items, rows, day.date(), lang))
    sys.exit(EXIT_DENIED if any(r.flags for r in rows) else 0)


def _cell(item: dict[str, object], key: str) -> str:
    value = item[key]
    if key == "allowed":
        return "allow" if value else "deny"
    if key == "flags":
        return " ".join(value) if isinstance(value, list) else ""
    if key == "time":
        return str(value)[11:19]
    return "" if value is None else str(value)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _daily_text(items: list[dict[str, object]], rows: list[Any], day: date, lang: str) -> str:
    zh = lang == "zh"
    table = [[_HEAD[k][0 if zh else 1] for k in _HEAD]] + [[_cell(it, k) for k in _HEAD] for it in items]
    widths = [max(_width(row[i]) for row in table) for i in range(len(_HEAD))]
    lines = ["  ".join(c + " " * (w - _width(c)) for c, w in zip(row, widths)).rstrip() for row in table]
    counts = {f: sum(1 for r in rows if f in r.flags) for f in FLAGS}
    flagged = sum(1 for r in rows if r.flags)
    summary = ", ".join(f"{f} {n}" for f, n in counts.items() if n)
    head = (f"{day} 查询 {len(rows)} 笔，标记 {flagged} 笔（{summary or '无'}），请逐笔核实。" if zh
            else f"{day}: {len(rows)} queries, {flagged} flagged ({summary or 'none'}); review each line.")
    return "\n".join([head, *lines])


@log.command("monthly-report")
@click.argument("target", metavar="LOG")
@click.option("--month", required=True, type=click.DateTime(["%Y-%m"]), help="The month, YYYY-MM.")
@click.option("--policy", type=click.Path(), help="Policy directory (its `reporting` section). Default as for check.")
@click.option("--count", "counts", multiple=True, metavar="ID=N", help="The count of a `recorded` category, from the institution's register (repeatable).")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV instead of Markdown.")
@lang_option
@json_option
def monthly_report_command(target: str, month: Any, policy: str | None, counts: tuple[str, ...], as_csv: bool, lang: str, as_json: bool) -> None:
    """The month's statistics for the PBoC, by category and organisation; a zero-report when
    every count is zero.

    Categories come from the policy's `reporting.categories`. Those an authorization log cannot
    see (illegal provision, misuse, leaks) are `recorded`: give each with --count. Exit 0 for a
    complete report, 1 when a recorded count is missing.

    \b
    Example:
      zxpolicy log monthly-report decisions.db --month 2026-11 --count illegal_provision=0 \\
          --count misuse=0 --count report_leak=0 > 2026-11.md
    """
    store = _open(target, lang)  # first: a log that cannot be opened is all that is said
    try:
        settings, orgs = _settings(policy, lang)
        recorded = _recorded(settings, counts)
        report = monthly_report(store, settings, month.year, month.month, recorded, progress=_progress("monthly-report"))
    except LogError as exc:
        _fail(exc, lang)
    except ValueError as exc:  # a record that does not parse: the log was tampered with
        click.echo(str(exc), err=True)
        sys.exit(EXIT_ERROR)
    finally:
        store.close()
    if as_json:
        echo_json({"month": report.month, "records": report.records, "queries": report.queries,
                   "by_org": {o: dict(c) for o, c in report.by_org.items()}, "totals": dict(report.totals),
                   "complete": report.complete, "zero_report": report.zero, "statement": report.statement(lang)})
    elif as_csv:
        click.echo(report.csv(lang), nl=False)
    else:
        labels = {k: v[0 if lang == "zh" else 1] for k, v in orgs.items()}
        click.echo(report.markdown(lang, labels), nl=False)
    sys.exit(0 if report.complete else EXIT_DENIED)


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
