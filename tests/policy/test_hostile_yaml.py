"""Hostile YAML: files that expand to gigabytes, loop on themselves, nest without end or are
simply huge are refused while they are read, with a ``PolicyError`` naming file and line.

A policy may come from a branch nobody has reviewed (``zxpolicy diff main:policies``), so the
reader is bounded whatever a file holds: no anchors, aliases or merge keys, at most 64 levels of
nesting, at most 200,000 values, at most 1 MiB read as YAML. The corpus is read in a child
process whose address space is limited to 1 GB — the only guard: a bomb that got through would
fail there instead of taking the machine — by libyaml and by the pure-Python parser, as policy
files, as test-suite files and from a git revision.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import zxpolicy
from zxpolicy import PolicyError
from zxpolicy.cli import main
from zxpolicy.policy import read_yaml
from zxpolicy.policy._yaml import YamlRefused

from ..conftest import AT, POLICIES, REPO


def laughs(levels: int = 7, width: int = 9) -> str:
    """The billion laughs: 9 aliases of 9 aliases of ... of a list of 9 strings."""
    out = ["l0: &l0 [" + ", ".join(['"lol"'] * width) + "]"]
    out += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, levels + 1)]
    return "\n".join(out) + f"\norgs: *l{levels}\n"


def laughs_in_grants(levels: int = 7, width: int = 9) -> str:
    """The same inside grants: each grant's `levels` lists the list of the grant before it."""
    grant = "  - {rule: Q-03, roles: [query_operator], actions: [query], kinds: [credit_report], purposes: [loan_review], "
    out = ["grants:", grant + "levels: &g0 [" + ", ".join(["ordinary"] * width) + "]}"]
    out += [grant + f"levels: &g{i} [" + ", ".join([f"*g{i - 1}"] * width) + "]}" for i in range(1, levels + 1)]
    return "\n".join(out) + "\n"


def deep_block_mappings(levels: int) -> str:
    return "orgs:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(levels)) + " " * (levels + 1) + "x\n"


TWO_MEBIBYTES = "orgs:\n" + "  - {id: hq, zh: 市联社, en: city union}  # padding\n" * 40_000
LINE_AT_ONE_MEBIBYTE = TWO_MEBIBYTES.encode()[: 1 << 20].count(b"\n") + 1


# name → (file replaced in a copy of the bundled policy, its text, the code, the line refused at)
CORPUS: dict[str, tuple[str, str, str, int]] = {
    "billion_laughs": ("orgs.yaml", laughs(), "yaml_alias", 1),
    "billion_laughs_in_grants": ("grants.yaml", laughs_in_grants(), "yaml_alias", 2),
    "wider_laughs": ("orgs.yaml", laughs(levels=12, width=20), "yaml_alias", 1),
    "alias_to_itself": ("orgs.yaml", "orgs: &a [*a]\n", "yaml_alias", 1),
    "alias_before_its_anchor_is_used": ("orgs.yaml", "x: [1]\norgs: [*x]\n", "yaml_alias", 2),
    "deep_flow_lists": ("orgs.yaml", "orgs: " + "[" * 10_000 + "]" * 10_000 + "\n", "yaml_too_deep", 1),
    "deep_flow_mappings": ("orgs.yaml", "orgs: " + "{a: " * 10_000 + "x" + "}" * 10_000 + "\n", "yaml_too_deep", 1),
    "deep_block_lists": ("orgs.yaml", "orgs:\n  " + "- " * 10_000 + "x\n", "yaml_too_deep", 2),
    "deep_block_mappings": ("orgs.yaml", deep_block_mappings(1_000), "yaml_too_deep", 65),
    "unclosed_deep_lists": ("orgs.yaml", "orgs: " + "[" * 100_000 + "\n", "yaml_too_deep", 1),
    "two_mebibytes": ("orgs.yaml", TWO_MEBIBYTES, "file_too_large", LINE_AT_ONE_MEBIBYTE),
    "many_values": ("orgs.yaml", "orgs: [" + "a," * 500_000 + "]\n", "yaml_too_many_values", 1),
}

