"""Typing mistakes in a YAML file, found in its text before it is parsed.

A Chinese input method types `：` for `:`, `，` for `,`, `【】` for `[]`; an editor may indent with a
tab. YAML either stops at a later line with words about something else ("could not find expected
':'" on the next entry) or, worse, reads the file as something nobody meant: `[query，print]` is
one id, `query，print`. So before a file is parsed its text is looked at, line by line, and each
such character in a structural place is named at its own line and column with the fix
(``full_width_punctuation``, ``yaml_tab``).

Structural means: not inside a quoted string, a comment or a block scalar (``|``, ``>``), and not
in the value of a key that holds text for people (``zh``, ``en``, ``clause``, ``name``,
``person``), where full-width punctuation is the right punctuation:
``zh: 记录查询日志（查询人、时间、客户、用途）``. A tab is named anywhere outside quotes and
comments. Anything else full-width in a value (an evidence value, a fixture name) is named too,
with the other fix: quote it if it is text.
"""

from __future__ import annotations

import re

from .._errors import PolicyProblem

# Keys whose values are text for people: their full-width punctuation is meant.
FREE_TEXT_KEYS = frozenset({"zh", "en", "clause", "name", "person"})

MAX_NAMED_MISTAKES = 20  # per file: past that, the first ones are enough to see what happened

# Each full-width character typed for an ASCII one: (its name in Chinese, the ASCII, its name in English).
_WIDE = {
    "：": ("全角冒号", ":", "colon"),
    "，": ("全角逗号", ",", "comma"),
    "；": ("全角分号", ",", "semicolon"),
    "【": ("全角方括号", "[", "bracket"),
    "】": ("全角方括号", "]", "bracket"),
    "｛": ("全角花括号", "{", "brace"),
    "｝": ("全角花括号", "}", "brace"),
    "“": ("中文引号", '"', "quotation mark"),
    "”": ("中文引号", '"', "quotation mark"),
    "‘": ("中文引号", "'", "quotation mark"),
    "’": ("中文引号", "'", "quotation mark"),
    "\u3000": ("全角空格", " ", "space"),
}
# What the scanner stops at on a line: YAML's own punctuation, a tab, and the characters above.
_SPECIAL = re.compile("[\"'#\\[\\]{},:\t" + "".join(_WIDE) + "]")
_NEEDS_A_LOOK = re.compile("[\t" + "".join(_WIDE) + "]")
# A full-width character that stands for YAML punctuation (the scan goes on as if it were that).
_AS_ASCII = {"：": ":", "，": ",", "【": "[", "】": "]", "｛": "{", "｝": "}"}


def typing_mistakes(text: str, shown: str) -> list[PolicyProblem]:
    """Every tab and full-width character in a structural place of ``text`` (at most
    ``MAX_NAMED_MISTAKES``), each at its line and column; ``shown`` names the file."""
    if not _NEEDS_A_LOOK.search(text):
        return []  # most files: nothing to look for
    return _Scan(shown).run(text)


