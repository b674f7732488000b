"""The policy's words for people: every id of the vocabulary, the purposes and the org tree with
its Chinese and English label, and one way to show an id to a person.

A compliance officer reads labels, a programmer reads ids; every text for people shows both, the
label first and the id beside it (``征信查询员（query_operator）``, ``credit query operator
(query_operator)``), so that what is read can be found in the files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ._schema import PolicyDocument

__all__ = ["LABELLED_SECTIONS", "Labels", "labelled"]

# The sections whose entries have an id, a `zh` and an `en`.
LABELLED_SECTIONS = ("levels", "kinds", "actions", "obligations", "roles", "purposes", "orgs", "rules")


def labelled(ident: str, label: tuple[str, str] | None, lang: str = "zh") -> str:
    """``ident`` for a person: its label in ``lang`` with the id beside it, or the id alone where
    it has no label (or the label is the id)."""
    if label is None:
        return ident
    text = label[1] if lang == "en" else label[0]
    if not text or text == ident:
        return ident
    return f"{text} ({ident})" if lang == "en" else f"{text}（{ident}）"


@dataclass(frozen=True)
class Labels:
    """Each labelled section's ids → ``(zh, en)``."""

    sections: Mapping[str, Mapping[str, tuple[str, str]]] = field(default_factory=dict)

    @classmethod
    def of(cls, doc: PolicyDocument) -> Labels:
        return cls(MappingProxyType({
            name: MappingProxyType({x.id: (x.zh, x.en) for x in getattr(doc, name)}) for name in LABELLED_SECTIONS
        }))

    def label(self, section: str, ident: str) -> tuple[str, str] | None:
        return self.sections.get(section, {}).get(ident)

    def text(self, section: str, ident: str, lang: str = "zh") -> str:
        """The label alone in ``lang`` (the id where there is none)."""
        label = self.label(section, ident)
        return ident if label is None else (label[1] if lang == "en" else label[0])

    def name(self, section: str, ident: str, lang: str = "zh") -> str:
        """The label with the id beside it: ``征信查询员（query_operator）``."""
        return labelled(ident, self.label(section, ident), lang)

    def names(self, section: str, idents: Iterable[str], lang: str = "zh", sep: str | None = None) -> str:
        """Several ids, each with its label, joined by ``、`` (``, `` in English) or ``sep``."""
        joiner = sep if sep is not None else (", " if lang == "en" else "、")
        return joiner.join(self.name(section, i, lang) for i in idents)
