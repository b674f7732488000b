"""Policy files → a validated ``PolicyDocument``, whole or not at all.

Every ``*.yaml`` file directly in the directory is read (subfolders, such as test suites, are
not). A file holds one or more top-level sections (``roles``, ``grants``, ...); each section
stands in exactly one file. Every problem found is reported with its file, line and column.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .._errors import PolicyError, PolicyProblem
from .._hints import hint
from ._crosscheck import crosscheck
from ._schema import SECTIONS, PolicyDocument
from ._yaml import YamlDocument, read_yaml


@dataclass(frozen=True)
class LoadedPolicy:
    document: PolicyDocument
    directory: Path
    version: str  # a hash of the files read
    files: Mapping[str, YamlDocument] = field(default_factory=dict)  # section → the file it stands in, with positions


def load_policy(directory: str | Path) -> LoadedPolicy:
    """Read and validate a policy directory. Raises ``PolicyError`` listing every problem."""
    root = Path(directory)
    if not root.is_dir():
        raise PolicyError([PolicyProblem(str(root), 0, 0, "", "not a directory")])
    files = sorted(p for p in root.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        raise PolicyError([PolicyProblem(str(root), 0, 0, "", "no policy files (`*.yaml`) in the directory")])

    problems: list[PolicyProblem] = []
    docs: list[YamlDocument] = []
    digest = hashlib.sha256()  # of the bytes parsed, so that the version names what was loaded
    for path in files:
        try:
            raw = path.read_bytes()
            digest.update(path.name.encode() + b"\0" + raw + b"\0")
            docs.append(read_yaml(raw.decode("utf-8"), path.name))
        except yaml.YAMLError as exc:
            problems.append(yaml_problem(path, raw.decode("utf-8"), exc))
        except UnicodeDecodeError as exc:
            head = raw[: exc.start]
            line, col = head.count(b"\n") + 1, len(head) - (head.rfind(b"\n") + 1) + 1
            problems.append(PolicyProblem(path.name, line, col, "", "not UTF-8 text; save the file as UTF-8"))
        except OSError as exc:
            problems.append(PolicyProblem(path.name, 0, 0, "", f"cannot be read: {exc.strerror or exc}"))

    merged: dict[str, Any] = {}
    owner: dict[str, YamlDocument] = {}
    for doc in docs:
        if doc.data is None:
            continue
        if not isinstance(doc.data, dict):
            problems.append(problem_at(doc, (), "", "a policy file must be a mapping of sections"))
            continue
        for dup in doc.duplicates:
            problems.append(problem_at(doc, dup, dotted(dup), "key given twice in one mapping", key=True))
        for empty in doc.empty:
            # `key:` with nothing after it: never read as "no restriction" or "the default".
            msg = f"`{empty[-1]}` has no value; write one, or leave the key out"
            if "：" in str(empty[-1]):
                msg = f"`{empty[-1]}`: a full-width `：` — YAML needs the ASCII `:`"
            problems.append(problem_at(doc, empty, dotted(empty), msg, key=True))
        for section, value in doc.data.items():
            if section not in SECTIONS:
                msg = f"unknown section `{section}`; expected one of {', '.join(SECTIONS)}"
                problems.append(problem_at(doc, (section,), str(section), msg, key=True))
            elif section in owner:
                msg = f"section `{section}` is also in {owner[section].file}; a section stands in one file"
                problems.append(problem_at(doc, (section,), section, msg, key=True))
            else:
                merged[section], owner[section] = value, doc
    if problems:
        raise PolicyError(problems)

    try:
        document = PolicyDocument.model_validate(merged)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        for err in errors:
            problems.append(pydantic_problem(tuple(err["loc"]), err, owner, root, missing_beside(err, errors)))
        raise PolicyError(problems) from None

    for where, message in crosscheck(document):
        found = owner.get(str(where[0]))
        if found is None:
            problems.append(PolicyProblem(root.name, 0, 0, dotted(where), message))
        else:
            # A problem with a whole mapping key (a section, a level under `steps`) is shown
            # on the key's line.
            problems.append(problem_at(found, where, dotted(where), message, key=True))
    if problems:
        raise PolicyError(problems)

    return LoadedPolicy(document, root, "sha256:" + digest.hexdigest()[:16], owner)


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
    loc: tuple[str | int, ...], err: Any, owner: dict[str, YamlDocument], root: Path, missing: list[str]
) -> PolicyProblem:
    # pydantic puts the name of a union member or validator in the path; drop what is not data.
    path = tuple(
        p for p in loc if isinstance(p, int) or (p != "[key]" and not str(p).startswith(("function-", "list[", "dict[")))
    )
    kind = err["type"]
    got = err.get("input")
    if kind == "missing":
        message = f"missing field `{path[-1]}`" if path else "missing section"
    elif kind == "extra_forbidden":
        key = str(path[-1])
        message = f"unknown key `{key}`"
        if "：" in key:
            message += "; a full-width `：` — YAML needs the ASCII `:`"
        elif missing:
            message += f"; {hint(key, missing)}"
    elif kind == "string_pattern_mismatch":
        pattern = str(err.get("ctx", {}).get("pattern"))
        expected = "a rule id like `Q-01`" if "A-Z" in pattern else (
            "an invariant id like `INV-01`" if "INV" in pattern else "an id of lowercase letters, digits, `_` or `-`"
        )
        message = f"expected {expected}, got `{got}`"
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        message = f"expected a mapping, got {_yaml_type(got)}"
    elif kind == "list_type":
        message = f"expected a list, got {_yaml_type(got)}"
    elif isinstance(got, bool) and kind != "bool_type":
        # YAML 1.1 reads yes/no/on/off as booleans.
        message = f"expected text, got the boolean `{str(got).lower()}`; put it in quotes"
    else:
        shown = f" (got `{got}`)" if isinstance(got, (str, int, float)) else ""
        message = err["msg"][0].lower() + err["msg"][1:] + shown
    if not path:
        return PolicyProblem(root.name, 0, 0, "", message)
    doc = owner.get(str(path[0]))
    if doc is None:  # a whole section is missing
        home = _HOME.get(str(path[0]), "a policy file")
        return PolicyProblem(
            home, 0, 0, dotted(path), f"missing section `{path[0]}` (the default policy keeps it in `{home}`)"
        )
    target = path[:-1] if kind == "missing" else path
    return problem_at(doc, target, dotted(path), message, key=kind == "extra_forbidden" or "[key]" in loc)


def yaml_problem(path: Path, text: str, exc: yaml.YAMLError) -> PolicyProblem:
    """A YAML syntax error with its position and PyYAML's own words (context, then problem)."""
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow
        head = text[: exc.position]
        line, col = head.count("\n") + 1, exc.position - (head.rfind("\n") + 1) + 1
        return PolicyProblem(path.name, line, col, "", f"not valid YAML: character {exc.character!r} is not allowed")
    line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    lines = text.splitlines()
    # A full-width colon or comma (typed with a Chinese input method) is the commonest cause; PyYAML
    # reports it on the line after.
    for number in (line, line - 1):
        if 0 < number <= len(lines):
            for wide in ("：", "，"):
                if wide in lines[number - 1]:
                    ascii_ = ":" if wide == "：" else ","
                    return PolicyProblem(
                        path.name, number, lines[number - 1].index(wide) + 1, "",
                        f"not valid YAML: a full-width `{wide}` — YAML needs the ASCII `{ascii_}`",
                    )
    words = [w for w in (getattr(exc, "context", None), getattr(exc, "problem", None)) if w]
    message = "not valid YAML: " + (", ".join(words) or str(exc))
    problem = str(getattr(exc, "problem", ""))
    for cause, advice in _YAML_ADVICE:
        if cause in problem:
            message += f"; {advice}"
            break
    return PolicyProblem(path.name, line, col, "", message)


_YAML_ADVICE = (
    ("'\\t'", "indent with spaces, not tabs"),
    ("mapping values are not allowed", "check the indentation, or put a value that holds `: ` in quotes"),
    ("expected <block end>", "check the indentation of this line against the lines above"),
    ("could not find expected ':'", "each key needs a `:` followed by a space"),
)


def _yaml_type(value: Any) -> str:
    names = {str: "text", bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "a mapping"}
    name = "nothing" if value is None else names.get(type(value), type(value).__name__)
    return f"{name} `{value}`" if isinstance(value, str) else name


def problem_at(doc: YamlDocument, path: tuple[Any, ...], field: str, message: str, key: bool = False) -> PolicyProblem:
    line, col = doc.position(path, key=key)
    return PolicyProblem(doc.file, line, col, field, message)


def dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
