"""``crystallize diff`` between a run stored by an earlier Crystallize (before specs
recorded their code-digest scheme) and a current one: the marker is no difference, and
code digests that differ are still listed (they may be a code edit) and flagged as
possibly computed by the earlier version."""

from __future__ import annotations

import hashlib
import json

from cli_support import STEPS

from crystallize.store import open_store
from crystallize.store.serialize import dumps, loads

#: The code digests of the experiment in ``tests/cli/conftest.py``, by path in the spec.
CODE_PATHS = ["datasource.code", "steps[0:add_delta].code", "steps[1:total].code"]


def _run_id(cli, *args: str) -> str:
    proc = cli("run", "numbers", "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["run_id"]


def _store_as_an_earlier_version(run_id: str, *, other_digests: bool) -> None:
    """Rewrite the stored run as a Crystallize from before the digest-scheme marker
    stored it: no marker and (with ``other_digests``) code digests of another scheme."""
    with open_store("data") as store, store.transaction(write=True) as conn:
        spec = loads(conn.execute("SELECT spec FROM runs WHERE run_id = ?", (run_id,)).fetchone()[0])
        del spec["code_digests"]
        if other_digests:
            for component in [spec["datasource"], *spec["steps"]]:
                component["code"] = hashlib.sha256(component["code"].encode()).hexdigest()[:16]
        conn.execute("UPDATE runs SET spec = ? WHERE run_id = ?", (dumps(spec), run_id))


def _two_runs(cli, make_experiment, tmp_path, monkeypatch, *, other_digests: bool) -> tuple[str, str]:
    make_experiment("numbers")
    old, new = _run_id(cli), _run_id(cli)
    monkeypatch.chdir(tmp_path)
    _store_as_an_earlier_version(old, other_digests=other_digests)
    return old, new


def test_the_digest_scheme_marker_is_no_difference(cli, make_experiment, tmp_path, monkeypatch):
    old, new = _two_runs(cli, make_experiment, tmp_path, monkeypatch, other_digests=False)
    proc = cli("diff", old, new)
    assert proc.returncode == 0, proc.stderr
    assert "code_digests" not in proc.stdout and "Code digests" not in proc.stdout
    assert "Config: identical" in proc.stdout
    data = json.loads(cli("diff", old, new, "--json").stdout)
    assert data["config"] == [] and data["code_digests_not_comparable"] == []


def test_digests_of_an_earlier_version_are_listed_and_flagged(cli, make_experiment, tmp_path, monkeypatch):
    old, new = _two_runs(cli, make_experiment, tmp_path, monkeypatch, other_digests=True)
    text = cli("diff", old, new).stdout
    assert "code_digests" not in text and "unchanged code" not in text
    assert all(f"\n  {path}: " in text for path in CODE_PATHS)  # they may be code edits
    assert (
        "Code digests changed, or A's were computed by an earlier Crystallize version (run A does "
        f"not record its digest scheme): {', '.join(CODE_PATHS)}"
    ) in text
    back = cli("diff", new, old).stdout
    assert "Code digests changed, or B's were computed by an earlier Crystallize version" in back
    data = json.loads(cli("diff", old, new, "--json").stdout)
    assert [row["path"] for row in data["config"]] == CODE_PATHS
    assert data["code_digests_not_comparable"] == CODE_PATHS


def test_other_differences_are_still_listed(cli, make_experiment, tmp_path, monkeypatch):
    make_experiment("numbers")
    old, new = _run_id(cli), _run_id(cli, "--set", "foo=1")
    monkeypatch.chdir(tmp_path)
    _store_as_an_earlier_version(old, other_digests=True)
    text = cli("diff", old, new).stdout
    assert "Config differences:\n  datasource.code: " in text
    assert "\n  initial_ctx.foo: (absent) → 1\n" in text
    assert "Code digests changed, or A's" in text


def test_code_changes_under_the_same_scheme_are_still_config_differences(cli, make_experiment):
    make_experiment("numbers")
    old = _run_id(cli)
    make_experiment("numbers", steps=STEPS.replace("x + delta", "delta + x"))
    new = _run_id(cli)
    text = cli("diff", old, new).stdout
    assert "steps[0:add_delta].code:" in text and "Code digests not comparable" not in text
    data = json.loads(cli("diff", old, new, "--json").stdout)
    assert [row["path"] for row in data["config"]] == ["steps[0:add_delta].code"]
    assert data["code_digests_not_comparable"] == []
