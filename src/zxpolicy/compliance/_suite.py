"""Test suites kept with a policy: YAML files of requests and the decisions they must get.

A suite file has a default time ``at``, named ``fixtures`` (subjects, resources, consents,
approvals) and ``cases``. A case gives a request in ``check``'s shape — a field may name a
fixture, or ``use`` one and override some of its fields — and what it ``expect``s. A
``fixtures.yaml`` beside the suites gives fixtures to all of them. Files are checked with the same
care as policy files (strict types, unknown keys, every problem with its code, its message in
Chinese and English, file, line and column; the codes are in ``POLICY_PROBLEM_CODES``), and names
and ids are checked against the policy the suite runs on.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .._diagnostic import ENGINE_RULE
from .._errors import PolicyProblem, SuiteError
from .._hints import hint
from ..decide import KEYWORDS
from ..policy import (
    MAX_FILE_BYTES,
    PolicyDocument,
    YamlDocument,
    duplicate_keys,
    file_too_large,
    missing_beside,
    not_utf8,
    problem_at,
    pydantic_problem,
    read_yaml,
    unreadable,
    yaml_problem,
)
from ._suite_format import ApprovalIn, Expect, Fixtures, SubjectIn, SuiteFile

FIXTURES_FILE = "fixtures.yaml"

Where = tuple[str | int, ...]

# A fixture section's name in the messages: Chinese, English.
_FIXTURE_WORDS = {
    "subjects": ("主体", "subject"),
    "resources": ("资料", "resource"),
    "consents": ("授权", "consent"),
    "approvals": ("审批", "approval"),
}

_REQUIRED = {
    "subjects": ("id", "roles", "org"),
    "resources": ("id", "kind", "level", "org"),
    "consents": ("customer_id", "purposes", "signed_at"),
    "approvals": ("approver", "role", "at", "resource_id", "action"),
}


@dataclass(frozen=True)
class SuiteRequest:
    """A case's request: ``check``'s arguments (the fields of ``zxpolicy.decide.REQUEST_FIELDS``),
    ready to pass."""

    subject: Any  # an id, or a mapping of a subject's fields
    resource: dict[str, Any]
    purpose: str
    action: str
    consent: dict[str, Any] | None
    approvals: tuple[dict[str, Any], ...]
    evidence: dict[str, str] | None
    at: str

    def arguments(self) -> dict[str, Any]:
        """``check``'s keyword arguments (``zxpolicy.decide.KEYWORDS``)."""
        args = {name: getattr(self, name) for name in KEYWORDS}
        args["approvals"] = list(self.approvals)
        return args


@dataclass(frozen=True)
class SuiteCase:
    file: str  # as shown, e.g. `tests/query.yaml`
    line: int
    name: str
    request: SuiteRequest
    expect: Expect


@dataclass(frozen=True)
class Suite:
    file: str
    name: str
    cases: tuple[SuiteCase, ...]


def suite_files(directory: Path) -> list[Path]:
    """The suite files of a directory, in name order (``fixtures.yaml`` holds no cases)."""
    return sorted(
        p for p in directory.iterdir()
        if p.suffix.lower() in (".yaml", ".yml") and p.is_file() and p.name != FIXTURES_FILE
    )


def load_suites(paths: list[Path], document: PolicyDocument, shown_from: Path | None = None) -> list[Suite]:
    """Read suite files and check them against the policy they test (file names are shown relative
    to ``shown_from``). Raises ``SuiteError`` listing every problem of every file."""
    problems: list[PolicyProblem] = []
    shared: dict[Path, tuple[YamlDocument, SuiteFile] | None] = {}
    suites: list[Suite] = []
    for path in paths:
        common = path.parent / FIXTURES_FILE
        if common not in shared:
            shared[common] = _read(common, _shown(common, shown_from), problems, True) if common.is_file() else None
        read = _read(path, _shown(path, shown_from), problems, False)
        # With a broken fixtures.yaml every name it gives would be reported missing: it is not
        # resolved against, only its own problems are shown.
        if read is not None and (shared[common] is not None or not common.is_file()):
            suite = _Resolver(read[0], read[1], shared[common], document, problems).suite()
            if suite is not None:
                suites.append(suite)
    if problems:
        raise SuiteError(problems)
    return suites


def _shown(path: Path, base: Path | None) -> str:
    if base is not None and path.is_relative_to(base):
        return path.relative_to(base).as_posix()
    return path.as_posix()


