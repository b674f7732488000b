"""Reading YAML with the position of every value, so that errors can name file, line and column.

Policy files (and test-suite files) come from people and from branches nobody has reviewed yet,
so the reader is bounded: every bound is checked while the file is read, never by building the
data first and measuring it after.

- A file read as YAML holds at most ``MAX_FILE_BYTES``; only an assignments file of one plain
  entry per line (read line by line, see ``_assignments``) may be larger, up to
  ``MAX_PLAIN_BYTES``. ``file_too_large``
- No anchors, aliases or merge keys (``&a``, ``*a``, ``<<``): a policy has no use for them, and
  they are how a few hundred bytes expand to gigabytes ("billion laughs") or loop on themselves.
  ``yaml_alias``
- No explicit tags (``!!str``, ``!foo``). ``yaml_tag``
- Nesting at most ``MAX_DEPTH`` collections deep, and at most ``MAX_VALUES`` values in a file.
  ``yaml_too_deep``, ``yaml_too_many_values``
- No tab, and no full-width `：`, `，`, `；`, ... where YAML's own punctuation belongs (typed
  with a Chinese input method): each is named at its line and column before the file is
  parsed (``_typing``). ``yaml_tab``, ``full_width_punctuation``
- An integer is written in decimal: YAML 1.1 reads ``1:30`` as 90 (base 60), ``010`` as 8,
  ``0x1f``, ``0b11`` and ``1_000`` as numbers too; these forms are refused rather than read
  as what nobody meant. ``yaml_number_form``. A date or time that does not exist (``2026-02-30``)
  is refused too. ``yaml_invalid_time``

The events of the parser (libyaml's when PyYAML has it, else PyYAML's own) are turned into data
here, with an explicit stack: no recursion, whatever the file. Each refusal is a ``YamlRefused``
(a ``yaml.YAMLError``) carrying its ``PolicyProblem``, at the file, line and column where the
reader stopped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, NoReturn

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError, SafeConstructor

from .._errors import PolicyProblem
from ._typing import typing_mistakes

Path_ = tuple[str | int, ...]

MAX_FILE_BYTES = 1 << 20  # a file read as YAML: 1 MiB
MAX_PLAIN_BYTES = 64 << 20  # an assignments file of one plain entry per line: 64 MiB (about 700,000 entries)
MAX_DEPTH = 64  # collections nested in one another
MAX_VALUES = 200_000  # values (scalars, lists, mappings) in one file


class YamlRefused(yaml.YAMLError):
    """A file the reader refuses (too large, an alias, too deep, ...): ``problem`` says why and
    where."""

    def __init__(self, problem: PolicyProblem, *more: PolicyProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem
        self.problems = (problem, *more)  # typing mistakes: each one of the file (``_typing``)


def file_too_large(shown: str, size: int, line: int = 0) -> PolicyProblem:
    """The problem of a file of ``size`` bytes that is over the limit (``line``: where it crosses
    it, 0 when the file was not read)."""
    return PolicyProblem(
        "file_too_large",
        f"文件过大（{size} 字节）：按 YAML 读取的文件至多 {MAX_FILE_BYTES} 字节（1 MiB）；"
        f"每行一条的 assignments 文件至多 {MAX_PLAIN_BYTES} 字节（64 MiB）",
        f"the file is too large ({size} bytes): a file read as YAML holds at most {MAX_FILE_BYTES} bytes (1 MiB), "
        f"an assignments file of one plain entry per line at most {MAX_PLAIN_BYTES} bytes (64 MiB)",
        shown, line, 1 if line else 0,
    )


def dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass
class YamlDocument:
    """A parsed file: its data, and where each value (and each mapping key) stands."""

    file: str
    data: Any
    duplicates: list[Path_] = field(default_factory=list)
    empty: list[Path_] = field(default_factory=list)  # mapping keys whose value is null
    text: str | None = field(default=None, repr=False)
    # Positions are worked out when first asked for, by reading the text again: only a policy with
    # a problem needs them, and a table of every value's position is most of the cost of reading
    # a large file. `_reader`: the parser that read it; None for the line reader (`_assignments`).
    _reader: Any = field(default=None, repr=False)
    _values: dict[Path_, tuple[int, int]] | None = field(default=None, repr=False)
    _keys: dict[Path_, tuple[int, int]] = field(default_factory=dict, repr=False)
    _plain: _PlainLines | None = field(default=None, repr=False)

    def position(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        """The (line, column) of the value at ``path``, or of its nearest parent that has one."""
        if self._plain is not None:
            return self._plain.position(path, key=key)
        if self._values is None:
            self._values = {}
            if self.text is not None and self._reader is not None:
                _Builder(self._reader, self.text, self.file, self._values, self._keys).run()
        table = self._keys if key and path in self._keys else self._values
        while path and path not in table:
            path = path[:-1]
        return table.get(path, (1, 1))


# libyaml when PyYAML has it (several times faster on a large file); on an error a file of up to
# `_READ_AGAIN` is read again by the pure-Python parser, whose messages and marks the policy errors
# are written from (a larger one would take it seconds: libyaml's own error is shown).
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)
_READ_AGAIN = 256 << 10


def read_yaml(text: str, shown_as: str) -> YamlDocument:
    """Parse ``text``. Raises ``yaml.YAMLError`` (with a mark) on a syntax error, and
    ``YamlRefused`` (a ``yaml.YAMLError`` too) for what the reader refuses."""
    size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_PLAIN_BYTES:
        raise YamlRefused(file_too_large(shown_as, size, _line_at(text, MAX_PLAIN_BYTES)))
    plain = _assignments(text, shown_as)
    if plain is not None:
        return plain
    if size > MAX_FILE_BYTES:
        raise YamlRefused(file_too_large(shown_as, size, _line_at(text, MAX_FILE_BYTES)))
    # Named before parsing: the error YAML would give for them is at another line, in other
    # words, or there is none and the file means something else.
    mistakes = typing_mistakes(text, shown_as)
    if mistakes:
        raise YamlRefused(*mistakes)
    if _FAST_LOADER is not None:
        try:
            return _read(_FAST_LOADER, text, shown_as)
        except YamlRefused:
            raise
        except yaml.YAMLError:
            if size > _READ_AGAIN:
                raise
    return _read(yaml.SafeLoader, text, shown_as)


def _read(loader_class: Any, text: str, shown_as: str) -> YamlDocument:
    doc = YamlDocument(shown_as, None, text=text, _reader=loader_class)
    doc.data = _Builder(loader_class, text, shown_as, doc=doc).run()
    return doc


def _line_at(text: str, limit: int) -> int:
    """The line of the ``limit``-th byte of ``text`` in UTF-8."""
    return text.encode("utf-8", "surrogatepass")[:limit].count(b"\n") + 1


_RESOLVER: Any = yaml.resolver.Resolver()
_CONSTRUCTOR = SafeConstructor()
_CORE = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT, _TIMESTAMP, _MERGE = (
    f"{_CORE}{t}" for t in ("str", "null", "bool", "int", "float", "timestamp", "merge")
)
_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]{0,30})")


class _Open:
    """A list or mapping being read: its data, its path, and (a mapping) the key read last."""

    __slots__ = ("data", "has_key", "is_map", "key", "key_text", "mark", "path", "seen")

    def __init__(self, data: Any, path: Path_, is_map: bool, mark: Any) -> None:
        self.data, self.path, self.is_map, self.mark = data, path, is_map, mark
        self.key: Any = None
        self.key_text = ""
        self.has_key = False
        self.seen: set[str] = set()


class _Builder:
    """Parser events → data, with every bound checked as each event is read. With ``values`` and
    ``keys``, notes the position of every value and mapping key instead of the data's problems."""

    def __init__(
        self, loader_class: Any, text: str, shown: str, values: dict[Path_, tuple[int, int]] | None = None,
        keys: dict[Path_, tuple[int, int]] | None = None, *, doc: YamlDocument | None = None,
    ) -> None:
        self.loader_class, self.text, self.shown = loader_class, text, shown
        self.values, self.keys, self.doc = values, keys, doc
        self.stack: list[_Open] = []
        self.resolved: dict[str, str] = {}

    def run(self) -> Any:
        loader = self.loader_class(self.text)
        try:
            return self._events(loader)
        finally:
            loader.dispose()

    def _events(self, loader: Any) -> Any:
        stack = self.stack
        root: Any = None
        first: Any = None  # the first document's first event
        count = 0
        while True:
            event = loader.get_event()
            kind = type(event)
            if kind is yaml.ScalarEvent:
                count += 1
                if count > MAX_VALUES:
                    self._refuse_count(event)
                value, null = self._scalar(event)
                if first is None:
                    first = event
                if stack:
                    self._add(value, event, event.value, null)
                else:
                    root = value
                    self._note((), event)
            elif kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
                count += 1
                if count > MAX_VALUES:
                    self._refuse_count(event)
                self._plain_node(event)
                if len(stack) >= MAX_DEPTH:
                    self._refuse(event, PolicyProblem(
                        "yaml_too_deep", f"嵌套超过 {MAX_DEPTH} 层；策略文件用不到这么深的嵌套",
                        f"nested more than {MAX_DEPTH} levels deep; a policy file has no use for that",
                    ))
                if first is None:
                    first = event
                path = self._child(event)
                self._note(path, event)
                stack.append(_Open({} if kind is yaml.MappingStartEvent else [], path, kind is yaml.MappingStartEvent, event.start_mark))
            elif kind is yaml.SequenceEndEvent or kind is yaml.MappingEndEvent:
                done = stack.pop()
                if stack:
                    self._add(done.data, event, None, False)
                else:
                    root = done.data
            elif kind is yaml.AliasEvent:
                self._refuse(event, _alias(f"别名`*{event.anchor}`", f"the alias `*{event.anchor}`"))
            elif kind is yaml.DocumentStartEvent:
                if first is not None:
                    raise ComposerError("expected a single document in the stream", first.start_mark,
                                        "but found another document", event.start_mark)
            elif kind is yaml.StreamEndEvent:
                return root

    def _scalar(self, event: Any) -> tuple[Any, bool]:
        """A scalar's value, and whether it is null."""
        self._plain_node(event)
        text = event.value
        if not event.implicit[0]:  # quoted, or a block scalar: text
            return text, False
        tag = self.resolved.get(text)
        if tag is None:
            tag = self.resolved[text] = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))
        if tag == _STR:
            return text, False
        if tag == _NULL:
            return None, True
        if tag == _BOOL:
            return _CONSTRUCTOR.bool_values[text.lower()], False
        if tag == _INT:
            if not _DECIMAL.fullmatch(text):
                self._refuse_number(event, text)
            return int(text), False
        if tag == _FLOAT:
            if "_" in text or ":" in text:
                self._refuse_number(event, text)
            return _CONSTRUCTOR.construct_yaml_float(yaml.ScalarNode(tag, text)), False
        if tag == _TIMESTAMP:
            try:
                return _CONSTRUCTOR.construct_yaml_timestamp(yaml.ScalarNode(tag, text)), False
            except (ValueError, OverflowError):
                self._refuse(event, PolicyProblem(
                    "yaml_invalid_time", f"`{text}`不是有效的日期或时间", f"`{text}` is not a valid date or time"
                ))
        if tag == _MERGE:
            self._refuse(event, _alias("合并键`<<`", "the merge key `<<`"))
        raise ConstructorError(None, None, f"could not determine a constructor for the tag {tag!r}", event.start_mark)

    def _plain_node(self, event: Any) -> None:
        """No anchor and no tag on a node."""
        if event.anchor is not None:
            self._refuse(event, _alias(f"锚点`&{event.anchor}`", f"the anchor `&{event.anchor}`"))
        if event.tag is not None:
            tag = "!!" + event.tag[len(_CORE) :] if event.tag.startswith(_CORE) else event.tag
            self._refuse(event, PolicyProblem(
                "yaml_tag", f"策略文件中不能使用 YAML 标签`{tag}`；文本请加引号",
                f"the YAML tag `{tag}` is not allowed in a policy file; put text in quotes",
            ))

    def _child(self, event: Any) -> Path_:
        """The path of the node that ``event`` starts, within the collection being read."""
        if not self.stack:
            return ()
        top = self.stack[-1]
        if not top.is_map:
            return (*top.path, len(top.data))
        if not top.has_key:  # a list or mapping as a mapping key
            raise ConstructorError("while constructing a mapping", top.mark, "found unhashable key", event.start_mark)
        return (*top.path, top.key_text)

    def _note(self, path: Path_, event: Any) -> None:
        if self.values is not None:
            mark = event.start_mark
            self.values[path] = (mark.line + 1, mark.column + 1)

    def _add(self, value: Any, event: Any, text: str | None, null: bool) -> None:
        """Put a value read into the collection being read."""
        top = self.stack[-1]
        if not top.is_map:
            if text is not None:
                self._note((*top.path, len(top.data)), event)
            top.data.append(value)
        elif not top.has_key:
            assert text is not None  # a collection as a key is refused when it starts
            top.key, top.key_text, top.has_key = value, text, True
            if self.keys is not None:
                mark = event.start_mark
                self.keys[(*top.path, text)] = (mark.line + 1, mark.column + 1)
        else:
            where = (*top.path, top.key_text)
            if text is not None:
                self._note(where, event)
            if self.doc is not None:
                if top.key_text in top.seen:
                    self.doc.duplicates.append(where)
                top.seen.add(top.key_text)
                if null:
                    self.doc.empty.append(where)
            top.data[top.key] = value  # a key is a scalar's value: text, a number, a date, true, null
            top.has_key = False

    def _here(self) -> Path_:
        """Where the reader is: the path of the value being read."""
        if not self.stack:
            return ()
        top = self.stack[-1]
        if not top.is_map:
            return (*top.path, len(top.data))
        return (*top.path, top.key_text) if top.has_key else top.path

    def _refuse(self, event: Any, problem: PolicyProblem) -> NoReturn:
        """Stop reading: ``problem``, at the event's place."""
        mark = event.start_mark
        raise YamlRefused(replace(
            problem, file=self.shown, line=mark.line + 1, column=mark.column + 1, path=dotted(self._here())
        ))

    def _refuse_count(self, event: Any) -> NoReturn:
        self._refuse(event, PolicyProblem(
            "yaml_too_many_values", f"一个文件中的值超过 {MAX_VALUES} 个", f"more than {MAX_VALUES} values in one file"
        ))

    def _refuse_number(self, event: Any, text: str) -> NoReturn:
        form_zh, form_en = _number_form(text)
        self._refuse(event, PolicyProblem(
            "yaml_number_form",
            f"`{text}`是 YAML 1.1 的{form_zh}写法，会被读成另一个数；整数请用十进制书写，文本请加引号",
            f"`{text}` is a YAML 1.1 {form_en}, read as another number; write an integer in decimal, or put text in quotes",
        ))


