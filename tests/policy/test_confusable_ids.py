"""User ids that differ only by case, Unicode width or surrounding space are refused at load:
`alice` and `ALICE` would be one person to whoever reads the assignments and two to the engine
(two approvers for one chain, or one person approving their own request)."""

from __future__ import annotations

from pathlib import Path

import pytest

import zxpolicy
from zxpolicy import PolicyError

LINE = "  - {id: u-query-east1,   roles: [query_operator],         org: east-1, zh: 东区一社查询员}\n"


@pytest.mark.parametrize("variant", ["U-QUERY-EAST1", "ｕ-ｑｕｅｒｙ-ｅａｓｔ１", " u-query-east1 ", "U-Query-East1"])
def test_an_id_that_differs_only_by_case_width_or_space_is_refused(policy_copy: Path, variant: str) -> None:
    path = policy_copy / "assignments.yaml"
    text = path.read_text(encoding="utf-8")
    assert LINE in text
    extra = f'  - {{id: "{variant}", roles: [credit_info_officer], org: hq, zh: 另一编号}}\n'
    path.write_text(text + extra, encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        zxpolicy.load(policy_copy)
    (problem,) = info.value.problems
    assert problem.code == "confusable_id" and problem.file == "assignments.yaml"
    assert problem.path.startswith("assignments[") and problem.path.endswith("].id")
    assert "u-query-east1" in problem.message and "u-query-east1" in problem.message_en


def test_different_ids_still_load(policy_copy: Path) -> None:
    path = policy_copy / "assignments.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "  - {id: u-query-east9, roles: [query_operator], org: east-1}\n",
                    encoding="utf-8")
    assert zxpolicy.load(policy_copy).check("u-query-east9", {"id": "r", "kind": "credit_report", "level": "ordinary",
                                                              "org": "east-1"}, "loan_review").codes == ("consent_missing",)
