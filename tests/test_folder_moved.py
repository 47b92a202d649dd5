"""A folder experiment moved or copied to another absolute path (a laptop checkout
copied to a cluster, a colleague's clone) keeps its fingerprint: its runs resume and its
cached steps hit. The digests name the folder's modules relative to the folder."""

from __future__ import annotations

import shutil
import sys
import textwrap

import pytest

from crystallize import Experiment
from crystallize.code_digest import code_hash
from crystallize.config.modules import (
    forget_folder_modules,
    load_folder_modules,
    portable_module_name,
)
from crystallize.fingerprint import fingerprint, spec_of
from crystallize.user_code import qualified_name

CONFIG = """
name: demo
replicates: 2
datasource: numbers
steps:
  - square
  - score
treatments:
  big: {k: 3}
plugins:
  seed: {seed: 1}
outputs:
  summary: {file_name: summary.json, loader: load_json, writer: dump_json}
"""

FILES = {
    "datasources.py": """
        from crystallize import data_source


        @data_source
        def numbers(ctx):
            return [1, 2, 3]
    """,
    "outputs.py": """
        import json


        def dump_json(value):
            return json.dumps(value).encode()


        def load_json(data):
            return json.loads(data)
    """,
    "steps.py": """
        from pathlib import Path

        from crystallize import pipeline_step
        from crystallize.artifacts import Artifact

        from . import outputs


        @pipeline_step(cacheable=True)
        def square(data, *, k=2):
            here = Path(__file__).parent  # where the module lives is not its code

            class Scaled:  # a class body reads the global __name__
                power = k

            return [x ** Scaled.power for x in data] if here.is_dir() else []


        @pipeline_step(cacheable=True)
        def score(data, summary: Artifact):
            summary.write({"t": sum(data)})
            return data, {"total": sum(data), "codec": outputs.dump_json.__name__}
    """,
}


@pytest.fixture
def project(tmp_path, monkeypatch):
    """``<tmp>/laptop``: a project with ``experiments/demo``; the working directory."""
    root = tmp_path / "laptop"
    folder = root / "experiments" / "demo"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(CONFIG)
    for name, text in FILES.items():
        (folder / name).write_text(textwrap.dedent(text))
    monkeypatch.chdir(root)
    yield root
    for moved in tmp_path.iterdir():
        forget_folder_modules(moved / "experiments" / "demo")


def _move(project, monkeypatch, name="cluster"):
    """Copy the project (with its data) to a sibling folder and work there."""
    target = project.parent / name
    shutil.copytree(project, target)
    monkeypatch.chdir(target)
    return target / "experiments" / "demo"


def test_a_moved_folder_keeps_its_fingerprint(project, monkeypatch):
    before = spec_of(Experiment.from_yaml(project / "experiments" / "demo"))
    after = spec_of(Experiment.from_yaml(_move(project, monkeypatch)))
    assert after == before
    assert fingerprint(after) == fingerprint(before)


def test_a_moved_folder_resumes_its_run(project, monkeypatch):
    first = Experiment.from_yaml(project / "experiments" / "demo").run()
    assert not first.errors
    again = Experiment.from_yaml(_move(project, monkeypatch)).run(strategy="resume")
    assert again.info["computed"] == 0
    assert again.metrics.baseline.metrics["total"] == first.metrics.baseline.metrics["total"]


def test_a_moved_folder_hits_its_step_cache(project, monkeypatch):
    Experiment.from_yaml(project / "experiments" / "demo").run()
    again = Experiment.from_yaml(_move(project, monkeypatch)).run(strategy="rerun")
    steps = [step for replicate in again.provenance["baseline"] for step in replicate["steps"]]
    assert [(s["name"], s["cache_hit"], s["cache_miss_reason"]) for s in steps] == [
        (name, True, None) for _ in range(2) for name in ("square", "score")
    ]


def test_folder_modules_are_named_relative_to_their_folder_in_digests(project, monkeypatch):
    laptop = load_folder_modules(project / "experiments" / "demo").get("outputs")
    cluster = load_folder_modules(_move(project, monkeypatch)).get("outputs")
    assert laptop.__name__ != cluster.__name__  # the real names differ: workers import by them
    assert qualified_name(laptop.dump_json) == qualified_name(cluster.dump_json)
    assert qualified_name(cluster.dump_json) == "crystallize.config._folders.<folder>.outputs.dump_json"
    assert code_hash(laptop.dump_json) == code_hash(cluster.dump_json)


def test_other_module_names_are_kept():
    assert portable_module_name("crystallize.config.modules") == "crystallize.config.modules"
    assert portable_module_name("mypackage.steps") == "mypackage.steps"
    assert qualified_name(sys.modules[__name__].test_other_module_names_are_kept).startswith(__name__)


def test_a_datasource_holding_the_folder_s_sources_keeps_its_state(project, monkeypatch):
    # Several datasources at once: the combined source's state holds the folder's
    # sources, which pickle as references to their factories by module name.
    config = project / "experiments" / "demo" / "config.yaml"
    config.write_text(CONFIG.replace("datasource: numbers", "datasource: {a: numbers, b: numbers}"))
    before = spec_of(Experiment.from_yaml(project / "experiments" / "demo"))
    after = spec_of(Experiment.from_yaml(_move(project, monkeypatch)))
    assert "state" in after["datasource"]
    assert after["datasource"] == before["datasource"]
