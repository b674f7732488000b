"""Policy files → a validated ``PolicyDocument``, whole or not at all.

Every ``*.yaml`` (or ``*.yml``, in any case) file directly in the directory is read; subfolders,
such as test suites, are not. Any other file there is refused (``unexpected_file``), but for
``README*``, ``LICENSE*``, ``*.md``, ``*.txt``, ``*.rst`` and dotfiles: a file that is not read
must not look as if it were part of the policy. A file holds one or more top-level sections
(``roles``, ``grants``, ...); each section stands in exactly one file. Every problem found is
reported with its code, its message in Chinese and English, and its file, line, column and
path; ``POLICY_PROBLEM_CODES`` lists every code.

The files are one snapshot: each is looked at (size, times, inode) before all of them are read
and again after, with the directory's listing; when anything changed in between (an editor or a
checkout writing), they are read again, and after a few tries the load fails
(``policy_changed_while_reading``) rather than return a mix of old and new files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from .._errors import PolicyError, PolicyProblem
from .._hints import closest, hint, listing
from ._crosscheck import crosscheck
from ._schema import SECTIONS, Assignment, PolicyDocument, keys_at
from ._yaml import (
    MAX_PLAIN_BYTES,
    YamlDocument,
    YamlRefused,
    dotted,
    file_too_large,
    read_yaml,
)


@dataclass(frozen=True)
class LoadedPolicy:
    document: PolicyDocument
    directory: Path
    version: str  # a hash of the files read
    files: Mapping[str, YamlDocument] = field(default_factory=dict)  # section → the file it stands in, with positions


# Every code a ``PolicyProblem`` may have: what the loader and its helpers give for policy files and
# for test-suite files (``zxpolicy.compliance``), and the bundled policy's. One code per kind of
# problem; the messages are written where each is made.
POLICY_PROBLEM_CODES = (
    # reading the files
    "bundled_policy_missing",
    "not_a_directory",
    "no_policy_files",
    "unexpected_file",
    "policy_changed_while_reading",
    "live_reload_failed",  # a live policy's reload failed for a reason of no code of its own (zxpolicy.live)
    "file_too_large",
    "not_utf8",
    "unreadable_file",
    "yaml_bad_character",
    "full_width_punctuation",
    "yaml_tab",
    "yaml_mapping_value",
    "yaml_indentation",
    "yaml_missing_colon",
    "yaml_several_documents",
    "yaml_syntax",
    "yaml_alias",
    "yaml_tag",
    "yaml_too_deep",
    "yaml_too_many_values",
    "yaml_number_form",
    "yaml_invalid_time",
    "file_not_mapping",
    "duplicate_key",
    "empty_value",
    "unknown_section",
    "section_in_two_files",
    "missing_section",
    # the shape of each entry (pydantic's errors)
    "missing_field",
    "unknown_key",
    "invalid_id",
    "invalid_rule_id",
    "invalid_invariant_id",
    "invalid_time_of_day",
    "expected_mapping",
    "expected_list",
    "expected_text",
    "expected_boolean",
    "expected_integer",
    "boolean_not_text",
    "out_of_range",
    "too_few_items",
    "empty_text",
    "invalid_choice",
    "unknown_time_zone",
    "category_codes_mismatch",
    "invalid_value",
    # what the entries say about each other (_crosscheck)
    "duplicate_id",
    "confusable_id",
    "unknown_level",
    "unknown_kind",
    "unknown_action",
    "unknown_obligation",
    "unknown_role",
    "unknown_org",
    "unknown_purpose",
    "unknown_rule",
    "unknown_evidence",
    "unknown_evidence_value",
    "unknown_reason_code",
    "evidence_engine_code",
    "missing_reason_message",
    "org_cycle",
    "check_bound_twice",
    "check_unbound",
    "purpose_kind_mismatch",
    "chain_too_long",
    "too_many_approvals",
    "chain_already_covered",
    "level_without_classification",
    "invariant_empty_condition",
    "invariant_when_missing",
    "invariant_steps_mismatch",
    "invariant_obligation_mismatch",
    "reason_message_unparsable",
    "reason_message_placeholder",
    # the parts of the policy fit together (_crosscheck): nothing is left half there
    "rule_unused",
    "grant_rule_without_chain",
    # compiling a loaded policy into an engine (zxpolicy.decide.Engine)
    "policy_does_not_compile",
    # test-suite files (zxpolicy.compliance), besides the codes above
    "no_suites",
    "suite_not_mapping",
    "fixture_uses_fixture",
    "fixtures_file_extra_key",
    "fixture_defined_twice",
    "time_without_offset",
    "duplicate_case_name",
    "unknown_fixture",
    "subject_not_found",
)


def load_policy(directory: str | Path) -> LoadedPolicy:
    """Read and validate a policy directory. Raises ``PolicyError`` listing every problem."""
    root = Path(directory)
    if not root.is_dir():
        raise PolicyError([PolicyProblem("not_a_directory", "不是目录", "not a directory", str(root))])
    files, contents, problems = _read_directory(root)
    if not files:
        raise PolicyError([*problems, PolicyProblem(
            "no_policy_files", "目录中没有策略文件（`*.yaml`）", "no policy files (`*.yaml`) in the directory", str(root)
        )])

    docs: list[YamlDocument] = []
    for name, raw in contents.items():
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            head = raw[: exc.start]
            line, col = head.count(b"\n") + 1, len(head) - (head.rfind(b"\n") + 1) + 1
            problems.append(not_utf8(name, line, col))
            continue
        try:
            docs.append(read_yaml(text, name))
        except YamlRefused as exc:
            problems.extend(exc.problems)  # each typing mistake of the file, or the one refusal
        except yaml.YAMLError as exc:
            problems.append(yaml_problem(root / name, text, exc))

    merged: dict[str, Any] = {}
    owner: dict[str, YamlDocument] = {}
    for doc in docs:
        if doc.data is None:
            continue
        if not isinstance(doc.data, dict):
            problems.append(problem_at(
                doc, (), "file_not_mapping", "策略文件须是由章节组成的映射", "a policy file must be a mapping of sections"
            ))
            continue
        problems.extend(duplicate_keys(doc))
        for empty in doc.empty:
            # `key:` with nothing after it: never read as "no restriction" or "the default".
            key = empty[-1]
            problems.append(problem_at(
                doc, empty, "empty_value", f"`{key}`没有值；请写上值，或去掉这个键",
                f"`{key}` has no value; write one, or leave the key out", key=True,
            ))
        for section, value in doc.data.items():
            if section not in SECTIONS:
                problems.append(problem_at(
                    doc, (section,), "unknown_section", f"未知章节`{section}`；{hint(str(section), SECTIONS, lang='zh')}",
                    f"unknown section `{section}`; {hint(str(section), SECTIONS)}", path=str(section), key=True,
                ))
            elif section in owner:
                other = owner[section].file
                problems.append(problem_at(
                    doc, (section,), "section_in_two_files", f"章节`{section}`也写在 {other} 中；一个章节只能写在一个文件里",
                    f"section `{section}` is also in {other}; a section stands in one file", key=True,
                ))
            else:
                merged[section], owner[section] = value, doc
    if problems:
        raise PolicyError(problems)

    document, errors = _validate_document(merged)
    if document is None:
        for err in errors:
            problems.append(pydantic_problem(tuple(err["loc"]), err, owner, root, missing_beside(err, errors)))
        raise PolicyError(problems) from None

    for where, code, zh, en in crosscheck(document):
        found = owner.get(str(where[0]))
        if found is None:
            problems.append(PolicyProblem(code, zh, en, root.name, path=dotted(where)))
        else:
            # A problem with a whole mapping key (a section, a level under `steps`) is shown
            # on the key's line.
            problems.append(problem_at(found, where, code, zh, en, key=True))
    if problems:
        raise PolicyError(problems)

    return LoadedPolicy(document, root, policy_version(contents), owner)


# Entries of `assignments` validated per call into pydantic-core. One call over the whole list
# holds the GIL throughout (tens of ms at 10,000 people), stalling every other thread of the
# host, a live policy's checks among them; between chunks another thread may take its turn.
_CHUNK = 256
_ASSIGNMENTS = TypeAdapter(list[Assignment])
_ORDER = {name: i for i, name in enumerate(SECTIONS)}


def _validate_document(merged: dict[str, Any]) -> tuple[PolicyDocument | None, list[Any]]:
    """``PolicyDocument.model_validate(merged)``, with a long ``assignments`` list validated in
    chunks: the same document, or None and the same errors, in the same order, as the one call."""
    people = merged.get("assignments")
    if type(people) is not list or len(people) <= _CHUNK:
        try:
            return PolicyDocument.model_validate(merged), []
        except ValidationError as exc:
            return None, exc.errors(include_url=False)
    errors: list[Any] = []
    rest: PolicyDocument | None = None
    without = {**merged, "assignments": []}
    try:
        rest = PolicyDocument.model_validate(without)
    except ValidationError as exc:
        # an error of the whole document (a missing section) shows it, assignments and all
        errors += [{**e, "input": merged} if e.get("input") is without else e for e in exc.errors(include_url=False)]
    validated: list[Assignment] = []
    for start in range(0, len(people), _CHUNK):
        try:
            validated += _ASSIGNMENTS.validate_python(people[start:start + _CHUNK])
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                at = tuple(err["loc"])  # an entry's index in its chunk first
                index = start + at[0] if at and isinstance(at[0], int) else None
                errors.append({**err, "loc": ("assignments", *((index, *at[1:]) if index is not None else at))})
    if errors or rest is None:
        # pydantic reports a document's errors field by field, in the order of the fields
        errors.sort(key=lambda err: _ORDER.get(str(err["loc"][0]) if err["loc"] else "", -1))
        return None, errors
    return rest.model_copy(update={"assignments": validated}), []


# Files a policy directory may hold beside its policy files; they are not read.
_HARMLESS = re.compile(r"(\..*|readme.*|license.*|.*\.(md|txt|rst))", re.IGNORECASE)
_ATTEMPTS = 10  # looks at a directory whose files keep changing, before the load fails
# A file changed less than this before it is looked at may change again within the same tick of
# the file system's clock without its times changing (Linux stamps files from a clock that moves
# in steps of 1-10 ms): it is read once this has passed.
_SETTLE_NS = 25_000_000

_Look = tuple[frozenset[str], dict[str, tuple[int, ...]]]  # every name in the directory; each policy file's state


def policy_version(contents: Mapping[str, bytes]) -> str:
    """The version of a policy: a hash of its files' names and bytes, in name order, so that
    the version names exactly what was loaded (a store computes it from the files it keeps)."""
    digest = hashlib.sha256()
    for name in sorted(contents):
        digest.update(name.encode() + b"\0" + contents[name] + b"\0")
    return "sha256:" + digest.hexdigest()[:16]


def is_policy_file(name: str) -> bool:
    """A file of the directory that the loader reads (``*.yaml``, ``*.yml``, in any case)."""
    return _is_policy_file(name)


def _is_policy_file(name: str) -> bool:
    return name.lower().endswith((".yaml", ".yml"))


def _look(root: Path) -> tuple[_Look, list[str], int, list[PolicyProblem]]:
    """The directory as it stands: its names and the state of each policy file (size, times,
    inode), the policy files in name order, when the latest of them changed (ns), and the
    problems of the files that do not belong."""
    try:
        with os.scandir(root) as entries:
            names = sorted(entry.name for entry in entries)
    except OSError as exc:
        raise PolicyError([unreadable(str(root), exc)]) from None
    states: dict[str, tuple[int, ...]] = {}
    problems: list[PolicyProblem] = []
    changed = 0
    for name in names:
        try:
            st = os.stat(root / name)
        except OSError as exc:  # gone since the listing, or a link to nothing
            if _is_policy_file(name):
                states[name] = ()
                problems.append(unreadable(_shown_name(name), exc))
            continue
        if not stat.S_ISREG(st.st_mode):
            continue  # a subfolder (test suites): not read
        shown = _shown_name(name)
        if shown != name:
            problems.append(PolicyProblem(
                "unexpected_file", "文件名不是 UTF-8；请改名", "the file name is not UTF-8; rename the file", shown,
            ))
        elif _is_policy_file(name):
            states[name] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
            changed = max(changed, st.st_ctime_ns)
        elif not _HARMLESS.fullmatch(name):
            problems.append(PolicyProblem(
                "unexpected_file",
                "策略目录中只能有策略文件（`*.yaml`、`*.yml`）以及说明文件（`README*`、`*.md`、`*.txt`）；"
                "请改名为`.yaml`，或移出该目录",
                "a policy directory holds policy files (`*.yaml`, `*.yml`) and notes (`README*`, `*.md`, `*.txt`) only; "
                "rename the file to `.yaml` or move it out",
                name,
            ))
    return (frozenset(names), states), [n for n in names if n in states], changed, problems


def _shown_name(name: str) -> str:
    """A file name as it can be shown: the bytes that are not UTF-8 replaced."""
    return os.fsencode(name).decode("utf-8", "replace")


def _read_directory(root: Path) -> tuple[list[str], dict[str, bytes], list[PolicyProblem]]:
    """The policy files of ``root`` in name order, the bytes of each one read (by name), all as
    they stood at one moment, and the problems found reading them."""
    for _ in range(_ATTEMPTS):
        before, files, changed, problems = _look(root)
        ago = time.time_ns() - changed
        if abs(ago) < _SETTLE_NS:
            time.sleep((_SETTLE_NS - max(ago, 0)) / 1e9)
            continue
        contents: dict[str, bytes] = {}
        for name in files:
            if not before[1][name]:  # a file stat could not see: reported already
                continue
            size = before[1][name][0]
            if size > MAX_PLAIN_BYTES:
                problems.append(file_too_large(name, size))
                continue
            try:
                contents[name] = (root / name).read_bytes()
            except OSError as exc:
                problems.append(unreadable(name, exc))
        if _look(root)[0] == before:
            return files, contents, problems
    raise PolicyError([PolicyProblem(
        "policy_changed_while_reading",
        f"读取期间策略文件一直在变化（试了 {_ATTEMPTS} 次）；请在文件写完后再加载",
        f"the policy files kept changing while they were read ({_ATTEMPTS} tries); load them once they are written",
        str(root),
    )])


# Where the default policy keeps each section, to say where a missing one belongs.
_HOME = {
    **dict.fromkeys(("levels", "kinds", "actions", "obligations", "roles"), "vocabulary.yaml"),
    **dict.fromkeys(("rules", "settings", "consent", "separations", "obligation_rules", "reasons"), "rules.yaml"),
    **{s: f"{s}.yaml" for s in ("orgs", "purposes", "grants", "approvals", "classification", "assignments")},
}


def missing_beside(err: Any, errors: list[Any]) -> list[str]:
    """For an unknown key: the required fields missing from the same entry (a likely rename)."""
    if err["type"] != "extra_forbidden":
        return []
    parent = tuple(err["loc"])[:-1]
    return [str(e["loc"][-1]) for e in errors if e["type"] == "missing" and tuple(e["loc"])[:-1] == parent]


def pydantic_problem(
    loc: tuple[str | int, ...], err: Any, owner: dict[str, YamlDocument], root: Path, missing: list[str],
    model: type[BaseModel] = PolicyDocument,
) -> PolicyProblem:
    """One of pydantic's errors as a problem at its place (``missing``: see ``missing_beside``;
    ``model``: the model the whole file was checked against, for the keys an entry may have)."""
    # pydantic puts the name of a union member or validator in the path; drop what is not data.
    path = tuple(
        p for p in loc if isinstance(p, int) or (p != "[key]" and not str(p).startswith(("function-", "list[", "dict[")))
    )
    kind = err["type"]
    code, zh, en = _shape_message(kind, err, path, missing, model)
    if not path:
        return PolicyProblem(code, zh, en, root.name)
    doc = owner.get(str(path[0]))
    if doc is None:  # a whole section is missing
        home = _HOME.get(str(path[0]), "a policy file")
        return PolicyProblem(
            "missing_section",
            f"缺少章节`{path[0]}`（默认策略把它放在`{home}`中）",
            f"missing section `{path[0]}` (the default policy keeps it in `{home}`)",
            home, path=dotted(path),
        )
    target = path[:-1] if kind == "missing" else path
    return problem_at(doc, target, code, zh, en, path=dotted(path), key=kind == "extra_forbidden" or "[key]" in loc)


def _shape_message(
    kind: str, err: Any, path: tuple[str | int, ...], missing: list[str], root_model: type[BaseModel]
) -> tuple[str, str, str]:
    """The code and the messages (Chinese, English) of one of pydantic's errors."""
    got = err.get("input")
    if kind == "missing":
        if not path:
            return "missing_section", "缺少章节", "missing section"
        return "missing_field", f"缺少字段`{path[-1]}`", f"missing field `{path[-1]}`"
    if kind == "extra_forbidden":
        key = str(path[-1])
        zh, en = f"未知的键`{key}`", f"unknown key `{key}`"
        # A required field missing beside it is the likeliest meaning (a rename); else the
        # closest key the entry may have.
        meant = closest(key, missing) or closest(key, keys_at(root_model, path[:-1]))
        if meant:
            return "unknown_key", f"{zh}；是否应为`{meant}`？", f"{en}; did you mean `{meant}`?"
        return "unknown_key", zh, en
    if kind == "string_pattern_mismatch":
        code, expected_zh, expected_en = _pattern(str(err.get("ctx", {}).get("pattern")))
        return code, f"应为{expected_zh}，实际为`{got}`", f"expected {expected_en}, got `{got}`"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "expected_mapping", f"应为映射，实际为{_yaml_type(got, 'zh')}", f"expected a mapping, got {_yaml_type(got)}"
    if kind == "list_type":
        return "expected_list", f"应为列表，实际为{_yaml_type(got, 'zh')}", f"expected a list, got {_yaml_type(got)}"
    if isinstance(got, bool) and kind != "bool_type":
        # YAML 1.1 reads yes/no/on/off as booleans.
        shown = str(got).lower()
        return (
            "boolean_not_text",
            f"应为文本，实际为布尔值`{shown}`（YAML 把 yes、no、on、off 读作布尔值）；请加引号",
            f"expected text, got the boolean `{shown}`; put it in quotes",
        )
    code, zh = _generic(kind, err.get("ctx") or {}, got)
    en = err["msg"][0].lower() + err["msg"][1:]
    if isinstance(got, (str, int, float)):
        zh, en = f"{zh}，实际为`{got}`", f"{en} (got `{got}`)"
    return code, zh, en


