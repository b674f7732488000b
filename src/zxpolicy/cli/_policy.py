"""``zxpolicy policy``: the policy store's commands, wired to ``zxpolicy.store``.

Changing: ``init``, ``publish`` (the gates, then a proposal), ``approve``, ``reject``,
``rollback``. Reading only: ``status``, ``history``, ``show``, ``diff``, ``export``, ``verify``.
A VERSION is a revision number, ``current``, or a ``sha256:…`` version (its latest revision).
Exit codes: 0 done, 1 refused by a gate, a widening without ``--allow-widening``, or a broken
history; 2 a usage error or a store that cannot be used.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click

from .._errors import DiffError, PolicyError, StoreError
from ..compliance import diff_policies, diff_to_json, render_markdown
from ..decide import Engine
from ..policy import load_policy
from ..store import (
    STATES,
    PolicyStore,
    Published,
    Revision,
    change_report,
    init_store,
    local_time,
    open_store,
    publish,
    since,
    verify_entries,
)
from . import main
from ._common import EXIT_DENIED, EXIT_ERROR, echo_json, fail, json_option, lang_option, one_line

T = TypeVar("T")

store_option = click.option(
    "--store", "url", envvar="ZXPOLICY_STORE", required=True, metavar="URL",
    help="The policy store: sqlite:///PATH or postgresql://… Default: $ZXPOLICY_STORE.",
)
by_option = click.option("--by", required=True, metavar="NAME", help="Who does this (recorded in the history).")
widening_option = click.option("--allow-widening", is_flag=True, help="Propose it even though it widens access (recorded as a widening).")
examples_option = click.option("--max-examples", type=click.IntRange(min=1), default=200, show_default=True,
                               help="Requests generated per invariant by the invariants gate (as zxpolicy verify).")


def _run(lang: str, work: Callable[[], T]) -> T:
    """``work()``; a ``StoreError`` is one line in ``lang`` and exit 2."""
    try:
        return work()
    except StoreError as exc:
        click.echo(one_line(exc.text(lang)), err=True)
        sys.exit(EXIT_ERROR)


def _say(lang: str, zh: str, en: str) -> None:
    click.echo(en if lang == "en" else zh)


def _opened(url: str, lang: str) -> PolicyStore:
    return _run(lang, lambda: open_store(url))


_VERSION = re.compile(r"sha256:[0-9a-f]{16}")


def _revision_of(store: PolicyStore, spec: str, lang: str) -> int:
    """A VERSION on the command line: a revision number, ``current``, or a policy version."""
    text = spec.strip().lstrip("#")
    if text.isdigit() and len(text) < 10:
        return int(text)
    if text == "current":
        found = _run(lang, store.current_revision)
        if found is None:
            fail("策略库还没有生效的版本", "the store has no current revision yet", lang)
        return found
    if _VERSION.fullmatch(text):
        matching = [r.revision for r in _run(lang, store.revisions) if r.version == text]
        if matching:
            return matching[-1]
        fail(f"策略库中没有版本`{text}`", f"the store has no version `{text}`", lang)
    fail(f"版本`{spec[:80]}`：应为版本号（如 3）、current 或 sha256:…",
         f"VERSION `{spec[:80]}`: expected a revision number (such as 3), current, or sha256:…", lang)


@main.group()
def policy() -> None:
    """The policy store: publish a change through its gates, approve it, see its history.

    A change is proposed by one person and approved by another; hosts watching the store
    (zxpolicy.watch, zxpolicy serve) load it once approved.

    \b
    Example:
      zxpolicy policy init --store sqlite:///policy-store.db
      zxpolicy policy publish policies --store sqlite:///policy-store.db -m "新增贷后管理用途" --by 张三
      zxpolicy policy approve 2 --store sqlite:///policy-store.db --by 李四
      zxpolicy policy history --store sqlite:///policy-store.db --since 2026-01-01 --format md
    """


@policy.command("init")
@store_option
@click.option("--approvers", type=click.IntRange(1, 9), default=1, show_default=True, help="Approvals a change needs.")
@click.option("--single-person", is_flag=True, help="Let the proposer approve their own change. Only for a store made so on purpose.")
@lang_option
def init_command(url: str, approvers: int, single_person: bool, lang: str) -> None:
    """Create the store (its tables and its settings, kept for good in its history's first entry)."""
    store = _run(lang, lambda: init_store(url, approvers=approvers, single_person=single_person))
    s = store.settings()
    mode_zh, mode_en = ("单人模式：提出人可自行审批", "single-person mode: the proposer may approve") if s.single_person else (
        "提出人不得自行审批", "the proposer may not approve their own change")
    _say(lang, f"策略库已就绪：{store.shown}（每次变更须 {s.approvers} 人审批；{mode_zh}）",
         f"store ready: {store.shown} ({s.approvers} approval(s) per change; {mode_en})")


def _published(done: Published, lang: str, as_json: bool, store: PolicyStore) -> None:
    if as_json:
        echo_json({**done.to_dict(), "store": store.shown})
    else:
        for g in done.gates:
            mark = "✓" if g.ok else "✗"
            _say(lang, f"  {mark} {g.name}：{g.message}", f"  {mark} {g.name}: {g.message_en}")
        if done.widening:
            _say(lang, "  ! 此变更放宽了权限", "  ! this change widens access")
        if done.revision is None:
            _say(lang, f"未提交：{done.refused}", f"not proposed: {done.refused_en}")
        else:
            _say(lang, f"已提交第 {done.revision} 版（{done.version}），待另一人审批：zxpolicy policy approve {done.revision} --by 审批人",
                 f"proposed revision {done.revision} ({done.version}); another person approves it: "
                 f"zxpolicy policy approve {done.revision} --by NAME")
    sys.exit(0 if done.revision is not None else EXIT_DENIED)


@policy.command("publish")
@click.argument("directory", type=click.Path())
@store_option
@click.option("-m", "--message", required=True, help="Why the policy changes (recorded, and in the change report).")
@by_option
@widening_option
@examples_option
@lang_option
@json_option
def publish_command(directory: str, url: str, message: str, by: str, allow_widening: bool, max_examples: int,
                    lang: str, as_json: bool) -> None:
    """Run the gates on DIRECTORY and propose it to the store.

    The gates: the policy loads; its suites (DIRECTORY/tests) pass at the coverage its settings
    ask (publish_min_coverage, 100 by default); its invariants hold (seed 0); the semantic diff
    against the current revision is computed. A widening needs --allow-widening. The store's
    tables are created on the first publish. Exit 0 proposed, 1 refused, 2 error.
    """
    path = Path(directory)
    if not path.is_dir():
        fail(f"`{directory}`不是目录", f"`{directory}` is not a directory", lang)
    store = _run(lang, lambda: _open_or_create(url))
    done = _run(lang, lambda: publish(path, store, by=by, message=message, allow_widening=allow_widening, max_examples=max_examples))
    _published(done, lang, as_json, store)


def _open_or_create(url: str) -> PolicyStore:
    try:
        return open_store(url)
    except StoreError as exc:
        if exc.code != "store_not_initialised" and not (exc.code == "store_unreachable" and url.startswith("sqlite:")):
            raise
        return init_store(url)


@policy.command("approve")
@click.argument("version")
@store_option
@by_option
@lang_option
@json_option
def approve_command(version: str, url: str, by: str, lang: str, as_json: bool) -> None:
    """Approve a proposed revision; it becomes current once it has the approvals the store asks.

    The approver must not be the proposer (unless the store was made --single-person)."""
    store = _opened(url, lang)
    revision = _revision_of(store, version, lang)
    r = _run(lang, lambda: store.approve(revision, by=by))
    if as_json:
        echo_json(r.to_dict())
        return
    if r.state == "current":
        _say(lang, f"第 {r.revision} 版（{r.version}）已生效；监听此策略库的主机将自动加载",
             f"revision {r.revision} ({r.version}) is current; hosts watching the store load it")
    else:
        need = store.settings().approvers
        _say(lang, f"已记录`{by}`的审批：第 {r.revision} 版已有 {len(r.approvals)}/{need} 人审批",
             f"approval by `{by}` recorded: revision {r.revision} has {len(r.approvals)} of {need} approvals")


@policy.command("reject")
@click.argument("version")
@store_option
@by_option
@click.option("-m", "--message", default="", help="Why it is rejected.")
@lang_option
def reject_command(version: str, url: str, by: str, message: str, lang: str) -> None:
    """Close a proposal without making it current."""
    store = _opened(url, lang)
    revision = _revision_of(store, version, lang)
    r = _run(lang, lambda: store.reject(revision, by=by, message=message))
    _say(lang, f"第 {r.revision} 版已驳回", f"revision {r.revision} rejected")


@policy.command("rollback")
@click.argument("version")
@store_option
@click.option("-m", "--message", required=True, help="Why the policy goes back.")
@by_option
@widening_option
@examples_option
@lang_option
@json_option
def rollback_command(version: str, url: str, message: str, by: str, allow_widening: bool, max_examples: int,
                     lang: str, as_json: bool) -> None:
    """Propose an old revision's files again: a new proposal, gated and approved like any change."""
    store = _opened(url, lang)
    revision = _revision_of(store, version, lang)
    old = _run(lang, lambda: store.version(revision))
    done = _run(lang, lambda: publish(old.files, store, by=by, message=message, allow_widening=allow_widening,
                                      rollback_of=revision, max_examples=max_examples))
    _published(done, lang, as_json, store)


@policy.command("status")
@store_option
@lang_option
@json_option
def status_command(url: str, lang: str, as_json: bool) -> None:
    """The current revision, the open proposals, the store's settings, and whether its history is intact."""
    store = _opened(url, lang)
    settings = _run(lang, store.settings)
    entries = _run(lang, store.entries)
    finding = verify_entries(entries)
    revisions = store.revisions(entries)
    current = next((r for r in reversed(revisions) if r.state == "current"), None)
    open_ = [r for r in revisions if r.state == "proposed"]
    if as_json:
        echo_json({
            "store": store.shown, "approvers": settings.approvers, "single_person": settings.single_person,
            "current": current.to_dict() if current else None, "proposed": [r.to_dict() for r in open_],
            "history": {"entries": len(entries), "intact": finding is None,
                        "broken_at": finding.seq if finding else None},
        })
    else:
        _say(lang, f"策略库：{store.shown}", f"store: {store.shown}")
        if current is None:
            _say(lang, "当前版本：无（尚未有版本获批）", "current: none (nothing approved yet)")
        else:
            who = "、".join(b for b, _ in current.approvals)
            _say(lang, f"当前版本：第 {current.revision} 版（{current.version}），{local_time(current.closed_at)} 生效，"
                       f"提出人 {current.proposed_by}，审批人 {who}",
                 f"current: revision {current.revision} ({current.version}), since {local_time(current.closed_at)}, "
                 f"proposed by {current.proposed_by}, approved by {', '.join(b for b, _ in current.approvals)}")
        for r in open_:
            _say(lang, f"待审批：第 {r.revision} 版（{r.version}），{r.proposed_by} 于 {local_time(r.proposed_at)} 提出：{r.message}"
                       f"（已审批 {len(r.approvals)}/{settings.approvers}{'，放宽权限' if r.widening else ''}）",
                 f"proposed: revision {r.revision} ({r.version}) by {r.proposed_by} at {local_time(r.proposed_at)}: {r.message}"
                 f" ({len(r.approvals)} of {settings.approvers} approvals{', widens access' if r.widening else ''})")
        _say(lang, f"历史记录：{len(entries)} 条，" + ("完整" if finding is None else f"在第 {finding.seq} 条处被改动：{finding.message}"),
             f"history: {len(entries)} entries, " + ("intact" if finding is None else f"broken at entry {finding.seq}: {finding.message_en}"))
    sys.exit(0 if finding is None else EXIT_DENIED)


@policy.command("verify")
@store_option
@lang_option
def verify_command(url: str, lang: str) -> None:
    """Verify the history's hash chain, from its first entry. Exit 0 intact, 1 broken."""
    store = _opened(url, lang)
    entries = _run(lang, store.entries)
    finding = verify_entries(entries)
    if finding is None:
        _say(lang, f"完整：历史记录 {len(entries)} 条，哈希链无断裂", f"intact: {len(entries)} entries, the hash chain unbroken")
        return
    _say(lang, f"已被改动：第 {finding.seq} 条：{finding.message}", f"tampered: entry {finding.seq}: {finding.message_en}")
    sys.exit(EXIT_DENIED)


@policy.command("history")
@store_option
@click.option("--since", "since_day", type=click.DateTime(["%Y-%m-%d"]), help="Only what happened on or after this day (YYYY-MM-DD).")
@click.option("--format", "fmt", type=click.Choice(["text", "md", "csv"]), default="text", show_default=True,
              help="md and csv: the change report for the regulator (制度变更报备).")
@click.option("--time-zone", default="Asia/Shanghai", show_default=True, help="The time zone times are shown in.")
@lang_option
@json_option
def history_command(url: str, since_day: Any, fmt: str, time_zone: str, lang: str, as_json: bool) -> None:
    """Every revision: what changed, when, who proposed and who approved it, what it widened or narrowed."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"--time-zone `{time_zone[:60]}`：不是已知的时区", f"--time-zone `{time_zone[:60]}`: not a known time zone", lang)
    store = _opened(url, lang)
    day: date | None = since_day.date() if since_day is not None else None
    entries = _run(lang, store.entries)
    finding = verify_entries(entries)
    if finding is not None:  # a report on an edited history would vouch for the edit
        fail(f"策略库的历史记录在第 {finding.seq} 条处被改动，不出报告：{finding.message}",
             f"the store's history is broken at entry {finding.seq}; no report: {finding.message_en}", lang)
    revisions = since(store.revisions(entries), day, time_zone)
    if as_json:
        echo_json({"store": store.shown, "since": day.isoformat() if day else None, "revisions": [r.to_dict() for r in revisions]})
    elif fmt in ("md", "csv"):
        click.echo(change_report(revisions, fmt, lang, time_zone, day.isoformat() if day else ""), nl=False)
    else:
        if not revisions:
            _say(lang, "没有变更", "no changes")
        for r in revisions:
            _say(lang, _line(r, "zh", time_zone), _line(r, "en", time_zone))


def _line(r: Revision, lang: str, zone: str) -> str:
    zh, en = STATES.get(r.state, (r.state, r.state))
    d = r.diff or {}
    if lang == "en":
        counts = "first revision" if d.get("first") else f"{d.get('widened', 0)} widened, {d.get('narrowed', 0)} narrowed, {d.get('changed', 0)} changed"
        approved = ", ".join(b for b, _ in r.approvals) or "—"
        return (f"#{r.revision} {r.version} {en}: {r.message!s} — proposed by {r.proposed_by} at {local_time(r.proposed_at, zone)}, "
                f"approved by {approved}; {counts}" + (f"; rollback of #{r.rollback_of}" if r.rollback_of else ""))
    counts = "首个版本" if d.get("first") else f"放宽 {d.get('widened', 0)}，收紧 {d.get('narrowed', 0)}，其他变化 {d.get('changed', 0)}"
    approved = "、".join(b for b, _ in r.approvals) or "—"
    return (f"第 {r.revision} 版 {r.version} {zh}：{r.message} —— {r.proposed_by} 于 {local_time(r.proposed_at, zone)} 提出，"
            f"审批人 {approved}；{counts}" + (f"；回退到第 {r.rollback_of} 版" if r.rollback_of else ""))


@policy.command("show")
@click.argument("version")
@store_option
@lang_option
@json_option
def show_command(version: str, url: str, lang: str, as_json: bool) -> None:
    """One revision: its state, who and when, the gates' results, its files and its diff."""
    store = _opened(url, lang)
    revision = _revision_of(store, version, lang)
    r = _run(lang, lambda: store.revision(revision))
    files = sorted(_run(lang, lambda: store.version(revision)).files)
    if as_json:
        echo_json({**r.to_dict(), "files": files})
        return
    click.echo(_line(r, lang, "Asia/Shanghai"))
    for g in r.gates:
        mark = "✓" if g.get("ok") else "✗"
        _say(lang, f"  {mark} {g.get('gate')}：{g.get('message')}", f"  {mark} {g.get('gate')}: {g.get('message_en')}")
    _say(lang, "文件：" + "、".join(files), "files: " + ", ".join(files))
    markdown = (r.diff or {}).get("markdown_en" if lang == "en" else "markdown")
    if markdown:
        click.echo("")
        click.echo(str(markdown), nl=False)


def _engine_of(store: PolicyStore, revision: int, where: Path, lang: str) -> Engine:
    v = _run(lang, lambda: store.version(revision))
    where.mkdir()
    v.write_to(where)
    try:
        return Engine(load_policy(where))
    except PolicyError as exc:
        fail(f"第 {revision} 版无法加载：{exc.text('zh')}", f"revision {revision} does not load: {exc.text('en')}", lang)


@policy.command("diff")
@click.argument("old")
@click.argument("new")
@store_option
@click.option("--all-role-sets", is_flag=True, help="List the classes of every role set, not only those someone holds.")
@lang_option
@json_option
def diff_command(old: str, new: str, url: str, all_role_sets: bool, lang: str, as_json: bool) -> None:
    """The semantic diff between two revisions of the store (as zxpolicy diff)."""
    store = _opened(url, lang)
    a, b = _revision_of(store, old, lang), _revision_of(store, new, lang)
    with tempfile.TemporaryDirectory(prefix="zxpolicy-diff-") as tmp:
        engines = _engine_of(store, a, Path(tmp) / "old", lang), _engine_of(store, b, Path(tmp) / "new", lang)
        try:
            result = diff_policies(*engines)
        except DiffError as exc:
            fail(f"无法比较：{exc}", f"cannot compare: {exc}", lang)
    names = f"#{a} {engines[0].policy_version}", f"#{b} {engines[1].policy_version}"
    if as_json:
        echo_json(diff_to_json(result, *names, all_role_sets))
        return
    levels = list(dict.fromkeys([lv.id for e in engines for lv in e.document.levels]))
    click.echo(render_markdown(result, *names, lang, levels, all_role_sets), nl=False)


@policy.command("export")
@click.argument("version")
@click.argument("directory", type=click.Path())
@store_option
@lang_option
def export_command(version: str, directory: str, url: str, lang: str) -> None:
    """Write a revision's files (the policy and its suites) into DIRECTORY, new or empty."""
    store = _opened(url, lang)
    revision = _revision_of(store, version, lang)
    v = _run(lang, lambda: store.version(revision))
    target = Path(directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        fail(f"`{directory}`已存在且不为空；请给一个新目录或空目录", f"`{directory}` exists and is not empty; give a new or empty directory", lang)
    try:
        target.mkdir(parents=True, exist_ok=True)
        v.write_to(target)
    except OSError as exc:
        fail(f"无法写入`{directory}`：{exc.strerror}", f"cannot write `{directory}`: {exc.strerror}", lang)
    _say(lang, f"已导出第 {revision} 版（{v.version}）到 {directory}：{len(v.files)} 个文件",
         f"exported revision {revision} ({v.version}) to {directory}: {len(v.files)} files")
