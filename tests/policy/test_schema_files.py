"""The JSON Schemas for editors: generated from the models, shipped beside the policy (they
cannot drift), named on each shipped file's first line, accepting every shipped file and
rejecting the typing mistakes an editor should flag."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

import zxpolicy
from zxpolicy.cli import main
from zxpolicy.compliance import suite_schema
from zxpolicy.policy import POLICY_FILES, SCHEMA_FOLDER, SCHEMA_LINE, SECTIONS, policy_schemas, schema_name, schema_text

from ..conftest import POLICIES

SHIPPED = POLICIES / SCHEMA_FOLDER
CJK = re.compile(r"[\u4e00-\u9fff]")


class _EditorLoader(yaml.SafeLoader):
    """YAML as the YAML language server reads it: a time is text (YAML 1.2 has no timestamps)."""


_EditorLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _shipped_files() -> list[Path]:
    return sorted(POLICIES.glob("*.yaml")) + sorted((POLICIES / "tests").glob("*.yaml"))


def _schema_of(path: Path) -> dict[str, Any]:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(SCHEMA_LINE), path
    return json.loads((path.parent / first[len(SCHEMA_LINE):]).read_text(encoding="utf-8"))


def _errors(schema: dict[str, Any], text: str) -> list[jsonschema.ValidationError]:
    jsonschema.Draft202012Validator.check_schema(schema)
    return list(jsonschema.Draft202012Validator(schema).iter_errors(yaml.load(text, _EditorLoader)))


def test_the_shipped_schemas_are_what_zxpolicy_schema_writes(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["schema", str(POLICIES), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(schema_name(n) for n in [*POLICY_FILES, "policy", "suite"])
    *paths, policy_line = result.stdout.splitlines()
    assert policy_line.startswith("策略：")
    assert paths == [str(tmp_path / schema_name(n)) for n in [*POLICY_FILES, "policy", "suite"]]
    for name in written:
        assert (SHIPPED / name).read_text(encoding="utf-8") == (tmp_path / name).read_text(encoding="utf-8"), (
            f"{name} is stale: run `zxpolicy schema policies`"
        )
    assert sorted(p.name for p in SHIPPED.iterdir()) == written


def test_every_shipped_file_names_its_schema_and_is_accepted() -> None:
    files = _shipped_files()
    assert len(files) >= 14
    for path in files:
        errors = _errors(_schema_of(path), path.read_text(encoding="utf-8"))
        assert not errors, (path, [e.message for e in errors[:3]])
    for name, sections in POLICY_FILES.items():
        assert _schema_of(POLICIES / f"{name}.yaml")["required"] == list(sections)


def test_the_schema_folder_changes_nothing_the_loader_reads(tmp_path: Path) -> None:
    with_schemas = zxpolicy.load(POLICIES).policy_version
    copy = tmp_path / "p"
    copy.mkdir()
    for path in POLICIES.glob("*.yaml"):
        (copy / path.name).write_bytes(path.read_bytes())
    assert zxpolicy.load(copy).policy_version == with_schemas


def test_the_layout_covers_every_section() -> None:
    assert sorted(s for sections in POLICY_FILES.values() for s in sections) == sorted(SECTIONS)


@pytest.fixture(scope="module")
def schemas() -> dict[str, dict[str, Any]]:
    doc = zxpolicy.load(POLICIES).document
    return {**policy_schemas(doc), "suite": suite_schema(doc)}


REJECTED = {
    "misspelt_section": ("vocabulary", "\nlevels:", "\nlevel:"),
    "misspelt_key": ("grants", "    purposes: [dissent]\n", "    purposes: [dissent]\n    levles: [ordinary]\n"),
    "text_for_a_boolean": ("purposes", "    consent: true\n\n  - id: guarantor_check", '    consent: "yes"\n\n  - id: guarantor_check'),
    "full_width_comma_in_an_id_list": ("rules", "  rule: Q-04\n  actions: [query, print]", "  rule: Q-04\n  actions: [query，print]"),
    "unknown_role": ("grants", "    roles: [dispute_handler]", "    roles: [dispute_handlr]"),
    "unknown_level_in_classification": ("classification", "    top_secret:", "    top_secrt:"),
    "key_with_no_value": ("grants", "    purposes: [dissent]\n", "    purposes:\n"),
    "a_string_for_a_list": ("grants", "    roles: [dispute_handler]", "    roles: dispute_handler"),
}


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_the_schema_rejects_typing_mistakes(schemas: dict[str, dict[str, Any]], name: str) -> None:
    file, old, new = REJECTED[name]
    text = (POLICIES / f"{file}.yaml").read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    assert not _errors(schemas[file], text)
    assert _errors(schemas[file], text.replace(old, new)), name
    assert _errors(schemas["policy"], text.replace(old, new)), name


def test_the_suite_schema_rejects_a_misspelt_key_and_an_unknown_expected_code(schemas: dict[str, dict[str, Any]]) -> None:
    text = (POLICIES / "tests" / "query.yaml").read_text(encoding="utf-8")
    assert not _errors(schemas["suite"], text)
    assert _errors(schemas["suite"], text.replace("\ncases:", "\ncase:", 1))
    assert _errors(schemas["suite"], text.replace("expect: {allowed: true,", "expect: {allowed: yes_please,", 1))
    assert _errors(schemas["suite"], text.replace("obligations: [log_query]", "obligations: [log_qeury]", 1))


def _properties(node: Any) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    todo = [node]
    while todo:
        here = todo.pop()
        if isinstance(here, dict):
            for key, prop in (here.get("properties") or {}).items():
                found.append((key, prop))
            todo.extend(here.values())
        elif isinstance(here, list):
            todo.extend(here)
    return found


def test_every_title_and_description_is_in_chinese_and_english(schemas: dict[str, dict[str, Any]]) -> None:
    for name, schema in schemas.items():
        for where, node in [(name, schema), *((f"{name}.$defs.{k}", v) for k, v in schema["$defs"].items()), *_properties(schema)]:
            assert CJK.search(node.get("title", "")), (where, node.get("title"))
            zh, _, en = node.get("description", "").partition(" / ")
            assert CJK.search(zh) and en and not CJK.search(en), (where, node.get("description"))


def test_id_fields_list_the_policy_ids(schemas: dict[str, dict[str, Any]]) -> None:
    grant = schemas["grants"]["$defs"]["Grant"]["properties"]
    doc = zxpolicy.load(POLICIES).document
    assert grant["roles"]["items"]["enum"] == [r.id for r in doc.roles]
    assert grant["levels"]["items"]["enum"] == [x.id for x in doc.levels]
    assert grant["rule"]["enum"] == [r.id for r in doc.rules]
    steps = schemas["classification"]["$defs"]["Classification"]["properties"]["steps"]
    assert steps["propertyNames"]["enum"] == [x.id for x in doc.levels]


def test_schema_text_is_stable_and_keeps_chinese() -> None:
    text = schema_text({"title": "授权"})
    assert text == '{\n  "title": "授权"\n}\n'


def test_zxpolicy_schema_writes_beside_the_policy_by_default(policy_copy: Path) -> None:
    result = CliRunner().invoke(main, ["schema", str(policy_copy)])
    assert result.exit_code == 0, result.output
    assert (policy_copy / SCHEMA_FOLDER / "grants.schema.json").is_file()
    assert zxpolicy.load(policy_copy)  # the folder is not read as policy files


def test_zxpolicy_schema_fails_in_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    result = CliRunner().invoke(main, ["schema", str(POLICIES), "--out", str(blocker / "sub")])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 2  # which policy was read, then the failure
    assert "无法写入" in result.stderr
    broken = tmp_path / "nowhere"
    result = CliRunner().invoke(main, ["schema", str(broken), "--lang", "en"])
    assert result.exit_code == 2 and "Traceback" not in result.output