def _alias(what_zh: str, what_en: str) -> PolicyProblem:
    return PolicyProblem(
        "yaml_alias",
        f"策略文件中不能使用{what_zh}（YAML 的锚点、别名和合并键都不允许）；请把内容直接写出",
        f"{what_en} is not allowed: a policy file uses no YAML anchors, aliases or merge keys; write the values out",
    )


def _number_form(text: str) -> tuple[str, str]:
    """What kind of YAML 1.1 number ``text`` is: Chinese, English."""
    bare = text.lstrip("+-")
    if ":" in bare:
        return "六十进制数", "base-60 number"
    if bare[:2] in ("0x", "0X"):
        return "十六进制数", "hexadecimal number"
    if bare[:2] in ("0b", "0B"):
        return "二进制数", "binary number"
    if "_" in bare:
        return "带`_`分隔的数", "number with `_` separators"
    if bare[:1] == "0" and bare[1:2].isdigit():
        return "八进制数", "octal number"
    return "超长数", "number of too many digits"


# An assignments file of one plain entry per line — what an institution's directory export writes,
# and the one file that grows to 100,000 entries — is read line by line: YAML builds a node for
# every value, which takes seconds at that size. Only the plainest form is read so:
#     assignments:
#       - {id: u-1, roles: [query_operator, dispute_handler], org: east-1, zh: 查询员}
# with ids that start with a lowercase letter and are not a YAML word (`yes`, `no`, `on`, `off`,
# `true`, `false`, `null`), and a label of Chinese characters and punctuation; comments and blank
# lines between, and no line break but `\n`. Anything else (quotes, numbers, other keys, another
# layout) goes to the YAML parser, which reads these lines to the same values. Positions, needed
# only for a problem, are worked out from the line of the entry asked for; they are those YAML
# gives (tests/policy/test_yaml_positions.py).
_ID = r"[a-z][a-z0-9_-]*"
_ENTRY = re.compile(
    rf"(?P<indent> *)(?P<dash>-) *(?P<brace>\{{) *(?P<k_id>id): +(?P<id>{_ID}) *, *(?P<k_roles>roles): +(?P<bracket>\[) *"
    rf"(?P<roles>{_ID}(?: *, *{_ID})*)? *\] *, *(?P<k_org>org): +(?P<org>{_ID})"
    rf"(?: *, *(?P<k_zh>zh): +(?P<zh>[\u4e00-\u9fff\u3001-\u303f\uff01-\uffef]+))? *\}} *"
)
_COMMA = re.compile(r" *, *")
_ID_RE = re.compile(_ID)
_YAML_WORDS = frozenset({"yes", "no", "on", "off", "true", "false", "null"})
_OTHER_BREAKS = ("\r", "\x85", "\u2028", "\u2029")  # line breaks to YAML, not to `split("\n")`
_FIELDS = ("id", "roles", "org", "zh")


