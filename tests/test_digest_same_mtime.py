"""Code digests of a folder's modules describe the source that was loaded, not a stale
copy: an edit that keeps the file's size and modification time (a same-second edit on a
coarse file system, ``rsync -t``, ``cp -p``) still changes the digest after a reload, and
an edit without a reload leaves the digest of the code still running unchanged."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

from crystallize import Experiment
from crystallize.code_digest import code_hash
from crystallize.config.modules import load_folder_modules

CONFIG = """\
name: mini
replicates: 2
datasource: one
steps:
  - scale
plugins:
  seed: {seed: 42, auto_seed: true}
"""

DATASOURCES = """\
from crystallize import data_source

@data_source
def one(ctx):
    return 1.0
"""

STEPS = """\
from crystallize import pipeline_step

@pipeline_step(cacheable=True)
def scale(data, ctx):
    ctx.metrics.add("y", data * 2)
    return data
"""


def _folder(root: Path) -> Path:
    folder = root / "mini"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(CONFIG)
    (folder / "datasources.py").write_text(DATASOURCES)
    (folder / "steps.py").write_text(STEPS)
    return folder


def _edit_keeping_stat(steps: Path) -> None:
    """``data * 2`` -> ``data * 3``: same size, and the old modification time restored."""
    stat = steps.stat()
    steps.write_text(STEPS.replace("data * 2", "data * 3"))
    os.utime(steps, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert steps.stat().st_size == stat.st_size


def _edit_with_new_mtime(steps: Path) -> None:
    stat = steps.stat()
    steps.write_text(STEPS.replace("data * 2", "data * 3"))
    os.utime(steps, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def _ys(result) -> list[list[float]]:
    return [record.metrics["y"] for record in result.records]


def test_rerun_after_a_same_stat_edit_computes_the_new_code(tmp_path):
    folder = _folder(tmp_path)
    assert _ys(Experiment.from_yaml(folder).run()) == [[2.0], [2.0]]
    _edit_keeping_stat(folder / "steps.py")
    # The cacheable step must miss: the cache entry holds the old code's result.
    assert _ys(Experiment.from_yaml(folder).run(strategy="rerun")) == [[3.0], [3.0]]


def test_resume_after_a_same_stat_edit_starts_a_new_run(tmp_path):
    folder = _folder(tmp_path)
    first = Experiment.from_yaml(folder).run()
    _edit_keeping_stat(folder / "steps.py")
    second = Experiment.from_yaml(folder).run(strategy="resume")
    assert second.run_id != first.run_id
    assert _ys(second) == [[3.0], [3.0]]


def test_the_digest_and_the_source_follow_the_reloaded_text(tmp_path):
    folder = _folder(tmp_path)
    old = load_folder_modules(folder).get("steps").scale
    old_digest = code_hash(old)
    _edit_keeping_stat(folder / "steps.py")
    module = load_folder_modules(folder).get("steps")
    new = module.scale
    assert code_hash(new) != old_digest
    assert "data * 3" in inspect.getsource(module)  # tracebacks and inspect see it too
    assert code_hash(old) == old_digest  # the earlier object still runs the old code


def test_an_object_first_digested_after_a_newer_load_gets_its_own_digest(tmp_path):
    folder = _folder(tmp_path)
    old = load_folder_modules(folder).get("steps").scale
    _edit_keeping_stat(folder / "steps.py")
    new = load_folder_modules(folder).get("steps").scale
    assert code_hash(old) != code_hash(new)
    assert code_hash(old) == code_hash(load_folder_modules(_folder(tmp_path / "copy")).get("steps").scale)


def test_an_edit_without_a_reload_keeps_the_running_code_digest(tmp_path):
    # Running an experiment loaded before an edit runs the old code: its results must
    # not be cached under the new code's digest (the next load would then hit them).
    folder = _folder(tmp_path)
    experiment = Experiment.from_yaml(folder)
    assert _ys(experiment.run()) == [[2.0], [2.0]]
    _edit_with_new_mtime(folder / "steps.py")
    assert _ys(experiment.run(strategy="rerun")) == [[2.0], [2.0]]
    assert _ys(Experiment.from_yaml(folder).run(strategy="rerun")) == [[3.0], [3.0]]


CLASS_STEPS = """\
from crystallize import PipelineStep

class Scale(PipelineStep):
    def __call__(self, data, ctx):
        return data * 2

    @property
    def params(self):
        return {}
"""


def test_a_step_class_is_digested_from_the_text_of_its_own_load(tmp_path):
    folder = _folder(tmp_path)
    steps = folder / "steps.py"
    steps.write_text(CLASS_STEPS)
    old = load_folder_modules(folder).get("steps").Scale
    stat = steps.stat()
    steps.write_text(CLASS_STEPS.replace("data * 2", "data * 3"))
    os.utime(steps, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    new = load_folder_modules(folder).get("steps").Scale
    assert code_hash(new) != code_hash(old)  # the old class, digested after the new load
    copy = _folder(tmp_path / "copy")
    (copy / "steps.py").write_text(CLASS_STEPS)
    assert code_hash(old) == code_hash(load_folder_modules(copy).get("steps").Scale)
