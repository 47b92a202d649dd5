"""Resuming a run stored by an earlier Crystallize: code digests computed by another
digest scheme differ for unchanged code, and the resume message must not blame the
user's code for it alone (for a run stored before specs recorded their scheme it cannot
tell an upgrade from an edit, and names both)."""

from __future__ import annotations

import hashlib
import json

from crystallize import Experiment, Pipeline, data_source, pipeline_step
from crystallize.store import list_runs, open_store
from crystallize.store.serialize import dumps, loads

#: The parts of the spec every Crystallize version stored (no digest-scheme marker).
OLD_SPEC_PARTS = ("datasource", "steps", "treatments", "initial_ctx", "seed")


@data_source
def source(ctx, offset=0.0):
    return offset


@pipeline_step()
def ident(data, ctx):
    return data, {"value": data}


def _experiment(offset=0.0, step=ident, replicates=2):
    return Experiment(datasource=source(offset=offset), pipeline=Pipeline([step()]), name="spec",
                      replicates=replicates)


def _store_as_an_earlier_version(run_id, *, other_digests, scheme=None):
    """Rewrite the stored run as a Crystallize from before the digest-scheme marker
    stored it: the old spec parts only (with ``scheme`` as its marker, if given), its
    code digests (when ``other_digests``) computed by another scheme, and the
    fingerprint as that version computed it."""
    with open_store("data") as store, store.transaction(write=True) as conn:
        spec = loads(conn.execute("SELECT spec FROM runs WHERE run_id = ?", (run_id,)).fetchone()[0])
        spec = {part: spec[part] for part in OLD_SPEC_PARTS}
        if other_digests:
            for component in [spec["datasource"], *spec["steps"]]:
                component["code"] = hashlib.sha256(component["code"].encode()).hexdigest()[:16]
        text = json.dumps(spec, sort_keys=True, default=repr)
        digest = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
        if scheme is not None:
            spec["code_digests"] = scheme
        conn.execute("UPDATE runs SET spec = ?, fingerprint = ? WHERE run_id = ?", (dumps(spec), digest, run_id))


def _not_resuming(caplog):
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("Not resuming")]


def test_digests_of_an_earlier_version_are_not_blamed_on_the_users_code(caplog):
    first = _experiment().run()
    _store_as_an_earlier_version(first.run_id, other_digests=True)
    caplog.set_level("INFO", logger="crystallize")
    result = _experiment(replicates=3).run(strategy="resume")
    assert result.info["resumed"] == 0 and result.run_id != first.run_id
    [message] = _not_resuming(caplog)
    assert message == (
        f"Not resuming run {first.run_id} of 'spec': its code changed, or its code digests were "
        "computed by an earlier Crystallize version (datasource.code, steps[0].code); starting a new run"
    )
    assert len(list_runs("data", "spec")) == 2


def test_digests_of_a_newer_version_say_so(caplog):
    from crystallize.fingerprint import CODE_DIGEST_SCHEME

    first = _experiment().run()
    _store_as_an_earlier_version(first.run_id, other_digests=True, scheme=CODE_DIGEST_SCHEME + 1)
    caplog.set_level("INFO", logger="crystallize")
    _experiment().run(strategy="resume")
    [message] = _not_resuming(caplog)
    assert "its code digests were computed by a newer Crystallize version" in message


def test_a_users_change_is_still_named_beside_the_earlier_digests(caplog):
    first = _experiment().run()
    _store_as_an_earlier_version(first.run_id, other_digests=True)
    caplog.set_level("INFO", logger="crystallize")
    _experiment(offset=1.0).run(strategy="resume")
    [message] = _not_resuming(caplog)
    assert message.startswith(f"Not resuming run {first.run_id} of 'spec': the experiment changed since "
                              "(datasource.params.offset), and its code changed, or its code digests were "
                              "computed by an earlier Crystallize version")
    assert message.endswith("; starting a new run")


def test_a_run_stored_before_the_marker_with_the_same_digests_is_resumed(caplog):
    first = _experiment().run()
    _store_as_an_earlier_version(first.run_id, other_digests=False)
    caplog.set_level("INFO", logger="crystallize")
    result = _experiment(replicates=3).run(strategy="resume")
    assert result.run_id == first.run_id and result.info["resumed"] == 2
    assert _not_resuming(caplog) == []


def _changed_ident():
    @pipeline_step()
    def ident(data, ctx):
        return data + 1, {"value": data + 1}

    return ident


def test_a_code_change_under_the_same_digest_scheme_is_named(caplog):
    first = _experiment().run()
    caplog.set_level("INFO", logger="crystallize")
    _experiment(step=_changed_ident()).run(strategy="resume")
    assert _not_resuming(caplog) == [
        f"Not resuming run {first.run_id} of 'spec': the experiment changed since (steps[0].code); "
        "starting a new run"
    ]
