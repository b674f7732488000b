"""Typing mistakes (full-width punctuation typed with a Chinese input method, tabs) are named at
their own line and column, with the fix, before YAML reads the file into something else."""

from __future__ import annotations

from pathlib import Path

import pytest

import zxpolicy
from zxpolicy import PolicyError
from zxpolicy.compliance import SuiteError, run_tests
from zxpolicy.policy import read_yaml
from zxpolicy.policy._typing import MAX_NAMED_MISTAKES, typing_mistakes

from ..conftest import POLICIES
from .test_problem_codes import assert_well_formed


def _at(text: str, needle: str, char: str) -> tuple[int, int]:
    """The line and column of ``char`` in the first line holding ``needle``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number, line.index(char) + 1
    raise AssertionError(needle)


def _break(policy_copy: Path, name: str, old: str, new: str) -> tuple[PolicyError, str]:
    path = policy_copy / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text := text.replace(old, new), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        zxpolicy.load(policy_copy)
    for problem in info.value.problems:
        assert_well_formed(problem)
    return info.value, text


# (file, old, new, the line's needle, the character, the code, words of the English message)
MISTAKES = {
    "full_width_colon_in_block_style": (
        "purposes.yaml", "    en: review of a credit application\n    kinds: [credit_report, customer_archive, statistics_report]\n    consent: true",
        "    en: review of a credit application\n    kinds: [credit_report, customer_archive, statistics_report]\n    consent： true",
        "consent： true", "：", "full_width_punctuation", "replace the full-width colon `：` with `:`",
    ),
    "full_width_colon_with_no_space": (
        "orgs.yaml", "{id: west,   parent: hq,", "{id: west,   parent：hq,", "parent：hq", "：", "full_width_punctuation", "colon",
    ),
    "full_width_comma_in_a_flow_list": (
        "rules.yaml", "  rule: Q-04\n  actions: [query, print]", "  rule: Q-04\n  actions: [query，print]",
        "[query，print]", "，", "full_width_punctuation", "replace the full-width comma `，` with `,`",
    ),
    "full_width_semicolon": (
        "rules.yaml", "  rule: Q-04\n  actions: [query, print]", "  rule: Q-04\n  actions: [query；print]",
        "[query；print]", "；", "full_width_punctuation", "replace the full-width semicolon `；` with `,`",
    ),
    "full_width_comma_in_a_flow_mapping": (
        "orgs.yaml", "{id: west,   parent: hq,", "{id: west，   parent: hq,", "{id: west，", "，", "full_width_punctuation", "comma",
    ),
    "full_width_bracket": (
        "rules.yaml", "  rule: Q-04\n  actions: [query, print]", "  rule: Q-04\n  actions: 【query, print]",
        "【query", "【", "full_width_punctuation", "replace the full-width bracket `【` with `[`",
    ),
    "full_width_space_in_the_indentation": (
        "rules.yaml", "  rule: Q-04\n  actions: [query, print]", "  rule: Q-04\n\u3000\u3000actions: [query, print]",
        "\u3000actions", "\u3000", "full_width_punctuation", "full-width space",
    ),
    "tab_in_the_indentation": (
        "rules.yaml", "  rule: Q-04\n  actions: [query, print]", "  rule: Q-04\n\tactions: [query, print]",
        "\tactions", "\t", "yaml_tab", "a tab in the indentation; indent with spaces, not tabs",
    ),
    "tab_after_a_value": (
        "rules.yaml", "  rule: Q-04\n  actions: [query, print]", "  rule: Q-04\n  actions: [query,\tprint]",
        "[query,\tprint]", "\t", "yaml_tab", "replace it with spaces",
    ),
}


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_a_typing_mistake_is_named_at_its_own_line_and_column(policy_copy: Path, name: str) -> None:
    file, old, new, needle, char, code, says = MISTAKES[name]
    error, text = _break(policy_copy, file, old, new)
    first = error.problems[0]  # nothing YAML says about it comes first, or at all
    assert (first.code, first.file, (first.line, first.column)) == (code, file, _at(text, needle, char)), first
    assert says in first.message_en
    assert all(p.code in ("full_width_punctuation", "yaml_tab") for p in error.problems), error.problems


def test_the_chinese_message_says_the_fix() -> None:
    (problem,) = typing_mistakes("purposes:\n  - consent： true\n", "purposes.yaml")
    assert problem.message == "把全角冒号“：”改为半角冒号“:”"
    assert (problem.line, problem.column) == (2, 12)
    (comma,) = typing_mistakes("grants:\n  - actions: [query，print]\n", "grants.yaml")
    assert comma.message == "把全角逗号“，”改为半角逗号“,”"
    (text,) = typing_mistakes("x:\n  - {key: a, when: 法院，检察院}\n", "a.yaml")
    assert "请给整个值加引号" in text.message and "put the whole value in quotes" in text.message_en


def test_every_mistake_of_a_line_is_named() -> None:
    found = typing_mistakes("a:\n\t- [query，print；view]\n", "a.yaml")
    assert [(p.code, p.line, p.column) for p in found] == [
        ("yaml_tab", 2, 1), ("full_width_punctuation", 2, 10), ("full_width_punctuation", 2, 16),
    ]


@pytest.mark.parametrize("text", [
    "orgs:\n  - {id: hq, zh: 记录查询日志（查询人、时间、客户、用途）, en: x}\n",
    "orgs:\n  - id: hq\n    zh: 市联社，总部；说明：见细则\n    en: x\n",
    "orgs:\n  - id: hq\n    zh: 市联社，总部\n      续行，仍是文字\n    en: x\n",
    "orgs:\n  - id: hq\n    zh:\n      市联社，总部\n",
    "rules:\n  - {id: Q-01, clause: 细则 第三条，第四条, zh: 默认拒绝, en: deny}\n",
    "a: \"query，print\"\nb: 'x，y''s：z'\nc: \"multi，\n  line：\"\n",
    "# 注释：全角标点，都可以；\ta tab too\na: b  # 注释，\n",
    "a: |\n  块文本，：；\n  \tindented with a tab\nb: c\n",
    "cases:\n  - name: 查询员凭书面授权查询，本社信用报告\n    person: 张三，李四\n",
])
def test_full_width_punctuation_in_text_quotes_and_comments_is_left_alone(text: str) -> None:
    assert typing_mistakes(text, "a.yaml") == []


def test_the_shipped_policy_and_suites_have_none() -> None:
    for path in [*POLICIES.glob("*.yaml"), *(POLICIES / "tests").glob("*.yaml")]:
        assert typing_mistakes(path.read_text(encoding="utf-8"), path.name) == [], path


def test_a_file_that_parses_is_refused_too() -> None:
    # YAML reads `[query，print]` as the one id `query，print`: the reader refuses it instead.
    with pytest.raises(Exception) as info:
        read_yaml("consent:\n  actions: [query，print]\n", "rules.yaml")
    assert [p.code for p in info.value.problems] == ["full_width_punctuation"]  # type: ignore[attr-defined]


def test_at_most_so_many_are_named() -> None:
    text = "a: [" + "x，" * 100 + "]\n"
    assert len(typing_mistakes(text, "a.yaml")) == MAX_NAMED_MISTAKES


def test_a_suite_file_gets_the_same(tmp_path: Path) -> None:
    engine = zxpolicy.load(POLICIES)
    folder = tmp_path / "suites"
    folder.mkdir()
    (folder / "s.yaml").write_text(
        "at: 2026-11-27T10:00:00+08:00\ncases:\n  - name: x\n    subject: u-query-east1\n"
        "    resource： {id: r, kind: credit_report, level: ordinary, org: east-1, customer_id: c}\n"
        "    purpose: loan_review\n    expect: {allowed: false}\n", encoding="utf-8")
    with pytest.raises(SuiteError) as info:
        run_tests(engine, folder)
    (problem,) = info.value.problems
    assert (problem.code, Path(problem.file).name, problem.line, problem.column) == ("full_width_punctuation", "s.yaml", 5, 13)


def test_an_unknown_key_near_a_known_one_is_hinted(policy_copy: Path) -> None:
    error, _ = _break(policy_copy, "vocabulary.yaml", "\nlevels:", "\nlevel:")
    (problem,) = error.problems
    assert problem.code == "unknown_section"
    assert problem.message_en == "unknown section `level`; did you mean `levels`?"
    assert problem.message == "未知章节`level`；是否应为`levels`？"
    vocabulary = policy_copy / "vocabulary.yaml"
    vocabulary.write_text(vocabulary.read_text(encoding="utf-8").replace("\nlevel:", "\nlevels:"), encoding="utf-8")
    error, _ = _break(policy_copy, "grants.yaml", "    roles: [dispute_handler]", "    roles: [dispute_handler]\n    levles: [ordinary]")
    (problem,) = error.problems
    assert (problem.code, problem.path) == ("unknown_key", "grants[1].levles")
    assert problem.message == "未知的键`levles`；是否应为`levels`？"


def test_a_suggested_id_is_shown_with_its_label(policy_copy: Path) -> None:
    error, _ = _break(policy_copy, "grants.yaml", "    roles: [dispute_handler]", "    roles: [dispute_handlr]")
    (problem,) = error.problems
    assert problem.message == "未知角色`dispute_handlr`；是否应为 异议处理员（dispute_handler）？"
    assert problem.message_en == "unknown role `dispute_handlr`; did you mean `dispute_handler`?"