def _pattern(pattern: str) -> tuple[str, str, str]:
    """What a text that does not match ``pattern`` should have been: code, Chinese, English."""
    if "INV" in pattern:
        return "invalid_invariant_id", "形如`INV-01`的不变式编号", "an invariant id like `INV-01`"
    if "A-Z" in pattern:
        return "invalid_rule_id", "形如`Q-01`的规则编号", "a rule id like `Q-01`"
    if ":" in pattern:
        return "invalid_time_of_day", "形如`08:30`的时刻", "a time of day like `08:30`"
    return "invalid_id", "由小写字母、数字、`_`或`-`组成的 id", "an id of lowercase letters, digits, `_` or `-`"


def _generic(kind: str, ctx: dict[str, Any], got: Any) -> tuple[str, str]:
    """The code and the Chinese message of the errors pydantic words well enough in English."""
    simple = {
        "bool_type": ("expected_boolean", "应为布尔值（`true`或`false`）"),
        "string_type": ("expected_text", "应为文本"),
        "int_type": ("expected_integer", "应为整数"),
    }
    if kind in simple:
        return simple[kind]
    bounds = {"greater_than": ("gt", "大于"), "greater_than_equal": ("ge", "不小于"),
              "less_than": ("lt", "小于"), "less_than_equal": ("le", "不大于")}
    if kind in bounds:
        name, words = bounds[kind]
        return "out_of_range", f"应{words} {ctx.get(name)}"
    if kind == "too_short":
        return "too_few_items", f"至少应有 {ctx.get('min_length')} 项"
    if kind == "string_too_short":
        least = ctx.get("min_length")
        return "empty_text", "不能为空" if least == 1 else f"至少应有 {least} 个字符"
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected")))
        return "invalid_choice", f"应为{listing(choices)}之一"
    reason = str(ctx.get("error", ""))
    if kind == "value_error" and reason.startswith("unknown time zone"):
        return "unknown_time_zone", f"未知时区`{got}`，例如 Asia/Shanghai"
    if kind == "value_error" and reason.startswith("`codes` is required"):
        return "category_codes_mismatch", "`codes`在`source: denied`时必须写，也只能在那时写"
    return "invalid_value", f"取值无效：{reason or kind}"


