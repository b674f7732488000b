"""Reading YAML with the position of every value, so that errors can name file, line and column."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


@dataclass
class YamlDocument:
    """A parsed file: its data, and where each value (and each mapping key) stands."""

    file: str
    data: Any
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    duplicates: list[Path_] = field(default_factory=list)
    empty: list[Path_] = field(default_factory=list)  # mapping keys whose value is null

    def position(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        """The (line, column) of the value at ``path``, or of its nearest parent that has one."""
        table = self.keys if key and path in self.keys else self.values
        while path and path not in table:
            path = path[:-1]
        return table.get(path, (1, 1))


def read_yaml(text: str, shown_as: str) -> YamlDocument:
    """Parse ``text``. Raises ``yaml.YAMLError`` (with a mark) on a syntax error."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(shown_as, None)
        data = loader.construct_document(node)
    finally:
        loader.dispose()
    doc = YamlDocument(shown_as, data)
    _walk(node, (), doc)
    return doc


def _walk(node: yaml.Node, path: Path_, doc: YamlDocument) -> None:
    doc.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[object] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node)
            child = (*path, key)
            if key in seen:
                doc.duplicates.append(child)
            seen.add(key)
            doc.keys[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if isinstance(value_node, yaml.ScalarNode) and value_node.tag == "tag:yaml.org,2002:null":
                doc.empty.append(child)
            _walk(value_node, child, doc)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), doc)