CHILD = textwrap.dedent(
    """
    import json, resource, shutil, subprocess, sys, tempfile, time
    from pathlib import Path

    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    import zxpolicy.policy._yaml as reader
    from zxpolicy import PolicyError, SuiteError
    from zxpolicy.compliance import export_revision, load_suites
    from zxpolicy.policy import load_policy

    if sys.argv[1] == "python":
        reader._FAST_LOADER = None
    corpus, policies, at = json.loads(sys.stdin.read()), Path(sys.argv[2]), sys.argv[3]
    document = load_policy(policies).document
    work = Path(tempfile.mkdtemp())
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    repo = work / "repo"
    subprocess.run([*git, "init", "-q", str(repo)], check=True)


    def refused(load):
        started = time.monotonic()
        try:
            load()
        except (PolicyError, SuiteError) as exc:
            p = exc.problems[0]
            return {"codes": sorted({q.code for q in exc.problems}), "file": p.file, "line": p.line,
                    "code": p.code, "seconds": round(time.monotonic() - started, 2)}
        return {"codes": [], "loaded": True}


    for name, (file, text) in corpus.items():
        out = {"name": name}
        copy = work / name
        shutil.copytree(policies, copy, ignore=shutil.ignore_patterns("tests"))
        (copy / file).write_text(text, encoding="utf-8")
        out["policy"] = refused(lambda: load_policy(copy))
        if sys.argv[1] != "libyaml" and reader._FAST_LOADER is not None:  # the rest is the same reader
            print(json.dumps(out), flush=True)
            continue

        suites = work / (name + "-suites")
        suites.mkdir()
        (suites / "bomb.yaml").write_text(f"at: {at}\\n" + text, encoding="utf-8")
        out["suite"] = refused(lambda: load_suites([suites / "bomb.yaml"], document))

        shutil.rmtree(repo / "policies", ignore_errors=True)
        shutil.copytree(copy, repo / "policies")
        subprocess.run([*git, "-C", str(repo), "add", "-A"], check=True)
        subprocess.run([*git, "-C", str(repo), "commit", "-q", "-m", name], check=True)
        exported = work / (name + "-exported")
        out["revision"] = refused(lambda: load_policy(export_revision("HEAD:policies", exported, repo)))
        print(json.dumps(out), flush=True)
    print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}), flush=True)
    shutil.rmtree(work)
    """
)


Refusals = dict[str, dict[str, dict[str, object]]]


@functools.cache
def refusals(parser: str) -> Refusals:
    """Each file of the corpus read in a child process limited to 1 GB, by ``parser``."""
    corpus = {name: (file, text) for name, (file, text, _, _) in CORPUS.items()}
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, parser, str(POLICIES), AT.isoformat()],
        input=json.dumps(corpus), capture_output=True, text=True, timeout=600, env=env, check=False,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, f"the child failed ({done.returncode}) after {[x.get('name') for x in lines]}:\n{done.stderr[-3000:]}"
    return {x["name"]: x for x in lines if "name" in x}


PARSERS = ["libyaml", "python"] if getattr(yaml, "__with_libyaml__", False) else ["python"]


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_a_hostile_policy_file_is_refused_where_it_is(parser: str, name: str) -> None:
    file, _, code, line = CORPUS[name]
    got = refusals(parser)[name]["policy"]
    assert got.get("codes") == [code], got
    assert (got["file"], got["line"]) == (file, line), got


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_a_hostile_suite_file_is_refused_where_it_is(name: str) -> None:
    _, _, code, line = CORPUS[name]
    got = refusals(PARSERS[0])[name]["suite"]
    assert got.get("codes") == [code], got
    # the suite file has one line more at the top (`at:`); one too large is refused unread
    assert str(got["file"]).endswith(f"{name}-suites/bomb.yaml"), got
    assert got["line"] == (0 if code == "file_too_large" else line + 1), got


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_a_hostile_file_from_a_git_revision_is_refused(name: str) -> None:
    file, _, code, line = CORPUS[name]
    got = refusals(PARSERS[0])[name]["revision"]
    assert got.get("codes") == [code], got
    assert (got["file"], got["line"]) == (file, line), got


# --------------------------------------------------------------------------------------------
# The same bounds, in this process, for what the corpus does not show.