def _read(path: Path, shown: str, problems: list[PolicyProblem], fixtures_only: bool) -> tuple[YamlDocument, SuiteFile] | None:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:  # not read at all: read_yaml would refuse it
            problems.append(file_too_large(shown, size))
            return None
        text = path.read_text(encoding="utf-8")
        doc = read_yaml(text, shown)
    except UnicodeDecodeError:
        problems.append(not_utf8(shown))
        return None
    except OSError as exc:
        problems.append(unreadable(shown, exc))
        return None
    except yaml.YAMLError as exc:
        problems.append(yaml_problem(path, text, exc, shown))
        return None
    if not isinstance(doc.data, dict):
        problems.append(problem_at(
            doc, (), "suite_not_mapping", "套件文件须是由`at`、`fixtures`和`cases`组成的映射",
            "a suite file must be a mapping of `at`, `fixtures` and `cases`",
        ))
        return None
    start = len(problems)
    problems.extend(duplicate_keys(doc))
    try:
        model = SuiteFile.model_validate(doc.data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        # every top-level key stands in this file (an unknown one too: it is reported where it is)
        owner = dict.fromkeys([*SuiteFile.model_fields, *map(str, doc.data)], doc)
        for err in _renamed(errors):
            problems.append(pydantic_problem(tuple(err["loc"]), err, owner, Path(shown), missing_beside(err, errors)))
        return None
    for section in Fixtures.model_fields:
        for name, spec in getattr(model.fixtures, section).items():
            if spec.use is not None:
                problems.append(problem_at(
                    doc, ("fixtures", section, name, "use"), "fixture_uses_fixture",
                    "夹具不能`use`另一个夹具；请直接写出它的字段", "a fixture cannot `use` another; give its fields",
                ))
    if fixtures_only:
        for key in ("name", "at", "cases"):
            if key in doc.data:
                problems.append(problem_at(
                    doc, (key,), "fixtures_file_extra_key", f"`{FIXTURES_FILE}`只能写`fixtures`",
                    f"`{FIXTURES_FILE}` holds only `fixtures`", key=True,
                ))
    else:
        if model.cases is None:
            problems.append(problem_at(
                doc, (), "missing_field", "缺少字段`cases`：一个套件至少要有一个用例",
                "missing field `cases`: a suite needs at least one case", path="cases",
            ))
        if model.at is None:
            problems.append(problem_at(
                doc, (), "missing_field", "缺少字段`at`：没有写时间的用例都用这个时间",
                "missing field `at`: the time of every case that gives none", path="at",
            ))
        elif not _aware(model.at):
            problems.append(problem_at(
                doc, ("at",), "time_without_offset", f"应为带时区偏移（`+08:00`）的 ISO 8601 时间，实际为`{model.at}`",
                f"expected an ISO 8601 time with an offset (`+08:00`), got `{model.at}`",
            ))
    # A suite's cases are still checked, so that every problem is reported at once; fixtures
    # with a problem are not used (each case using them would be reported as well).
    return None if doc.duplicates or (fixtures_only and len(problems) > start) else (doc, model)


def _renamed(errors: list[Any]) -> list[Any]:
    """The errors without a missing field that an unknown key beside it probably misspells
    (``resourse:``): that key's error says so, once."""
    meant = set()
    for err in errors:
        if err["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(err["loc"][-1]), missing_beside(err, errors), n=1)
            meant |= {(*tuple(err["loc"])[:-1], c) for c in close}
    return [e for e in errors if not (e["type"] == "missing" and tuple(e["loc"]) in meant)]


def _aware(text: str) -> bool:
    try:
        return datetime.fromisoformat(text).utcoffset() is not None
    except ValueError:
        return False


class _Resolver:
    """Turns one suite file's cases into requests: fixtures looked up, overrides merged, names
    and ids checked against the policy."""

    def __init__(
        self, doc: YamlDocument, model: SuiteFile, shared: tuple[YamlDocument, SuiteFile] | None,
        document: PolicyDocument, problems: list[PolicyProblem],
    ) -> None:
        self.doc, self.model, self.document, self.problems = doc, model, document, problems
        self.people = {a.id: {"id": a.id, "roles": list(a.roles), "org": a.org} for a in document.assignments}
        self.fixtures: dict[str, dict[str, BaseModel]] = {}
        for section in Fixtures.model_fields:
            own: dict[str, BaseModel] = dict(getattr(model.fixtures, section))
            common: dict[str, BaseModel] = dict(getattr(shared[1].fixtures, section)) if shared else {}
            for name in own.keys() & common.keys():
                self.fail(("fixtures", section, name), "fixture_defined_twice",
                          f"夹具`{name}`也在`{FIXTURES_FILE}`中；请给其中一个改名",
                          f"fixture `{name}` is also in `{FIXTURES_FILE}`; rename one", key=True)
            self.fixtures[section] = {**common, **own}

    def fail(self, where: Where, code: str, message: str, message_en: str, key: bool = False) -> None:
        self.problems.append(problem_at(self.doc, where, code, message, message_en, key=key))

    def suite(self) -> Suite | None:
        start = len(self.problems)
        cases: list[SuiteCase] = []
        seen: set[str] = set()
        for i, case in enumerate(self.model.cases or []):
            where: Where = ("cases", i)
            if case.name in seen:
                self.fail((*where, "name"), "duplicate_case_name", f"已有用例名为`{case.name}`；同一文件中的用例名不能重复",
                          f"another case is named `{case.name}`; case names are unique in a file")
            seen.add(case.name)
            self._check_expect(case.expect, (*where, "expect"))
            subject = self._subject(case.subject, (*where, "subject"))
            resource = self._record(case.resource, "resources", (*where, "resource"))
            consent = None if case.consent is None else self._record(case.consent, "consents", (*where, "consent"))
            approvals = tuple(self._approval(a, (*where, "approvals", j)) for j, a in enumerate(case.approvals))
            request = SuiteRequest(
                subject, resource or {}, case.purpose, case.action or "query", consent,
                tuple(a for a in approvals if a is not None), case.evidence, case.at or self.model.at or "",
            )
            cases.append(SuiteCase(self.doc.file, self.doc.position(where)[0], case.name, request, case.expect))
        if len(self.problems) > start:
            return None
        return Suite(self.doc.file, self.model.name or Path(self.doc.file).stem, tuple(cases))

    def _given(self, spec: BaseModel) -> dict[str, Any]:
        return {k: getattr(spec, k) for k in spec.model_fields_set if k != "use"}

    def _record(self, spec: BaseModel, section: str, where: Where) -> dict[str, Any] | None:
        """A fixture's fields, overridden by the case's; ``null`` removes a fixture's field."""
        use = getattr(spec, "use", None)
        base: dict[str, Any] = {}
        if use is not None:
            table = self.fixtures[section]
            if use not in table:
                noun_zh, noun_en = _FIXTURE_WORDS[section]
                self.fail((*where, "use"), "unknown_fixture", f"没有名为`{use}`的{noun_zh}夹具；{hint(use, table, lang='zh')}",
                          f"no {noun_en} fixture `{use}`; {hint(use, table)}")
                return None
            base = self._given(table[use])
        merged = {k: v for k, v in {**base, **self._given(spec)}.items() if v is not None}
        missing = [f for f in _REQUIRED[section] if f not in merged]
        if missing:
            source_zh = f"（夹具`{use}`和用例都没有给出）" if use else ""
            source = f" (neither fixture `{use}` nor the case gives it)" if use else ""
            self.fail(where, "missing_field", f"缺少字段`{missing[0]}`{source_zh}", f"missing field `{missing[0]}`{source}")
            return None
        return merged

    def _subject(self, spec: SubjectIn, where: Where) -> Any:
        """A subject fixture, an id of the assignments (passed as the id, as a host would), or
        either of them with fields overridden."""
        given = self._given(spec)
        if spec.use is not None and spec.use not in self.fixtures["subjects"]:
            if not given:
                return spec.use  # the engine looks the id up (an unknown one is `unknown_subject`)
            if spec.use not in self.people:
                self.fail((*where, "use"), "subject_not_found", f"`{spec.use}`既不是主体夹具，也不是 assignments 中的 id",
                          f"`{spec.use}` is neither a subject fixture nor an id of the assignments")
                return None
            merged = {k: v for k, v in {**self.people[spec.use], **given}.items() if v is not None}
            return merged
        return self._record(spec, "subjects", where)

    def _approval(self, spec: ApprovalIn, where: Where) -> dict[str, Any] | None:
        merged = self._record(spec, "approvals", where)
        if merged is None:
            return None
        approver = merged["approver"]
        merged["approver"] = self._subject(approver, (*where, "approver"))
        return merged if merged["approver"] is not None else None

    def _check_expect(self, expect: Expect, where: Where) -> None:
        d = self.document
        known = {
            "codes": (set(d.reasons), "unknown_reason_code", "原因代码", "reason code"),
            "rules": ({r.id for r in d.rules} | {ENGINE_RULE}, "unknown_rule", "规则编号", "rule id"),
            "obligations": ({o.id for o in d.obligations}, "unknown_obligation", "义务", "obligation"),
        }
        for field, (choices, code, what_zh, what) in known.items():
            for j, value in enumerate(getattr(expect, field) or []):
                if value not in choices:
                    self.fail((*where, field, j), code, f"未知{what_zh}`{value}`；{hint(value, choices, lang='zh')}",
                              f"unknown {what} `{value}`; {hint(value, choices)}")
        roles = {r.id for r in d.roles}
        for j, step in enumerate(expect.missing_approvals or []):
            for k, role in enumerate(step):
                if role not in roles:
                    self.fail((*where, "missing_approvals", j, k), "unknown_role",
                              f"未知角色`{role}`；{hint(role, roles, lang='zh')}", f"unknown role `{role}`; {hint(role, roles)}")