def yaml_problem(path: Path, text: str, exc: yaml.YAMLError, shown: str | None = None) -> PolicyProblem:
    """A YAML syntax error with its position and PyYAML's own words (context, then problem). The
    file is shown as ``shown`` (default: its name)."""
    file = path.name if shown is None else shown
    if isinstance(exc, YamlRefused):
        return dataclasses.replace(exc.problem, file=file)
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow
        head = text[: exc.position]
        line, col = head.count("\n") + 1, exc.position - (head.rfind("\n") + 1) + 1
        char = exc.character
        return PolicyProblem(
            "yaml_bad_character",
            f"不是有效的 YAML：不允许出现字符 {f'U+{char:04X}' if isinstance(char, int) else repr(char)}",
            f"not valid YAML: character {exc.character!r} is not allowed",
            file, line, col,
        )
    line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    words = [w for w in (getattr(exc, "context", None), getattr(exc, "problem", None)) if w]
    said = ", ".join(words) or str(exc)
    code, zh, en = "yaml_syntax", f"不是有效的 YAML：{said}", f"not valid YAML: {said}"
    for cause, cause_code, advice_zh, advice_en in _YAML_ADVICE:
        if cause in said:
            code = cause_code
            zh += f"；{advice_zh}" if advice_zh else ""
            en += f"; {advice_en}" if advice_en else ""
            break
    return PolicyProblem(code, zh, en, file, line, col)


