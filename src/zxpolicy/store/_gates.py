"""Publishing to the store: the gates a change must pass before it can be proposed.

    publish(directory, store, by="张三", message="…")   # → Published: the revision, or refused

The files are read once into memory and written to a scratch directory; every gate runs on that
copy, and the copy is what the store keeps, so what was gated is what is published, whatever an
editor does to the directory meanwhile. The gates, in order:

    loads       the policy loads (and compiles)
    suite       its own suites (``tests/*.yaml``) pass, covering at least the policy's
                ``settings.publish_min_coverage`` (100 % unless it says otherwise)
    invariants  every invariant of ``invariants.yaml`` holds (``verify``, seed 0)
    diff        the semantic diff against the current revision is computed; a change that widens
                access needs ``allow_widening``, and is recorded as a widening

A gate that cannot run (the policy did not load, there are no suites, no invariants, the diff's
space is too large) fails: a publish is refused unless every gate passed.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import DiffError, PolicyError, StoreError, SuiteError
from ..compliance import MARKS, NARROWED, WIDENED, diff_policies, render_markdown, run_tests
from ..decide import Engine
from ..policy import is_policy_file, load_policy, policy_version
from ._store import PolicyStore, StoreVersion

__all__ = ["GATES", "Gate", "Published", "publish", "read_policy_files"]

GATES = ("loads", "suite", "invariants", "diff")
SUITES = "tests"
MAX_FILES = 200
SEED, MAX_EXAMPLES = 0, 200


@dataclass(frozen=True)
class Gate:
    name: str
    ok: bool
    message: str
    message_en: str

    def to_dict(self) -> dict[str, Any]:
        return {"gate": self.name, "ok": self.ok, "message": self.message, "message_en": self.message_en}


@dataclass(frozen=True)
class Published:
    """What a publish did: the revision proposed (None when refused), each gate's result, the
    diff's summary, and why it was refused."""

    revision: int | None
    version: str
    gates: tuple[Gate, ...]
    diff: dict[str, Any] | None
    widening: bool
    refused: str = ""  # Chinese
    refused_en: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"revision": self.revision, "version": self.version, "gates": [g.to_dict() for g in self.gates],
                "diff": self.diff, "widening": self.widening, "refused": self.refused, "refused_en": self.refused_en}


def read_policy_files(directory: Path) -> dict[str, str]:
    """The policy's files (top-level ``*.yaml``) and its suites (``tests/*.yaml``) as text."""
    if not directory.is_dir():
        raise StoreError("not_a_directory", f"`{directory}`不是目录", f"`{directory}` is not a directory")
    found: dict[str, str] = {}
    places = [(directory, "")]
    if (directory / SUITES).is_dir():
        places.append((directory / SUITES, f"{SUITES}/"))
    for where, prefix in places:
        for path in sorted(where.iterdir()):
            if path.is_file() and is_policy_file(path.name):
                try:
                    found[prefix + path.name] = path.read_bytes().decode("utf-8")
                except UnicodeDecodeError:
                    raise StoreError("not_utf8", f"`{prefix}{path.name}`不是 UTF-8 文本", f"`{prefix}{path.name}` is not UTF-8 text") from None
                except OSError as exc:
                    raise StoreError("unreadable_file", f"无法读取`{prefix}{path.name}`：{exc.strerror}",
                                     f"cannot read `{prefix}{path.name}`: {exc.strerror}") from None
    if len(found) > MAX_FILES:
        raise StoreError("too_many_files", f"文件超过 {MAX_FILES} 个", f"more than {MAX_FILES} files")
    return found


def version_of(files: dict[str, str]) -> str:
    return policy_version({n: t.encode("utf-8") for n, t in files.items() if "/" not in n})


def publish(
    source: Path | dict[str, str], store: PolicyStore, *, by: str, message: str,
    allow_widening: bool = False, rollback_of: int | None = None, max_examples: int = MAX_EXAMPLES,
) -> Published:
    """Run the gates on a policy (a directory, or its files) and propose it to the store when
    every gate passes. Never raises for what the gates find; raises ``StoreError`` when the
    store cannot be reached or written, and for a ``by`` or ``message`` that is not allowed."""
    if not message.strip() or len(message) > 2000:
        raise StoreError("message_invalid", "-m 须写明本次变更的原因（1 到 2000 个字符）",
                         "-m must say why the policy changes (1 to 2000 characters)")
    files = read_policy_files(source) if isinstance(source, Path) else dict(source)
    base = store.current()
    with tempfile.TemporaryDirectory(prefix="zxpolicy-publish-") as scratch:
        work = Path(scratch) / "policy"
        work.mkdir()
        StoreVersion(0, "", files).write_to(work)
        gates, engine, diff, widened = _gates(work, base, max_examples)
    version = engine.policy_version if engine is not None else version_of(files)
    failed = [g for g in gates if not g.ok]
    if failed:
        names = "、".join(g.name for g in failed)
        return Published(None, version, gates, diff, widened, f"未通过检查：{names}；未提交", f"gates failed: {', '.join(g.name for g in failed)}; nothing proposed")
    if widened and not allow_widening:
        return Published(None, version, gates, diff, widened,
                         "此变更放宽了权限：确认无误后加 --allow-widening 重新发布，此项将记录在案",
                         "the change widens access: publish again with --allow-widening once reviewed; it is recorded as such")
    revision = store.propose(
        files, version=version, by=by, message=message, gates=[g.to_dict() for g in gates], diff=diff,
        widening=widened, base=base.revision if base is not None else None, rollback_of=rollback_of,
    )
    return Published(revision, version, gates, diff, widened)