def test_the_error_names_the_alias_and_where_it_stands(policy_copy: Path) -> None:
    (policy_copy / "orgs.yaml").write_text("orgs:\n  - &hq {id: hq, zh: 市联社, en: city union}\n  - *hq\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        zxpolicy.load(policy_copy)
    (problem,) = info.value.problems
    assert (problem.code, problem.file, problem.line, problem.column, problem.path) == ("yaml_alias", "orgs.yaml", 2, 5, "orgs[0]")
    assert problem.message_en.startswith("the anchor `&hq` is not allowed")
    assert "锚点`&hq`" in problem.message


@pytest.mark.parametrize("text", ["a: !!python/object:os.system x\n", "a: !custom x\n", "a: !!binary aGVsbG8=\n", "a: !!str 12\n", "a: !!map {}\n"])
def test_no_tag_is_read(text: str) -> None:
    with pytest.raises(YamlRefused) as info:
        read_yaml(text, "x.yaml")
    assert (info.value.problem.code, info.value.problem.line, info.value.problem.path) == ("yaml_tag", 1, "a")


def test_an_assignments_file_of_plain_lines_may_be_larger(tmp_path: Path) -> None:
    # 100,000 users in the one-entry-per-line form that a directory export writes: read line by
    # line, no YAML nodes, so the 1 MiB bound of YAML does not apply (up to 64 MiB)
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies, ignore=shutil.ignore_patterns("tests"))
    lines = ["assignments:"] + [f"  - {{id: u-{i}, roles: [query_operator], org: east-1}}" for i in range(100_000)]
    text = "\n".join(lines) + "\n"
    assert len(text) > 4 << 20
    (policies / "assignments.yaml").write_text(text, encoding="utf-8")
    engine = zxpolicy.load(policies)
    assert len(engine.document.assignments) == 100_000
    # a problem in it is still shown at its line and column, without reading it as YAML
    broken = "  - {id: u-77777, roles: [query_opertor], org: east-1}"
    (policies / "assignments.yaml").write_text(text.replace(lines[77_778], broken), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        zxpolicy.load(policies)
    (problem,) = info.value.problems
    where = (77_779, broken.index("query_opertor") + 1, "assignments[77777].roles[0]")
    assert (problem.code, problem.line, problem.column, problem.path) == ("unknown_role", *where)
    # the same file with one entry that is not plain goes to YAML, and is too large for it
    (policies / "assignments.yaml").write_text(text.replace("{id: u-5, ", "{id: 'u-5', "), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        zxpolicy.load(policies)
    assert [p.code for p in info.value.problems] == ["file_too_large"]


def test_a_file_too_large_to_read_is_not_read(policy_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = policy_copy / "zz.yaml"
    with big.open("wb") as f:
        f.truncate((64 << 20) + 1)  # sparse: no disk space taken
    read = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read") if self.name == "zz.yaml" else read(self))
    with pytest.raises(PolicyError) as info:
        zxpolicy.load(policy_copy)
    (problem,) = info.value.problems
    assert (problem.code, problem.file, problem.line) == ("file_too_large", "zz.yaml", 0)


# --------------------------------------------------------------------------------------------
# Numbers that YAML 1.1 reads as something else.


@pytest.mark.parametrize(
    ("written", "form"),
    [("1:30", "base-60 number"), ("010", "octal number"), ("0x1e", "hexadecimal number"), ("0b11", "binary number"),
     ("1_000", "number with `_` separators"), ("-1:30", "base-60 number"), ("1" * 40, "number of too many digits"),
     ("1_0.5", "number with `_` separators"), ("1:30.5", "base-60 number")],
)
def test_a_number_in_a_yaml_1_1_form_is_refused(policy_copy: Path, written: str, form: str) -> None:
    path = policy_copy / "reporting.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("repeat_threshold: 3 ", f"repeat_threshold: {written} "), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        zxpolicy.load(policy_copy)
    (problem,) = info.value.problems
    line = text[: text.index("repeat_threshold: 3 ")].count("\n") + 1
    assert (problem.code, problem.file, problem.line, problem.path) == ("yaml_number_form", "reporting.yaml", line, "reporting.repeat_threshold")
    assert problem.message_en == f"`{written}` is a YAML 1.1 {form}, read as another number; write an integer in decimal, or put text in quotes"


def test_the_password_age_in_base_60_is_refused(policy_copy: Path) -> None:
    path = policy_copy / "rules.yaml"
    text = path.read_text(encoding="utf-8")
    old = "password_max_age_days: 30 "
    assert text.count(old) == 1
    path.write_text(text.replace(old, "password_max_age_days: 1:30 "), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", "--json", str(policy_copy)])
    assert result.exit_code == 1
    (problem,) = json.loads(result.stdout)["problems"]
    assert (problem["code"], problem["path"]) == ("yaml_number_form", "settings.password_max_age_days")


@pytest.mark.parametrize("written", ["30", "+30", "0", "-7"])
def test_a_decimal_integer_is_read(written: str) -> None:
    assert read_yaml(f"a: {written}\n", "x.yaml").data == {"a": int(written)}


@pytest.mark.parametrize("written", ["'1:30'", '"010"', "0x", "1:2:3x", "09", "1e3"])
def test_what_yaml_reads_as_text_stays_text(written: str) -> None:
    assert isinstance(read_yaml(f"a: {written}\n", "x.yaml").data["a"], str)


def test_what_the_reader_gives_is_what_pyyaml_gives_for_the_bundled_policy_and_suites() -> None:
    import yaml

    for path in sorted(POLICIES.glob("*.yaml")) + sorted((POLICIES / "tests").glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert read_yaml(text, path.name).data == yaml.safe_load(text), path.name


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_revision_with_a_file_too_large_is_refused_before_it_is_read(tmp_path: Path) -> None:
    from zxpolicy.compliance import RevisionError, export_revision

    repo = tmp_path / "repo"
    shutil.copytree(POLICIES, repo / "policies", ignore=shutil.ignore_patterns("tests"))
    with (repo / "policies" / "assignments.yaml").open("ab") as f:
        f.write(b"#" * (64 << 20))
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "big"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    with pytest.raises(RevisionError, match="`assignments.yaml` is [0-9]+ bytes, more than a policy file may hold"):
        export_revision("HEAD:policies", tmp_path / "exported", repo)
    assert not (tmp_path / "exported" / "assignments.yaml").exists()