# What PyYAML says → the code, and advice in Chinese and English.
_YAML_ADVICE = (
    ("'\\t'", "yaml_tab", "请用空格缩进，不要用制表符（Tab）", "indent with spaces, not tabs"),
    ("mapping values are not allowed", "yaml_mapping_value",
     "请检查缩进；值里含有`: `时请加引号", "check the indentation, or put a value that holds `: ` in quotes"),
    ("expected <block end>", "yaml_indentation", "请对照上面几行检查本行的缩进", "check the indentation of this line against the lines above"),
    ("could not find expected ':'", "yaml_missing_colon", "每个键后面须有`:`和一个空格", "each key needs a `:` followed by a space"),
    ("expected a single document", "yaml_several_documents", "", ""),
)


def _yaml_type(value: Any, lang: str = "en") -> str:
    if lang == "zh":
        names_zh = {str: "文本", bool: "布尔值", int: "数字", float: "数字", list: "列表", dict: "映射"}
        name = "空值" if value is None else names_zh.get(type(value), type(value).__name__)
        return f"{name}`{value}`" if isinstance(value, str) else name
    names = {str: "text", bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "a mapping"}
    name = "nothing" if value is None else names.get(type(value), type(value).__name__)
    return f"{name} `{value}`" if isinstance(value, str) else name