def _gates(work: Path, base: StoreVersion | None, max_examples: int) -> tuple[tuple[Gate, ...], Engine | None, dict[str, Any] | None, bool]:
    try:
        engine = Engine(load_policy(work))
    except PolicyError as exc:
        first = exc.problems[0] if exc.problems else None
        zh = f"{exc.head('zh')}：{first.text('zh')}" if first else exc.head("zh")
        en = f"{exc.head('en')}: {first.text('en')}" if first else exc.head("en")
        skipped = tuple(Gate(n, False, "未运行：策略无法加载", "not run: the policy does not load") for n in GATES[1:])
        return (Gate("loads", False, zh, en), *skipped), None, None, False
    gates = [Gate("loads", True, f"可以加载（{engine.policy_version}）", f"loads ({engine.policy_version})")]
    gates.append(_suite(engine))
    gates.append(_invariants(engine, max_examples))
    diff_gate, diff, widened = _diff(engine, base)
    gates.append(diff_gate)
    return tuple(gates), engine, diff, widened


def _suite(engine: Engine) -> Gate:
    floor = engine.document.settings.publish_min_coverage
    try:
        report = run_tests(engine)
    except SuiteError as exc:
        first = exc.problems[0].text("zh") if exc.problems else ""
        return Gate("suite", False, f"{exc.head('zh')}：{first}", f"{exc.head('en')}: {exc.problems[0].text('en') if exc.problems else ''}")
    cov = report.coverage.percent
    ok = report.ok(min_coverage=floor)
    zh = f"{report.passed} 例通过，{report.failed} 例失败；覆盖率 {cov:.1f}%（须至少 {floor:g}%）"
    en = f"{report.passed} passed, {report.failed} failed; coverage {cov:.1f}% (at least {floor:g}% needed)"
    return Gate("suite", ok, zh, en)


def _invariants(engine: Engine, max_examples: int) -> Gate:
    if not engine.document.invariants:
        return Gate("invariants", False, "策略没有不变式（invariants.yaml）：无可校验", "the policy has no invariants (invariants.yaml) to hold")
    try:
        from ..testing import verify
    except ImportError:
        return Gate("invariants", False, "校验不变式需要 hypothesis：pip install 'zxpolicy[testing]'",
                    "checking invariants needs hypothesis: pip install 'zxpolicy[testing]'")
    report = verify(engine, seed=SEED, max_examples=max_examples)
    broken = [r.invariant.id for r in report.results if not r.passed]
    n = len(report.results)
    if broken:
        shown = "、".join(f"`{b}`" for b in broken)
        return Gate("invariants", False, f"{len(broken)} 条不变式不成立：{shown}", f"{len(broken)} invariants do not hold: {', '.join(broken)}")
    return Gate("invariants", True, f"{n} 条不变式全部成立（种子 {SEED}）", f"all {n} invariants hold (seed {SEED})")


def _diff(engine: Engine, base: StoreVersion | None) -> tuple[Gate, dict[str, Any] | None, bool]:
    if base is None:
        return (Gate("diff", True, "首个版本：没有可比较的当前版本", "the first revision: no current one to compare with"),
                {"first": True, "base": None, "widened": 0, "narrowed": 0, "changed": 0, "markdown": "", "markdown_en": ""}, False)
    with tempfile.TemporaryDirectory(prefix="zxpolicy-base-") as scratch:
        old_dir = Path(scratch) / "policy"
        old_dir.mkdir()
        base.write_to(old_dir)
        try:
            old = Engine(load_policy(old_dir))
            result = diff_policies(old, engine)
        except (PolicyError, DiffError) as exc:
            said = str(exc).splitlines()[0][:300]
            return Gate("diff", False, f"无法与当前版本（第 {base.revision} 版）比较：{said}",
                        f"cannot compare with the current revision {base.revision}: {said}"), None, False
    levels = list(dict.fromkeys([lv.id for e in (old, engine) for lv in e.document.levels]))
    old_name, new_name = f"#{base.revision} {base.version}", engine.policy_version
    counts = result.marks
    diff = {
        "first": False, "base": base.revision, **{m: counts[m] for m in MARKS},
        "markdown": render_markdown(result, old_name, new_name, "zh", levels),
        "markdown_en": render_markdown(result, old_name, new_name, "en", levels),
    }
    zh = f"与第 {base.revision} 版相比：放宽 {counts[WIDENED]}，收紧 {counts[NARROWED]}，其他变化 {counts[MARKS[2]]}"
    en = f"against revision {base.revision}: {counts[WIDENED]} widened, {counts[NARROWED]} narrowed, {counts[MARKS[2]]} changed"
    return Gate("diff", True, zh, en), diff, result.widened