class _Scan:
    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.found: list[PolicyProblem] = []
        self.quote: str | None = None  # a quoted scalar open at the end of the line before
        self.flow: list[str] = []  # the `[` and `{` open
        self.skip_deeper_than: int | None = None  # a block scalar or a text value's further lines
        self.in_value = False  # past a key's `:`
        self.free = False  # in the value of a text key

    def run(self, text: str) -> list[PolicyProblem]:
        for number, line in enumerate(text.splitlines(), start=1):
            self._line(number, line)
            if len(self.found) >= MAX_NAMED_MISTAKES:
                break
        return self.found[:MAX_NAMED_MISTAKES]

    def _line(self, number: int, line: str) -> None:
        i = 0
        if self.quote is not None:
            i = self._close_quote(line, 0, self.quote)
            if i < 0:
                return
        else:
            indent = len(line) - len(line.lstrip(" \t\u3000"))
            if self.skip_deeper_than is not None and not self.flow:
                if not line.strip() or len(line) - len(line.lstrip(" ")) > self.skip_deeper_than:
                    return
                self.skip_deeper_than = None
            for col in range(indent):
                if line[col] != " ":
                    self._name(number, line, col, indent=True)
            i = indent
            if not self.flow:
                self.in_value = self.free = False
                while line.startswith("-", i) and (i + 1 == len(line) or line[i + 1] in " \t"):
                    i += 1
                    while i < len(line) and line[i] in " \t":
                        if line[i] == "\t":
                            self._name(number, line, i)
                        i += 1
        token = i  # where the plain text being read began
        key_col = i
        while True:
            m = _SPECIAL.search(line, i)
            if m is None:
                return
            i, c = m.start(), m.group()
            wide_colon = False
            at_start = not line[token:i].strip()
            if c == "#":
                if i == 0 or line[i - 1] in " \t":
                    return  # a comment
            elif c in "\"'" and at_start:
                end = self._close_quote(line, i + 1, c)
                if end < 0:
                    self.quote = c
                    return
                i = end
                continue
            elif c == "\t":
                self._name(number, line, i)
            elif c in _WIDE:
                if self.free:
                    i += 1
                    continue
                self._name(number, line, i)
                if c == "：" and not self.in_value:
                    c = ":"  # a key's colon, whatever follows it: `parent：hq`
                    wide_colon = True
                else:
                    c = _AS_ASCII.get(c, "")
            if c in ("[", "{") and at_start:
                self.flow.append(c)
                self.in_value = self.free = False
                token = key_col = i + 1
            elif c in ("]", "}") and self.flow:
                self.flow.pop()
                token = i + 1
                self.free = False
            elif c == "," and self.flow:
                self.in_value = self.free = False
                token = key_col = i + 1
            elif c == ":" and not self.in_value and (wide_colon or self._ends_key(line, i)):
                key = line[token:i].strip().strip("\"'")
                self.in_value, self.free = True, key in FREE_TEXT_KEYS
                token = i + 1
                if not self.flow:
                    rest = line[i + 1 :].lstrip(" \t")
                    if rest[:1] in ("|", ">"):
                        self.skip_deeper_than = key_col  # a block scalar: its lines are text
                        return
                    if self.free:
                        self.skip_deeper_than = key_col  # a text value may go on over the next lines
            i += 1

    def _ends_key(self, line: str, i: int) -> bool:
        after = line[i + 1 : i + 2]
        return after in ("", " ", "\t") or (bool(self.flow) and after in ",[]{}")

    def _close_quote(self, line: str, start: int, quote: str) -> int:
        """Past the quote closing a scalar from ``start``, or -1 when it goes on past the line."""
        i = start
        while True:
            j = line.find(quote, i)
            if j < 0:
                return -1
            if quote == '"' and (len(line[:j]) - len(line[:j].rstrip("\\"))) % 2:
                i = j + 1  # an escaped quote
                continue
            if quote == "'" and line.startswith("''", j):
                i = j + 2
                continue
            self.quote = None
            return j + 1

    def _name(self, number: int, line: str, col: int, *, indent: bool = False) -> None:
        char = line[col]
        if char == "\t":
            if indent:
                zh, en = "缩进中用了制表符（Tab）；请用空格缩进，不要用制表符", "a tab in the indentation; indent with spaces, not tabs"
            else:
                zh = "用了制表符（Tab）；请把它改为空格（YAML 的缩进和分隔都用空格）"
                en = "a tab: replace it with spaces (indent with spaces, not tabs)"
            self.found.append(PolicyProblem("yaml_tab", zh, en, self.shown, number, col + 1))
            return
        name_zh, ascii_, name_en = _WIDE[char]
        if char == "\u3000":
            zh, en = "把全角空格改为半角空格", "replace the full-width space (U+3000) with a space"
        else:
            ascii_zh = f"半角{'逗号' if ascii_ == ',' else name_zh[2:]}“{ascii_}”"
            zh = f"把{name_zh}“{char}”改为{ascii_zh}"
            en = f"replace the full-width {name_en} `{char}` with `{ascii_}`"
        if self.in_value and char in "，；":
            zh += "；若这是文字内容，请给整个值加引号"
            en += "; if it is text, put the whole value in quotes"
        self.found.append(PolicyProblem("full_width_punctuation", zh, en, self.shown, number, col + 1))
