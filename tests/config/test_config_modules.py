"""Importing a folder's modules: fresh every load, from the folder only, stable names."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap

from crystallize import Experiment
from crystallize.config.modules import folder_token, load_folder_modules, package_name, token_folder

STEPS_V1 = """
from crystallize import pipeline_step


@pipeline_step()
def total(data):
    return data, {"total": 1}
"""


def test_reload_picks_up_an_edited_steps_file(make_folder):
    folder = make_folder("demo", "datasource: constant\nsteps: [total]\n", steps=STEPS_V1)
    first = Experiment.from_yaml(folder).run()
    # Same size, same second: byte-code caches keyed on mtime would miss this edit.
    (folder / "steps.py").write_text(textwrap.dedent(STEPS_V1).replace('"total": 1', '"total": 2'))
    second = Experiment.from_yaml(folder).run()
    assert first.metrics.baseline.metrics["total"] == [1]
    assert second.metrics.baseline.metrics["total"] == [2]
    assert not (folder / "__pycache__").exists()


def test_modules_come_from_the_folder_not_sys_path(make_folder, tmp_path, monkeypatch):
    decoy = tmp_path / "decoy"
    decoy.mkdir()
    (decoy / "steps.py").write_text("raise RuntimeError('wrong steps module')\n")
    monkeypatch.syspath_prepend(str(decoy))
    folder = make_folder("demo", "datasource: constant\nsteps: [total]\n")
    assert Experiment.from_yaml(folder).run().metrics.baseline.metrics["total"] == [3.0]


def test_module_names_are_stable_and_decodable(make_folder):
    folder = make_folder("demo")
    assert folder_token(folder) == folder_token(folder / "." )
    assert token_folder(folder_token(folder)) == folder.resolve()
    assert token_folder("not-a-token") is None
    modules = load_folder_modules(folder)
    assert modules.package == package_name(folder)
    assert modules.get("steps").__name__ == f"{package_name(folder)}.steps"
    assert modules.get("verifiers") is None
    assert sys.modules[f"{package_name(folder)}.steps"] is modules.get("steps")
    again = load_folder_modules(folder)
    assert again.get("steps") is not modules.get("steps")  # executed afresh


def test_a_new_process_reimports_steps_by_name(make_folder, tmp_path):
    folder = make_folder("demo", "datasource: constant\nsteps: [{scale: {factor: 3}}]\n")
    experiment = Experiment.from_yaml(folder)
    payload = tmp_path / "experiment.pkl"
    payload.write_bytes(pickle.dumps(experiment))
    script = (
        "import pickle, sys; "
        "e = pickle.loads(open(sys.argv[1], 'rb').read()); "
        "print(e.apply(data=[1, 2]))"
    )
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run([sys.executable, "-c", script, str(payload)], capture_output=True, text=True, env=env, cwd=tmp_path, check=True)
    assert out.stdout.strip() == "[3, 6]"
