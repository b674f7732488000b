"""``zxpolicy.check`` on the default engine: which policy it reads, and a deny that says what to
fix when that policy does not load."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import zxpolicy
from zxpolicy import _default as default_engine

from .conftest import AT, POLICIES, consent, report


def _broken_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "policies"
    shutil.copytree(POLICIES, copy)
    grants = copy / "grants.yaml"
    text = grants.read_text(encoding="utf-8")
    assert "query_operator" in text
    grants.write_text(text.replace("query_operator", "query_operater", 1), encoding="utf-8")
    return copy


def test_a_default_policy_that_does_not_load_denies_naming_its_first_problem_at_its_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = _broken_copy(tmp_path)
    monkeypatch.setenv("ZXPOLICY_POLICY_DIR", str(broken))
    monkeypatch.setattr(default_engine, "_default", None)
    with pytest.raises(zxpolicy.PolicyError) as caught:
        zxpolicy.load()
    first = caught.value.problems[0]
    assert first.file.endswith("grants.yaml") and first.line > 0

    d = zxpolicy.check("u-query-east1", report(), "loan_review", consent=consent(), at=AT)
    assert not d.allowed
    assert d.codes == ("engine_error",)
    (reason,) = d.reasons
    for message, lang in ((reason.message, "zh"), (reason.message_en, "en")):
        assert str(broken) in message
        assert f"grants.yaml:{first.line}:" in message
        assert first.text(lang).split(": ")[-1] in message
    assert "默认策略" in reason.message and "无法加载" in reason.message
    assert default_engine._default is None  # not cached: the fixed files are read on the next call


def test_the_default_policy_is_the_bundled_one_unless_the_environment_names_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZXPOLICY_POLICY_DIR", raising=False)
    monkeypatch.chdir(tmp_path)  # a ./policies here is not read by the library (only by the CLI)
    shutil.copytree(POLICIES, tmp_path / "policies")
    (tmp_path / "policies" / "orgs.yaml").write_text("orgs: [\n", encoding="utf-8")
    engine = zxpolicy.load()
    assert engine.policy_dir.resolve() != (tmp_path / "policies").resolve()
    assert zxpolicy.load(POLICIES).policy_version == engine.policy_version
