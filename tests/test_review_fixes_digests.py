"""Runs stored before specs recorded their code-digest scheme (no ``code_digests``
marker) may hold digests of the current scheme or of an earlier one: a difference in
their code digests may be a real code edit. Resume messages and ``crystallize diff`` must
not claim the code is unchanged, and ``diff --json`` keeps such paths in ``config``
(code review: a real edit was put down to "an earlier Crystallize version ... even for
unchanged code", and ``--json`` dropped the ``.code`` paths)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from crystallize import Experiment, Pipeline, data_source, pipeline_step
from crystallize.cli.diff import config_changes, digests_note
from crystallize.fingerprint import CODE_DIGEST_SCHEME, fingerprint
from crystallize.store import open_store
from crystallize.store.serialize import dumps, loads


@data_source
def source(ctx, offset=0.0):
    return offset


@pipeline_step()
def ident(data, ctx):
    return data, {"value": data}


def _changed_ident():
    @pipeline_step()
    def ident(data, ctx):
        return data + 1, {"value": data + 1}

    return ident


def _experiment(step=ident, offset=0.0) -> Experiment:
    return Experiment(datasource=source(offset=offset), pipeline=Pipeline([step()]), name="spec", replicates=2)


def _stored_spec(run_id: str) -> dict:
    with open_store("data") as store, store.transaction() as conn:
        return loads(conn.execute("SELECT spec FROM runs WHERE run_id = ?", (run_id,)).fetchone()[0])


def _store_without_marker(run_id: str, scheme: int | None = None) -> None:
    """Rewrite the stored run as one stored before the digest-scheme marker existed (its
    digests as they are: the current scheme's), or with ``scheme`` as its marker."""
    spec = _stored_spec(run_id)
    del spec["code_digests"]
    if scheme is not None:
        spec["code_digests"] = scheme
    with open_store("data") as store, store.transaction(write=True) as conn:
        conn.execute("UPDATE runs SET spec = ?, fingerprint = ? WHERE run_id = ?",
                     (dumps(spec), fingerprint(spec), run_id))


def _not_resuming(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("Not resuming")]


# -- resume -----------------------------------------------------------------------------------


def test_a_code_edit_after_a_run_without_the_marker_is_not_called_unchanged_code(caplog):
    first = _experiment().run()
    _store_without_marker(first.run_id)
    caplog.set_level("INFO", logger="crystallize")
    _experiment(step=_changed_ident()).run(strategy="resume")
    [message] = _not_resuming(caplog)
    assert message == (
        f"Not resuming run {first.run_id} of 'spec': its code changed, or its code digests were "
        "computed by an earlier Crystallize version (steps[0].code); starting a new run"
    )


def test_other_changes_are_named_beside_the_unmarked_digests(caplog):
    first = _experiment().run()
    _store_without_marker(first.run_id)
    caplog.set_level("INFO", logger="crystallize")
    _experiment(step=_changed_ident(), offset=1.0).run(strategy="resume")
    [message] = _not_resuming(caplog)
    assert message == (
        f"Not resuming run {first.run_id} of 'spec': the experiment changed since "
        "(datasource.params.offset), and its code changed, or its code digests were computed by an "
        "earlier Crystallize version (steps[0].code); starting a new run"
    )


def test_digests_of_a_known_other_scheme_still_differ_even_for_unchanged_code(caplog):
    first = _experiment().run()
    _store_without_marker(first.run_id, scheme=CODE_DIGEST_SCHEME - 1)
    caplog.set_level("INFO", logger="crystallize")
    _experiment(step=_changed_ident()).run(strategy="resume")
    [message] = _not_resuming(caplog)
    assert "its code digests were computed by an earlier Crystallize version, so they differ even " \
           "for unchanged code (steps[0].code)" in message


# -- crystallize diff -------------------------------------------------------------------------


def _specs(*, marked_a: bool | int = False) -> tuple[dict, dict]:
    """The specs of a run of ``_experiment()`` (A, without the marker unless
    ``marked_a`` gives one) and of one whose step's code was edited (B)."""
    a = _stored_spec(_experiment().run().run_id)
    b = _stored_spec(_experiment(step=_changed_ident()).run().run_id)
    del a["code_digests"]
    if marked_a is not False:
        a["code_digests"] = marked_a
    return a, b


def test_diff_keeps_unmarked_code_changes_in_config_and_says_they_may_be_edits():
    a, b = _specs()
    changes, digests = config_changes(a, b)
    assert [path for path, _, _ in changes] == ["steps[0:ident].code"]
    assert digests == ["steps[0:ident].code"]
    note = digests_note(a, b, digests)
    assert note == (
        "Code digests changed, or A's were computed by an earlier Crystallize version (run A "
        "does not record its digest scheme): steps[0:ident].code"
    )
    assert "unchanged code" not in note
    back = digests_note(b, a, config_changes(b, a)[1])
    assert back.startswith("Code digests changed, or B's were computed by an earlier Crystallize version")


def test_diff_keeps_code_paths_of_a_known_other_scheme_in_config_too():
    a, b = _specs(marked_a=CODE_DIGEST_SCHEME - 1)
    changes, digests = config_changes(a, b)
    assert [path for path, _, _ in changes] == ["steps[0:ident].code"] == digests
    assert digests_note(a, b, digests) == (
        "Code digests not comparable (A's were computed by an earlier Crystallize version; they "
        "differ even for unchanged code): steps[0:ident].code"
    )


def _crystallize(*args: str) -> subprocess.CompletedProcess[str]:
    script = shutil.which("crystallize", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "crystallize.cli"]
    env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1"}
    return subprocess.run([*command, *args], capture_output=True, text=True, env=env, timeout=120)


def test_diff_json_lists_the_code_edit_of_an_unmarked_run_in_config():
    old = _experiment().run()
    new = _experiment(step=_changed_ident()).run()
    _store_without_marker(old.run_id)
    proc = _crystallize("diff", old.run_id, new.run_id, "--json", "--root", "data")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [change["path"] for change in data["config"]] == ["steps[0:ident].code"]
    assert data["code_digests_not_comparable"] == ["steps[0:ident].code"]
    text = _crystallize("diff", old.run_id, new.run_id, "--root", "data").stdout
    assert "Config differences:\n  steps[0:ident].code: " in text
    assert "Code digests changed, or A's were computed by an earlier Crystallize version" in text
    assert "unchanged code" not in text