def _assignments(text: str, shown_as: str) -> YamlDocument | None:
    if any(b in text for b in _OTHER_BREAKS):
        return None
    lines = text.split("\n")
    start = 0
    while start < len(lines) and (not lines[start].strip() or lines[start].startswith("#")):
        start += 1
    if start == len(lines) or lines[start].rstrip() != "assignments:":
        return None
    entries: list[dict[str, Any]] = []
    where: list[int] = []  # the line (0-based) of each entry
    indent: str | None = None
    role_lists: dict[str, list[str]] = {}  # one list per distinct `roles` text: they are only read
    for number in range(start + 1, len(lines)):
        line = lines[number]
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
        where.append(number)
    if not entries:
        return None
    return YamlDocument(shown_as, {"assignments": entries}, text=text, _plain=_PlainLines(lines, start, where))


@dataclass(frozen=True)
class _PlainLines:
    """Where the values of a file read by ``_assignments`` stand, worked out for one path at a
    time from the line of its entry."""

    lines: list[str]
    head: int  # the line of `assignments:`
    entries: list[int]

    def position(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        while path:
            found = self._find(path, key)
            if found is not None:
                return found
            path, key = path[:-1], False  # a parent is found by its value's position
        return (self.head + 1, 1)

    def _find(self, path: Path_, key: bool) -> tuple[int, int] | None:
        if path[0] != "assignments":
            return None
        if len(path) == 1:
            return (self.head + 1, 1) if key else self._at(0, "dash")
        i = path[1]
        if not isinstance(i, int) or not 0 <= i < len(self.entries):
            return None
        if len(path) == 2:
            return self._at(i, "brace")
        name = path[2]
        m = self._match(i)
        if name not in _FIELDS or (name == "zh" and m["zh"] is None):
            return None
        if len(path) == 3:
            if key:
                return self._at(i, f"k_{name}", m)
            return self._at(i, "bracket" if name == "roles" else name, m)
        j = path[3]
        if name != "roles" or len(path) > 4 or not isinstance(j, int) or j < 0:
            return None
        items = list(_ID_RE.finditer(m["roles"] or ""))
        if j >= len(items):
            return None
        return (self.entries[i] + 1, m.start("roles") + items[j].start() + 1)

    def _match(self, i: int) -> re.Match[str]:
        m = _ENTRY.fullmatch(self.lines[self.entries[i]])
        assert m is not None  # every entry's line matched when the file was read
        return m

    def _at(self, i: int, group: str, m: re.Match[str] | None = None) -> tuple[int, int]:
        m = m or self._match(i)
        return (self.entries[i] + 1, m.start(group) + 1)
