"""Sets in the context are logged (step provenance, ``info["config"]``, exports) with
their members sorted: their own order follows the process's string hashing, so two
identical runs exported different JSON."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from crystallize.loggable import loggable


def test_sets_are_logged_with_sorted_members():
    assert loggable({"gamma", "alpha", "beta"}) == "{'alpha', 'beta', 'gamma'}"
    assert loggable(frozenset({10, 2, 1})) == "frozenset({1, 2, 10})"
    assert loggable({1, "a"}) == "{'a', 1}"  # members that do not compare: by their repr
    assert loggable(set()) == "set()" and loggable(frozenset()) == "frozenset()"


SCRIPT = textwrap.dedent(
    """
    import json
    from crystallize import ArtifactPlugin, Experiment, Pipeline, data_source, pipeline_step

    @data_source
    def src(ctx):
        return 0

    @pipeline_step()
    def count(data, ctx, *, labels=frozenset()):
        return data, {"n": len(labels)}

    result = Experiment(datasource=src(), pipeline=Pipeline([count()]), replicates=1,
                        initial_ctx={"labels": {"alpha", "beta", "gamma", "delta", "epsilon"}},
                        plugins=[ArtifactPlugin(root_dir=None)]).run()
    exported = result.to_dict()
    print(json.dumps([exported["info"]["config"]["initial_ctx"], exported["provenance"]["baseline"][0]["steps"][0]["ctx_reads"]]))
    """
)


def test_exports_do_not_depend_on_the_hash_seed(tmp_path):
    outputs = set()
    for seed in ("0", "1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        outputs.add(proc.stdout.strip())
    assert len(outputs) == 1, outputs
    assert "{'alpha', 'beta', 'delta', 'epsilon', 'gamma'}" in outputs.pop()
