"""Reading YAML with the position of every value, so that errors can name file, line and column."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


@dataclass
class YamlDocument:
    """A parsed file: its data, and where each value (and each mapping key) stands."""

    file: str
    data: Any
    node: yaml.Node | None = None
    duplicates: list[Path_] = field(default_factory=list)
    empty: list[Path_] = field(default_factory=list)  # mapping keys whose value is null
    # Positions are worked out when first asked for: only a policy with a problem needs them, and
    # a table of every value's position is most of the cost of reading a large assignments file.
    _values: dict[Path_, tuple[int, int]] | None = field(default=None, repr=False)
    _keys: dict[Path_, tuple[int, int]] = field(default_factory=dict, repr=False)

    text: str | None = field(default=None, repr=False)  # kept when read without nodes (see _assignments)

    @property
    def values(self) -> dict[Path_, tuple[int, int]]:
        if self._values is None:
            self._values = {}
            if self.node is None and self.text is not None:
                self.node = _read(yaml.SafeLoader, self.text, self.file).node
            if self.node is not None:
                _positions(self.node, (), self._values, self._keys)
        return self._values

    @property
    def keys(self) -> dict[Path_, tuple[int, int]]:
        self.values  # noqa: B018 - fills both tables
        return self._keys

    def position(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        """The (line, column) of the value at ``path``, or of its nearest parent that has one."""
        table = self.keys if key and path in self.keys else self.values
        while path and path not in table:
            path = path[:-1]
        return table.get(path, (1, 1))


# libyaml when PyYAML has it (several times faster on a large file); on any error the file is read
# again by the pure-Python parser, whose messages and marks the policy errors are written from.
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)


def read_yaml(text: str, shown_as: str) -> YamlDocument:
    """Parse ``text``. Raises ``yaml.YAMLError`` (with a mark) on a syntax error."""
    plain = _assignments(text, shown_as)
    if plain is not None:
        return plain
    if _FAST_LOADER is not None:
        try:
            return _read(_FAST_LOADER, text, shown_as)
        except yaml.YAMLError:
            pass
    return _read(yaml.SafeLoader, text, shown_as)


def _read(loader_class: Any, text: str, shown_as: str) -> YamlDocument:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(shown_as, None)
        data = loader.construct_document(node)
    finally:
        loader.dispose()
    doc = YamlDocument(shown_as, data, node)
    _check_keys(node, (), doc)
    return doc


_NULL = "tag:yaml.org,2002:null"


def _check_keys(node: yaml.Node, path: Path_, doc: YamlDocument) -> None:
    """Note keys given twice in one mapping, and keys with no value."""
    if isinstance(node, yaml.MappingNode):
        seen: set[object] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node)
            if key in seen:
                doc.duplicates.append((*path, key))
            seen.add(key)
            if isinstance(value_node, yaml.ScalarNode):
                if value_node.tag == _NULL:
                    doc.empty.append((*path, key))
            else:
                _check_keys(value_node, (*path, key), doc)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            if not isinstance(item, yaml.ScalarNode):
                _check_keys(item, (*path, index), doc)


def _positions(node: yaml.Node, path: Path_, values: dict[Path_, tuple[int, int]], keys: dict[Path_, tuple[int, int]]) -> None:
    values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node)
            child = (*path, key)
            keys[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _positions(value_node, child, values, keys)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _positions(item, (*path, index), values, keys)


# An assignments file of one plain entry per line — what an institution's directory export writes,
# and the one file that grows to 100,000 entries — is read line by line: YAML builds a node for
# every value, which takes seconds at that size. Only the plainest form is read so:
#     assignments:
#       - {id: u-1, roles: [query_operator, dispute_handler], org: east-1, zh: 查询员}
# with ids that start with a lowercase letter and are not a YAML word (`yes`, `no`, `on`, `off`,
# `true`, `false`, `null`), and a label of Chinese characters and punctuation; comments and blank lines between. Anything else
# (quotes, numbers, other keys, another layout) goes to the YAML parser, which reads these lines
# to the same values. Positions, needed only for a problem, are read by YAML when asked for.
_ID = r"[a-z][a-z0-9_-]*"
_ENTRY = re.compile(
    rf"(?P<indent> *)- *\{{ *id: +(?P<id>{_ID}) *, *roles: +\[ *(?P<roles>{_ID}(?: *, *{_ID})*)? *\] *,"
    rf" *org: +(?P<org>{_ID})(?: *, *zh: +(?P<zh>[\u4e00-\u9fff\u3001-\u303f\uff01-\uffef]+))? *\}} *"
)
_COMMA = re.compile(r" *, *")
_YAML_WORDS = frozenset({"yes", "no", "on", "off", "true", "false", "null"})


def _assignments(text: str, shown_as: str) -> YamlDocument | None:
    lines = text.split("\n")
    start = 0
    while start < len(lines) and (not lines[start].strip() or lines[start].startswith("#")):
        start += 1
    if start == len(lines) or lines[start].rstrip() != "assignments:":
        return None
    entries: list[dict[str, Any]] = []
    indent: str | None = None
    role_lists: dict[str, list[str]] = {}  # one list per distinct `roles` text: they are only read
    for line in lines[start + 1 :]:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        m = _ENTRY.fullmatch(line)
        if m is None or (indent is not None and m["indent"] != indent):
            return None
        indent = m["indent"]
        roles = role_lists.get(m["roles"] or "")
        if roles is None:
            roles = role_lists[m["roles"] or ""] = _COMMA.split(m["roles"]) if m["roles"] else []
        if m["id"] in _YAML_WORDS or m["org"] in _YAML_WORDS or any(r in _YAML_WORDS for r in roles):
            return None
        entry: dict[str, Any] = {"id": m["id"], "roles": roles, "org": m["org"]}
        if m["zh"]:
            entry["zh"] = m["zh"]
        entries.append(entry)
    if not entries:
        return None
    return YamlDocument(shown_as, {"assignments": entries}, text=text)
