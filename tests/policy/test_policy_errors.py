"""A corpus of broken policy files.

Each case edits one file of a copy of the default policy and says which problem loading must
report: its file, its line, (a part of) its path and (a part of) its English message. The expected line is
found in the edited file by the test, never hard-coded, so that the cases keep working as the
default policy changes; but the line is asserted exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pytest

import zxpolicy
from zxpolicy import PolicyError, PolicyProblem

# --------------------------------------------------------------------------------------------
# Edits: how a case breaks its file.


@dataclass(frozen=True)
class Replace:
    """Replace one exact substring, which must occur exactly once in the file."""

    old: str
    new: str

    def __call__(self, path: Path) -> None:
        text = path.read_text(encoding="utf-8")
        assert text.count(self.old) == 1, f"{path.name}: {self.old!r} occurs {text.count(self.old)} times, not once"
        path.write_text(text.replace(self.old, self.new), encoding="utf-8")


@dataclass(frozen=True)
class Append:
    text: str

    def __call__(self, path: Path) -> None:
        path.write_text(path.read_text(encoding="utf-8") + self.text, encoding="utf-8")


@dataclass(frozen=True)
class Write:
    """Replace the whole file."""

    text: str
    encoding: str = "utf-8"

    def __call__(self, path: Path) -> None:
        path.write_text(self.text, encoding=self.encoding)


@dataclass(frozen=True)
class EmptyDirectory:
    """Delete every policy file (the file named by the case is ignored)."""

    def __call__(self, path: Path) -> None:
        for p in path.parent.glob("*.y*ml"):
            p.unlink()


# --------------------------------------------------------------------------------------------
# Where a problem is expected.


@dataclass(frozen=True)
class Line:
    """The line of ``needle`` in the expected file after the edit; ``needle`` must occur once.

    Leading newlines in ``needle`` anchor it at the start of a line and are not counted: the line
    is that of its first other character.
    """

    needle: str

    def find(self, text: str) -> int:
        assert text.count(self.needle) == 1, f"{self.needle!r} occurs {text.count(self.needle)} times, not once"
        at = text.index(self.needle) + (len(self.needle) - len(self.needle.lstrip("\n")))
        return text.count("\n", 0, at) + 1


class Case(NamedTuple):
    id: str
    file: str  # the file to edit
    edit: Callable[[Path], None]
    expect_file: str  # "{root}" / "{root_name}" stand for the policy directory's path / name
    expect_line: Line | int  # 0: a problem that is not in one place of a file
    field: str  # a substring of the problem's path ("" for a problem without a path)
    message: str  # a substring of the problem's English message (`message_en`)


CASES: list[Case] = [
    # ---- YAML itself
    Case(
        "yaml_syntax_stray_brace", "orgs.yaml",
        Replace("en: city union}", "en: city union}}"),
        "orgs.yaml", Line("city union}}"), "", "not valid YAML",
    ),
    Case(
        "yaml_tab_indentation", "vocabulary.yaml",
        Replace("  - {id: archive_custodian,", "\t- {id: archive_custodian,"),
        "vocabulary.yaml", Line("\t- {id: archive_custodian"), "", "a tab in the indentation; indent with spaces",
    ),
    Case(
        "yaml_control_character", "orgs.yaml",
        Replace("{id: hq,", "{id: hq,\x07"),
        "orgs.yaml", Line("\x07"), "", "not valid YAML",
    ),
    Case(
        "yaml_two_documents", "orgs.yaml",
        Append("---\nlevels: []\n"),
        "orgs.yaml", Line("\n---"), "", "single document",
    ),
    Case(
        "non_mapping_file_list", "orgs.yaml",
        Replace("orgs:\n", ""),
        "orgs.yaml", Line("{id: hq,"), "", "must be a mapping of sections",
    ),
    Case(
        "non_mapping_file_scalar", "orgs.yaml",
        Write("# the org tree\njust some text\n"),
        "orgs.yaml", Line("just some text"), "", "must be a mapping of sections",
    ),
    Case(
        "empty_directory", "orgs.yaml",
        EmptyDirectory(),
        "{root}", 0, "", "no policy files",
    ),
    Case(
        "file_with_only_comments_leaves_a_section_missing", "orgs.yaml",
        Write("# nothing here yet\n"),
        "orgs.yaml", 0, "orgs", "missing section `orgs` (the default policy keeps it in `orgs.yaml`)",
    ),
    # ---- sections
    Case(
        "unknown_section", "orgs.yaml",
        Replace("orgs:", "orgz:"),
        "orgs.yaml", Line("orgz:"), "orgz", "unknown section `orgz`",
    ),
    Case(
        "section_in_two_files", "vocabulary.yaml",
        Append("\nsettings:\n  password_max_age_days: 10\n"),
        "vocabulary.yaml", Line("\nsettings:"), "settings", "section `settings` is also in rules.yaml",
    ),
    Case(
        "section_twice_in_one_file", "orgs.yaml",
        Append("\norgs:  # again\n  - {id: hq, zh: 市联社, en: city union}\n"),
        "orgs.yaml", Line("orgs:  # again"), "orgs", "key given twice",
    ),
    # ---- keys and shapes of entries
    Case(
        "duplicate_key_in_flow_mapping", "orgs.yaml",
        Replace("en: east union}", "en: east union, id: x}"),
        "orgs.yaml", Line("id: x}"), "orgs[1].id", "key given twice in one mapping",
    ),
    Case(
        "duplicate_key_in_block_mapping", "purposes.yaml",
        Replace("    kinds: [user_account]\n    consent: false", "    kinds: [user_account]\n    consent: false\n    consent: true  # twice"),
        "purposes.yaml", Line("# twice"), "purposes[5].consent", "key given twice in one mapping",
    ),
    Case(
        "unknown_key_typo", "approvals.yaml",
        Replace("    ordered: true\n    steps:\n      - {roles: [department_head]", "    ordred: true\n    steps:\n      - {roles: [department_head]"),
        "approvals.yaml", Line("ordred"), "approvals[0].ordred", "unknown key `ordred`",
    ),
    Case(
        "unknown_key_in_step", "approvals.yaml",
        Replace("{roles: [department_head], approver_org: same}", "{roles: [department_head], aprover_org: same}"),
        "approvals.yaml", Line("aprover_org"), "approvals[0].steps[0].aprover_org", "unknown key `aprover_org`",
    ),
    Case(
        "missing_required_field", "purposes.yaml",
        Replace("    consent: true\n    evidence:\n      - {key: case_id", "    evidence:\n      - {key: case_id"),
        "purposes.yaml", Line("id: dissent"), "purposes[3].consent", "missing field `consent`",
    ),
    Case(
        "missing_required_field_in_flow_entry", "vocabulary.yaml",
        Replace("{id: modify,            zh: 修改报告个别项,             en: modify an item of a report}", "{id: modify, zh: 修改报告个别项}"),
        "vocabulary.yaml", Line("{id: modify,"), "actions[7].en", "missing field `en`",
    ),
    Case(
        "reason_message_missing_language", "rules.yaml",
        Replace('{zh: "缺少客户书面授权",                     en: "the customer\'s written authorization is missing"}', '{zh: "缺少客户书面授权"}'),
        "rules.yaml", Line('{zh: "缺少客户书面授权"}'), "reasons.consent_missing.en", "missing field `en`",
    ),
    Case(
        "wrong_type_string_for_list", "grants.yaml",
        Replace("    purposes: [dissent]", "    purposes: dissent"),
        "grants.yaml", Line("purposes: dissent"), "grants[1].purposes", "expected a list, got text `dissent`",
    ),
    Case(
        "wrong_type_yes_for_string", "vocabulary.yaml",
        Replace("en: credit report,", "en: yes,"),
        "vocabulary.yaml", Line("en: yes,"), "kinds[0].en", "got the boolean `true`; put it in quotes",
    ),
    Case(
        "wrong_type_string_for_boolean", "vocabulary.yaml",
        Replace("credit_information: false}", 'credit_information: "false"}'),
        "vocabulary.yaml", Line('"false"'), "kinds[3].credit_information", "valid boolean",
    ),
    Case(
        "wrong_type_number_for_rule_id", "purposes.yaml",
        Replace("{key: case_id, rule: Q-06,", "{key: case_id, rule: 6,"),
        "purposes.yaml", Line("rule: 6,"), "purposes[3].evidence[0].rule", "valid string",
    ),
    Case(
        "wrong_type_string_for_integer", "rules.yaml",
        Replace("password_max_age_days: 30", 'password_max_age_days: "30"'),
        "rules.yaml", Line('"30"'), "settings.password_max_age_days", "valid integer",
    ),
    Case(
        "setting_out_of_range", "rules.yaml",
        Replace("password_max_age_days: 30", "password_max_age_days: 0"),
        "rules.yaml", Line("password_max_age_days: 0"), "settings.password_max_age_days", "greater than 0",
    ),
    Case(
        "id_with_capitals", "vocabulary.yaml",
        Replace("{id: print,", "{id: Print,"),
        "vocabulary.yaml", Line("Print"), "actions[1].id", "expected an id of lowercase letters, digits, `_` or `-`, got `Print`",
    ),
    Case(
        "step_given_as_a_bare_string", "approvals.yaml",
        Replace("      - [risk_control_officer, risk_control_manager]", "      - risk_control_officer"),
        "approvals.yaml", Line("      - risk_control_officer"), "approvals[0].steps[1]", "risk_control_officer",
    ),
    Case(
        "unknown_check_name", "rules.yaml",
        Replace("  - {id: Q-11,", "  - {id: Q-11, check: audit,"),
        "rules.yaml", Line("check: audit"), "rules[10].check", "deny_by_default",
    ),
    Case(
        "bad_approver_org", "approvals.yaml",
        Replace("{roles: [department_head], approver_org: same}", "{roles: [department_head], approver_org: sme}"),
        "approvals.yaml", Line("approver_org: sme"), "approvals[0].steps[0].approver_org", "same_or_above",
    ),
    # ---- references between entries
    Case(
        "unknown_role_in_chain_step", "approvals.yaml",
        Replace("      - [risk_control_officer, risk_control_manager]", "      - [risk_control_oficer, risk_control_manager]"),
        "approvals.yaml", Line("risk_control_oficer"), "approvals[0].steps[1].roles[0]",
        "unknown role `risk_control_oficer`; did you mean `risk_control_officer`?",
    ),
    Case(
        "unknown_role_in_purpose_chain", "purposes.yaml",
        Replace("        - [credit_info_supervisor]", "        - [credit_info_supervsor]"),
        "purposes.yaml", Line("credit_info_supervsor"), "purposes[4].approvals.steps[0].roles[0]",
        "did you mean `credit_info_supervisor`?",
    ),
    Case(
        "unknown_role_in_classification_step", "classification.yaml",
        Replace("      - [general_manager]", "      - [general_manger]"),
        "classification.yaml", Line("general_manger"), "classification.steps.top_secret[1].roles[0]",
        "did you mean `general_manager`?",
    ),
    Case(
        "unknown_level_in_grant", "grants.yaml",
        Replace("    purposes: [dissent]", "    purposes: [dissent]\n    levels: [ordinary, secret]"),
        "grants.yaml", Line("levels: [ordinary, secret]"), "grants[1].levels[1]", "unknown level `secret`",
    ),
    Case(
        "unknown_kind_in_consent_rule", "rules.yaml",
        Replace("  kinds: [credit_report]\n\n# Q-08", "  kinds: [credit_reports]\n\n# Q-08"),
        "rules.yaml", Line("credit_reports"), "consent.kinds[0]", "did you mean `credit_report`?",
    ),
    Case(
        "unknown_action_in_grant", "grants.yaml",
        Replace("    actions: [create_user, change_permission, suspend_user]", "    actions: [create_user, change_permission, suspend]"),
        "grants.yaml", Line("suspend]"), "grants[9].actions[2]", "unknown action `suspend`",
    ),
    Case(
        "unknown_purpose_in_grant", "grants.yaml",
        Replace("    purposes: [dissent]", "    purposes: [dissident]"),
        "grants.yaml", Line("dissident"), "grants[1].purposes[0]", "unknown purpose `dissident`",
    ),
    Case(
        "classification_level_typo", "classification.yaml",
        Replace("    confidential:", "    confidental:"),
        "classification.yaml", Line("confidental:"), "classification.steps.confidental", "unknown level `confidental`",
    ),
    Case(
        "classification_level_not_a_valid_id", "classification.yaml",
        Replace("    confidential:", "    Confidential:"),
        "classification.yaml", Line("Confidential:"), "classification.steps.Confidential", "expected an id of lowercase",
    ),
    Case(
        "classification_level_left_out", "classification.yaml",
        Replace("    ordinary: []\n", ""),
        "classification.yaml", Line("\n  steps:"), "classification.steps", "level `ordinary` has no entry",
    ),
    Case(
        "duplicate_role_id", "vocabulary.yaml",
        Replace("  - {id: archive_custodian,", "  - {id: user_admin, zh: 重复, en: duplicate}\n  - {id: archive_custodian,"),
        "vocabulary.yaml", Line("en: duplicate}"), "roles[11].id", "duplicate id `user_admin`",
    ),
    Case(
        "duplicate_org_id", "orgs.yaml",
        Replace("{id: east-2, parent: east,", "{id: east-1, parent: east,"),
        "orgs.yaml", Line("east branch 2"), "orgs[4].id", "duplicate id `east-1`",
    ),
    Case(
        "duplicate_purpose_id", "purposes.yaml",
        Append(
            "\n  - id: account_management  # again\n    rule: Q-02\n    zh: 重复\n    en: duplicate\n"
            "    kinds: [user_account]\n    consent: false\n"
        ),
        "purposes.yaml", Line("# again"), "purposes[6].id", "duplicate id `account_management`",
    ),
    Case(
        "duplicate_assignment_id", "assignments.yaml",
        Replace("{id: u-query-west1,", "{id: u-query-east1,"),
        "assignments.yaml", Line("西区一社查询员"), "assignments[8].id", "duplicate id `u-query-east1`",
    ),
    Case(
        "duplicate_rule_id", "rules.yaml",
        Replace("  - {id: C-03,", "  - {id: C-02,"),
        "rules.yaml", Line("密级不明"), "rules[21].id", "duplicate id `C-02`",
    ),
    Case(
        "org_tree_cycle", "orgs.yaml",
        Replace("{id: hq,     zh", "{id: hq, parent: east-1, zh"),
        "orgs.yaml", Line("{id: hq,"), "orgs[0].parent", "cycle through `hq`",
    ),
    Case(
        "org_is_its_own_parent", "orgs.yaml",
        Replace("{id: east-2, parent: east,", "{id: east-2, parent: east-2,"),
        "orgs.yaml", Line("parent: east-2"), "orgs[4].parent", "cycle through `east-2`",
    ),
    Case(
        "unknown_parent_org", "orgs.yaml",
        Replace("{id: west-1, parent: west,", "{id: west-1, parent: wst,"),
        "orgs.yaml", Line("parent: wst"), "orgs[5].parent", "unknown org `wst`",
    ),
    Case(
        "rule_id_not_in_catalogue", "grants.yaml",
        Replace("  - rule: A-07", "  - rule: A-99"),
        "grants.yaml", Line("A-99"), "grants[8].rule", "unknown rule `A-99`",
    ),
    Case(
        "rule_id_of_evidence_not_in_catalogue", "purposes.yaml",
        Replace("rule: Q-06,", "rule: Q-16,"),
        "purposes.yaml", Line("Q-16"), "purposes[3].evidence[0].rule", "unknown rule `Q-16`",
    ),
    Case(
        "check_bound_twice", "rules.yaml",
        Replace("{id: Q-10, check: status,", "{id: Q-10, check: password,"),
        "rules.yaml", Line("{id: Q-10,"), "rules[9].check", "check `password` is bound to more than one rule",
    ),
    Case(
        "check_not_bound", "rules.yaml",
        Replace("{id: Q-10, check: status,", "{id: Q-10,"),
        "rules.yaml", Line("\nrules:"), "rules", "no rule has `check: status`",
    ),
    Case(
        "reason_code_without_message", "rules.yaml",
        Replace('  case_missing:              {zh: "缺少异议或投诉案件编号",               en: "no dispute or complaint case is given"}\n', ""),
        "purposes.yaml", Line("code: case_missing"), "purposes[3].evidence[0].code",
        "no message for reason code `case_missing`",
    ),
    Case(
        "engine_code_without_message", "rules.yaml",
        Replace('  consent_revoked:           {zh: "书面授权已撤销",                       en: "the authorization was revoked"}\n', ""),
        "rules.yaml", Line("\nreasons:"), "reasons", "no message for reason code `consent_revoked`",
    ),
    Case(
        "full_width_colon", "purposes.yaml",
        Replace("    consent: false\n    evidence:\n      - {key: legal_basis", "    consent： false\n    evidence:\n      - {key: legal_basis"),
        "purposes.yaml", Line("consent： false"), "", "replace the full-width colon `：` with `:`",
    ),
    Case(
        "full_width_colon_in_a_flow_mapping", "orgs.yaml",
        Replace("{id: west,   parent: hq,", "{id: west,   parent： hq,"),
        "orgs.yaml", Line("parent： hq"), "", "replace the full-width colon `：` with `:`",
    ),
    Case(
        "renamed_key_suggests_the_field", "grants.yaml",
        Replace("    roles: [dispute_handler]", "    role: [dispute_handler]"),
        "grants.yaml", Line("role: [dispute_handler]"), "grants[1].role", "unknown key `role`; did you mean `roles`?",
    ),
    Case(
        "not_utf8", "orgs.yaml",
        Write("orgs:\n  - {id: hq, zh: \u5e02, en: x}\n", encoding="gbk"),
        "orgs.yaml", 2, "", "not UTF-8 text; save the file as UTF-8",
    ),
    # ---- edits that would widen access if they loaded (fail closed)
    Case(
        "chain_with_no_steps", "approvals.yaml",
        Replace("    retention_ended: true\n    steps:\n      - [risk_control_manager]\n", "    retention_ended: true\n    steps: []\n"),
        "approvals.yaml", Line("steps: []"), "approvals[5].steps", "at least 1 item",
    ),
    Case(
        "purpose_chain_left_empty", "purposes.yaml",
        Replace("    approvals:\n      rule: Q-05\n      ordered: false\n      steps:\n        - [credit_info_supervisor]\n", "    approvals:\n"),
        "purposes.yaml", Line("    approvals:\n"), "purposes[4].approvals", "`approvals` has no value",
    ),
    Case(
        "grant_levels_left_empty", "grants.yaml",
        Replace("    purposes: [dissent]\n", "    purposes: [dissent]\n    levels:\n"),
        "grants.yaml", Line("    levels:\n"), "grants[1].levels", "`levels` has no value",
    ),
    Case(
        "evidence_one_of_empty", "approvals.yaml",
        Replace("one_of: [forgotten_written_request, credential_stolen, special_case]", "one_of: []"),
        "approvals.yaml", Line("one_of: []"), "approvals[6].evidence[0].one_of", "at least 1 item",
    ),
    Case(
        "separation_without_exclusive", "rules.yaml",
        Replace("    exclusive: true                 # holding it with any other role of the policy denies everything\n", ""),
        "rules.yaml", Line("  - rule: Q-08"), "separations[0].exclusive", "missing field `exclusive`",
    ),
    Case(
        "chain_without_ordered", "approvals.yaml",
        Replace("    kinds: [customer_archive]\n    ordered: true\n", "    kinds: [customer_archive]\n"),
        "approvals.yaml", Line("  - rule: A-01"), "approvals[0].ordered", "missing field `ordered`",
    ),
    Case(
        "obligation_id_typo", "rules.yaml",
        Replace("    id: log_query", "    id: log_qeury"),
        "rules.yaml", Line("id: log_qeury"), "obligation_rules[0].id", "unknown obligation `log_qeury`; did you mean `log_query`?",
    ),
    Case(
        "chain_obligation_undeclared", "approvals.yaml",
        Replace("obligations: [record_destruction]", "obligations: [record_destroyed]"),
        "approvals.yaml", Line("record_destroyed"), "approvals[5].obligations[0]", "unknown obligation `record_destroyed`",
    ),
    Case(
        "evidence_code_of_the_engine", "purposes.yaml",
        Replace("code: case_missing", "code: granted"),
        "purposes.yaml", Line("code: granted"), "purposes[3].evidence[0].code", "`granted` is a code of the engine's own",
    ),
    Case(
        "ordered_chain_too_long", "approvals.yaml",
        Replace("      - [risk_control_manager]\n      - [general_manager]\n", "      - [risk_control_manager]\n      - [general_manager]\n" * 3),
        "approvals.yaml", Line("    steps:\n      - [risk_control_manager]\n      - [general_manager]\n      - [risk"),
        "approvals[3].steps", "an ordered chain has at most 4 steps",
    ),
    Case(
        "when_names_undeclared_evidence", "approvals.yaml",
        Replace("when: {reset_reason: special_case}", "when: {reset_reasn: special_case}"),
        "approvals.yaml", Line("reset_reasn"), "approvals[6].steps[0].when.reset_reasn",
        "unknown evidence `reset_reasn`; a step's `when` names evidence of its own entry (did you mean `reset_reason`?)",
    ),
    Case(
        "when_value_outside_one_of", "approvals.yaml",
        Replace("when: {reset_reason: special_case}", "when: {reset_reason: special_cas}"),
        "approvals.yaml", Line("special_cas}"), "approvals[6].steps[0].when.reset_reason",
        "`special_cas` is not one of the evidence's `one_of`; did you mean `special_case`?",
    ),
    Case(
        "message_with_bad_placeholder", "rules.yaml",
        Replace('en: "role conflict: {detail}"', 'en: "role conflict: {details}"'),
        "rules.yaml", Line("{details}"), "reasons.role_conflict.en", "only the placeholder `{detail}`",
    ),
    Case(
        "message_with_format_spec", "rules.yaml",
        Replace('{zh: "缺少审批：{detail}",', '{zh: "缺少审批：{detail!r}",'),
        "rules.yaml", Line("{detail!r}"), "reasons.approval_missing.zh", "only the placeholder `{detail}`",
    ),
    Case(
        "message_that_does_not_parse", "rules.yaml",
        Replace('en: "role conflict: {detail}"', 'en: "role conflict: {detail"'),
        "rules.yaml", Line("{detail\""), "reasons.role_conflict.en", "does not parse",
    ),
    Case(
        "purpose_granted_on_a_kind_it_does_not_apply_to", "grants.yaml",
        Replace(
            "    kinds: [user_account]\n    purposes: [account_management]\n\n  - rule: A-08",
            "    kinds: [user_account, credit_report]\n    purposes: [account_management]  # here\n\n  - rule: A-08",
        ),
        "grants.yaml", Line("# here"), "grants[8].purposes[0]", "does not apply to kind `credit_report`",
    ),
    Case(
        "two_chains_for_one_action_and_kind", "approvals.yaml",
        Replace("    actions: [create_user, change_permission]", "    actions: [create_user, change_permission, reset_password]"),
        "approvals.yaml", Line("change_permission, reset_password"), "approvals[7].actions",
        "`reset_password` on `user_account` already has a chain in rule `A-07`",
    ),
    Case(
        "assignment_with_unknown_role", "assignments.yaml",
        Replace("roles: [dispute_handler], ", "roles: [dispute_handlr], "),
        "assignments.yaml", Line("dispute_handlr"), "assignments[1].roles[0]",
        "unknown role `dispute_handlr`; did you mean `dispute_handler`?",
    ),
    Case(
        "assignment_with_unknown_org", "assignments.yaml",
        Replace("org: west-1, zh", "org: west-9, zh"),
        "assignments.yaml", Line("west-9"), "assignments[8].org", "unknown org `west-9`",
    ),
    Case(
        "separation_with_unknown_role", "rules.yaml",
        Replace("    role: user_admin\n", "    role: user_admn\n"),
        "rules.yaml", Line("user_admn"), "separations[0].role", "did you mean `user_admin`?",
    ),
    Case(
        "exemption_with_unknown_role", "classification.yaml",
        Replace("      role: archive_custodian", "      role: archive_custodain"),
        "classification.yaml", Line("archive_custodain"), "classification.exemptions[0].role",
        "did you mean `archive_custodian`?",
    ),
]

# For these cases the field must be exactly this: a scalar is not indexed (`org[0]`) and a mapping
# key carries no pydantic marker (`.[key]`).
EXACT_FIELDS = {
    "assignment_with_unknown_org": "assignments[8].org",
    "separation_with_unknown_role": "separations[0].role",
    "exemption_with_unknown_role": "classification.exemptions[0].role",
    "classification_level_not_a_valid_id": "classification.steps.Confidential",
    "classification_level_typo": "classification.steps.confidental",
}
BY_ID = {c.id: c for c in CASES}


def _break(policy_copy: Path, case: Case) -> PolicyError:
    case.edit(policy_copy / case.file)
    with pytest.raises(PolicyError) as info:
        zxpolicy.load(policy_copy)
    return info.value


def _expected_file(case: Case, root: Path) -> str:
    return case.expect_file.format(root=str(root), root_name=root.name)


def _matching(problems: tuple[PolicyProblem, ...], file: str, field: str, message: str) -> list[PolicyProblem]:
    return [p for p in problems if p.file == file and field in p.path and message in p.message_en]


def _listing(problems: tuple[PolicyProblem, ...]) -> str:
    return "\n".join(f"  {p}" for p in problems)


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) >= 20
    assert len(BY_ID) == len(CASES), "case ids must be unique"


def test_the_default_policy_loads(policy_copy: Path) -> None:
    # Every case starts from this copy; it must be good before an edit breaks it.
    zxpolicy.load(policy_copy)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_policy_is_reported_where_it_is_broken(policy_copy: Path, case: Case) -> None:
    error = _break(policy_copy, case)
    file = _expected_file(case, policy_copy)
    found = _matching(error.problems, file, case.field, case.message)
    assert found, f"no problem in {file} with field ~{case.field!r} and message ~{case.message!r}; got:\n{_listing(error.problems)}"
    problem = found[0]

    if isinstance(case.expect_line, Line):
        text = (policy_copy / file).read_text(encoding="utf-8")
        line = case.expect_line.find(text)
    else:
        line = case.expect_line
    assert problem.line == line, f"expected line {line}, got:\n  {problem}"
    if line:
        assert problem.column >= 1
        assert str(problem).startswith(f"{file}:{line}:{problem.column}: ")
    else:
        assert problem.column == 0
        assert str(problem).startswith(f"{file}: ")
    # `str(problem)` is `file:line:col: path: [code] message_en`, without the path when there is
    # none; `text(lang)` is the same for people, without the code, in Chinese by default.
    shown = f"{problem.path}: " if problem.path else ""
    assert str(problem).endswith(f": {shown}[{problem.code}] {problem.message_en}")
    assert problem.text("en") == str(problem).replace(f"[{problem.code}] ", "")
    assert problem.text() == problem.text("zh") == problem.text("en").replace(problem.message_en, problem.message)
    # The error's own text lists the problem too, and so does its text for people.
    assert str(problem) in str(error)
    assert f"  {problem.text()}" in error.text().splitlines()
    assert f"  {problem.text('en')}" in error.text("en").splitlines()


@pytest.mark.parametrize("case_id", sorted(EXACT_FIELDS))
def test_field_names_exactly_what_is_wrong(policy_copy: Path, case_id: str) -> None:
    case = BY_ID[case_id]
    error = _break(policy_copy, case)
    found = _matching(error.problems, _expected_file(case, policy_copy), case.field, case.message)
    assert found, _listing(error.problems)
    assert found[0].path == EXACT_FIELDS[case_id], str(found[0])


def test_yaml_error_message_is_readable(policy_copy: Path) -> None:
    # The message names the problem, not the parser's internals.
    error = _break(policy_copy, BY_ID["yaml_control_character"])
    (problem,) = error.problems
    for message in (problem.message, problem.message_en):
        assert "<unicode string>" not in message
        assert "\n" not in message


# --------------------------------------------------------------------------------------------
# Whole or not at all.


def test_a_broken_policy_loads_nothing(policy_copy: Path) -> None:
    good = zxpolicy.load(policy_copy)
    BY_ID["assignment_with_unknown_role"].edit(policy_copy / "assignments.yaml")

    # Seven good files and one broken file: no engine at all, not an engine without the eighth.
    with pytest.raises(PolicyError) as info:
        zxpolicy.load(policy_copy)
    assert isinstance(info.value, zxpolicy.ZxpolicyError)
    assert info.value.problems
    assert all(isinstance(p, PolicyProblem) for p in info.value.problems)
    assert str(info.value).startswith("policy does not load: ")

    # An engine loaded before is untouched by the failed load.
    assert good.document.assignments[1].roles == ["dispute_handler"]


def test_a_repaired_policy_loads_as_before(policy_copy: Path) -> None:
    before = zxpolicy.load(policy_copy).policy_version
    path = policy_copy / "grants.yaml"
    original = path.read_text(encoding="utf-8")
    BY_ID["wrong_type_string_for_list"].edit(path)
    with pytest.raises(PolicyError):
        zxpolicy.load(policy_copy)
    path.write_text(original, encoding="utf-8")
    assert zxpolicy.load(policy_copy).policy_version == before


def test_only_policy_files_directly_in_the_directory_are_read(policy_copy: Path) -> None:
    before = zxpolicy.load(policy_copy).policy_version
    (policy_copy / "suite").mkdir()
    (policy_copy / "suite" / "broken.yaml").write_text("orgs: [\n", encoding="utf-8")
    (policy_copy / "README.txt").write_text("orgs: [\n", encoding="utf-8")
    assert zxpolicy.load(policy_copy).policy_version == before


def test_a_yml_file_is_read_too(policy_copy: Path) -> None:
    (policy_copy / "extra.yml").write_text("orgz: []\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        zxpolicy.load(policy_copy)
    assert [(p.file, p.line, p.path) for p in info.value.problems] == [("extra.yml", 1, "orgz")]


def test_a_path_that_is_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        zxpolicy.load(tmp_path / "missing")
    (problem,) = info.value.problems
    assert (problem.code, problem.message, problem.message_en) == ("not_a_directory", "不是目录", "not a directory")
    assert problem.line == 0


# --------------------------------------------------------------------------------------------
# Several problems in one load are all reported.


def _several(policy_copy: Path, *ids: str) -> tuple[PolicyError, list[Case]]:
    cases = [BY_ID[i] for i in ids]
    for case in cases:
        case.edit(policy_copy / case.file)
    with pytest.raises(PolicyError) as info:
        zxpolicy.load(policy_copy)
    return info.value, cases


@pytest.mark.parametrize(
    "ids",
    [
        # read: YAML errors and a duplicate key in three files
        ("yaml_syntax_stray_brace", "yaml_tab_indentation", "duplicate_key_in_block_mapping"),
        # shape: schema errors in three files
        ("unknown_key_typo", "missing_required_field", "wrong_type_string_for_list"),
        # references: cross-checks in four files
        ("unknown_role_in_chain_step", "unknown_level_in_grant", "duplicate_assignment_id", "message_with_bad_placeholder"),
    ],
    ids=["read", "shape", "references"],
)
def test_every_problem_of_a_load_is_reported(policy_copy: Path, ids: tuple[str, ...]) -> None:
    error, cases = _several(policy_copy, *ids)
    for case in cases:
        file = _expected_file(case, policy_copy)
        found = _matching(error.problems, file, case.field, case.message)
        assert found, f"{case.id} not reported; got:\n{_listing(error.problems)}"
        assert isinstance(case.expect_line, Line)
        assert found[0].line == case.expect_line.find((policy_copy / file).read_text(encoding="utf-8")), str(found[0])
    count = len(error.problems)
    assert count >= len(cases)
    assert str(error).splitlines()[0] == f"policy does not load: {count} problems"
    assert len(str(error).splitlines()) == count + 1


def test_one_problem_is_counted_in_the_singular(policy_copy: Path) -> None:
    error = _break(policy_copy, BY_ID["unknown_parent_org"])
    assert len(error.problems) == 1
    assert str(error).splitlines()[0] == "policy does not load: 1 problem"


@pytest.mark.parametrize("section_file", ["approvals.yaml", "assignments.yaml", "classification.yaml"])
def test_a_missing_file_does_not_load_as_an_empty_section(policy_copy: Path, section_file: str) -> None:
    # Failing open would be the danger: no approvals.yaml must not mean "no approvals needed".
    section = section_file.removesuffix(".yaml")
    (policy_copy / section_file).unlink()
    with pytest.raises(PolicyError) as info:
        zxpolicy.load(policy_copy)
    assert [p.path for p in info.value.problems] == [section]
    assert f"missing section `{section}`" in str(info.value)
