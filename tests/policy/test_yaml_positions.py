"""A plain assignments file is read line by line; it must read exactly as YAML reads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from zxpolicy.policy._yaml import _assignments, read_yaml

from ..conftest import POLICIES
from ..decide.test_malformed_requests import SETTINGS

# Ids of the plain form, and values YAML reads as something else or that need quotes.
plain_ids = st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True)
ids = st.one_of(
    plain_ids, plain_ids, plain_ids, plain_ids, plain_ids, plain_ids,
    st.sampled_from(["yes", "no", "on", "off", "true", "false", "null", "1001", "0x1f", "1e3", "~", "a b", "a#b", "'q'", "a:b", "-a"]),
)
labels = st.one_of(st.none(), st.sampled_from(["东区查询员", "角色（示例）", "征信，主管"]), st.sampled_from(["a", "'x'", "东 区"]))
spaces = st.sampled_from(["", " ", "  "])


@st.composite
def lines(draw: Any) -> str:
    roles = draw(st.lists(ids, max_size=3))
    sep = "," + draw(spaces)
    zh = draw(labels)
    label = f", zh: {zh}" if zh is not None else ""
    return f"  - {{id: {draw(ids)},{draw(spaces)}roles: [{sep.join(roles)}], org: {draw(ids)}{label}}}"


@st.composite
def files(draw: Any) -> str:
    odd = st.sampled_from(["", "  # a comment", "", "  # a comment", "\t- {id: a, roles: [], org: b}"])
    body = draw(st.lists(st.one_of(lines(), lines(), lines(), odd), min_size=1, max_size=3))
    head = draw(st.sampled_from(["assignments:", "assignments:", "# users\nassignments:", "assignments:  # users", "other:"]))
    return head + "\n" + "\n".join(body) + "\n"


@SETTINGS
@given(files())
def test_the_line_reader_reads_what_yaml_reads_or_declines(text: str) -> None:
    quick = _assignments(text, "assignments.yaml")
    if quick is None:
        return
    assert quick.data == yaml.safe_load(text)
    assert quick.duplicates == [] and quick.empty == []


def test_the_bundled_assignments_take_the_line_reader_with_the_same_positions() -> None:
    text = (POLICIES / "assignments.yaml").read_text(encoding="utf-8")
    quick = _assignments(text, "assignments.yaml")
    assert quick is not None and quick.data == yaml.safe_load(text)
    full = read_yaml(text.replace("assignments:", "assignments:  # the same file, read by YAML"), "assignments.yaml")
    assert quick._plain is not None  # positions are worked out from the entry's line, when asked for
    for path in [("assignments",), ("assignments", 0), ("assignments", 13, "org"), ("assignments", 2, "roles", 0)]:
        assert quick.position(path) == full.position(path)
        assert quick.position(path, key=True) == full.position(path, key=True)


def test_a_generated_assignments_file_takes_the_line_reader(tmp_path: Path) -> None:
    from bench.institution import build

    inst = build(tmp_path / "policies", 300, 30)
    text = (inst.directory / "assignments.yaml").read_text(encoding="utf-8")
    quick = _assignments(text, "assignments.yaml")
    assert quick is not None and quick.data == yaml.safe_load(text)
    assert len(quick.data["assignments"]) == 300


def _pyyaml_positions(text: str) -> tuple[dict[Any, tuple[int, int]], dict[Any, tuple[int, int]]]:
    """Where PyYAML's own composer puts every value and mapping key."""
    values: dict[Any, tuple[int, int]] = {}
    keys: dict[Any, tuple[int, int]] = {}

    def walk(node: yaml.Node, path: tuple[Any, ...]) -> None:
        values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                keys[(*path, key.value)] = (key.start_mark.line + 1, key.start_mark.column + 1)
                walk(value, (*path, key.value))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    walk(yaml.compose(text, Loader=yaml.SafeLoader), ())
    return values, keys


def test_every_value_stands_where_pyyaml_puts_it() -> None:
    for path in sorted(POLICIES.glob("*.yaml")) + sorted((POLICIES / "tests").glob("*.yaml")):
        text = path.read_text(encoding="utf-8").replace("assignments:\n", "assignments:  # read by YAML\n")
        doc = read_yaml(text, path.name)
        values, keys = _pyyaml_positions(text)
        assert all(doc.position(p) == at for p, at in values.items()), path.name
        assert all(doc.position(p, key=True) == at for p, at in keys.items()), path.name


def test_the_line_reader_puts_every_value_where_yaml_does(tmp_path: Path) -> None:
    from bench.institution import build

    inst = build(tmp_path / "policies", 300, 30)
    generated = (inst.directory / "assignments.yaml").read_text(encoding="utf-8")
    bundled = (POLICIES / "assignments.yaml").read_text(encoding="utf-8")
    odd = "# users\n\nassignments:   \n  # first\n    - {id: a,roles: [],org: b}\n\n    - {id: c ,  roles: [ d ,e ], org: f, zh: 东区}  \n"
    for text in (bundled, generated, odd):
        quick = _assignments(text, "assignments.yaml")
        assert quick is not None
        values, keys = _pyyaml_positions(text)
        for p, at in values.items():
            assert quick.position(p) == at, p
        for p, at in keys.items():
            assert quick.position(p, key=True) == at, p
        # a path that is not there is shown at its nearest parent, as YAML's table does
        n = len(quick.data["assignments"])
        for p, parent in [(("assignments", n), ("assignments",)), (("assignments", 0, "person"), ("assignments", 0)),
                          (("assignments", 0, "roles", 9), ("assignments", 0, "roles")), (("levels", 0), ())]:
            assert quick.position(p) == values[parent], p