def problem_at(
    doc: YamlDocument, where: tuple[Any, ...], code: str, message: str, message_en: str,
    *, path: str | None = None, key: bool = False,
) -> PolicyProblem:
    """A problem at ``where`` in ``doc`` (at the key's position with ``key``); its ``path`` is
    ``where`` dotted unless given."""
    line, col = doc.position(where, key=key)
    return PolicyProblem(code, message, message_en, doc.file, line, col, dotted(where) if path is None else path)


def duplicate_keys(doc: YamlDocument) -> list[PolicyProblem]:
    """A problem for each key given twice in one mapping of ``doc``."""
    return [
        problem_at(doc, dup, "duplicate_key", "同一映射中的键重复", "key given twice in one mapping", key=True)
        for dup in doc.duplicates
    ]


def not_utf8(file: str, line: int = 0, column: int = 0) -> PolicyProblem:
    return PolicyProblem(
        "not_utf8", "不是 UTF-8 文本；请以 UTF-8 保存该文件", "not UTF-8 text; save the file as UTF-8", file, line, column
    )


def unreadable(file: str, exc: OSError) -> PolicyProblem:
    why = exc.strerror or str(exc)
    return PolicyProblem("unreadable_file", f"无法读取：{why}", f"cannot be read: {why}", file)

