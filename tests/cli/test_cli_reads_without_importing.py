"""Commands that only read stored runs (``show``, ``runs``, ``report``, ``diff``,
``delete``, ``compact``) read config.yaml files and the store: they never import an
experiment folder's Python modules, the named one's or any other's."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from crystallize.cli.main import main

ALPHA_CONFIG = '''
name: alpha
replicates: 2
datasource: numbers
steps: [add_delta, total]
treatments:
  shifted: {delta: 3.0}
plugins:
  seed: {seed: 5}
  artifacts: {root_dir: store}
'''


def marker(folder: str, module: str) -> str:
    """A line that, when its module is imported, writes ``ran-<folder>-<module>``."""
    return f'\nimport pathlib\npathlib.Path("ran-{folder}-{module}").write_text("x")\n'


def ran(tmp_path: Path) -> list[str]:
    """The markers written so far."""
    return sorted(path.name for path in tmp_path.glob("ran-*"))


@pytest.fixture
def project(make_experiment, tmp_path, capsys) -> tuple[str, str]:
    """``alpha`` (root_dir: store) with two stored runs, and ``beta``; every module of
    both writes a marker when imported. Returns alpha's run ids, oldest first."""
    alpha = make_experiment("alpha", config=ALPHA_CONFIG)
    beta = make_experiment("beta")
    for folder, modules in ((alpha, ("datasources", "steps")), (beta, ("datasources", "steps", "verifiers", "outputs"))):
        for module in modules:
            with (folder / f"{module}.py").open("a", encoding="utf-8") as file:
                file.write(marker(folder.name, module))
    run_ids = []
    for _ in range(2):
        assert main(["run", "alpha", "--json"]) == 0
        run_ids.append(json.loads(capsys.readouterr().out)["run_id"])
    assert "ran-beta-verifiers" in ran(tmp_path)  # running imports folders, as it must
    for path in tmp_path.glob("ran-*"):
        path.unlink()
    return run_ids[0], run_ids[1]


def test_read_only_commands_import_no_experiment_code(project, tmp_path, capsys):
    first, latest = project
    expected = {
        ("show", "alpha", "--no-chart"): f"Run {latest} of 'alpha'",
        ("show", "alpha", "--run", first[:8], "--no-chart"): f"Run {first} of 'alpha'",
        ("runs", "alpha"): "Runs of 'alpha' in store:",
        ("report", "alpha", "-o", "r.html"): f"Wrote the report of run {latest} of 'alpha' to r.html",
        ("diff", first, latest): first,
        ("delete", "alpha", "--keep", "1", "--dry-run"): "Nothing deleted (--dry-run).",
        ("compact", "alpha"): "Compacted store/crystallize.db",
        ("show", "experiments/alpha", "--no-chart"): f"Run {latest} of 'alpha'",
        ("runs", "experiments/alpha/config.yaml"): "Runs of 'alpha' in store:",
    }
    for args, output in expected.items():
        assert main(list(args)) == 0, (args, capsys.readouterr())
        out = capsys.readouterr().out
        assert output in out, (args, out)
        assert ran(tmp_path) == [], args
    assert latest in Path("r.html").read_text(encoding="utf-8")


def test_runs_json_of_a_name_imports_nothing(project, tmp_path, capsys):
    first, latest = project
    assert main(["runs", "alpha", "--json"]) == 0
    assert [row["run_id"] for row in json.loads(capsys.readouterr().out)] == [latest, first]
    assert ran(tmp_path) == []


def test_a_folder_whose_code_is_broken_still_shows_its_runs(project, tmp_path, capsys):
    """Given by path, the folder's name and store are read from its config.yaml alone."""
    _, latest = project
    Path("experiments/alpha/steps.py").write_text("raise RuntimeError('broken on import')\n", encoding="utf-8")
    for args in (("runs", "experiments/alpha"), ("show", "experiments/alpha", "--no-chart")):
        assert main(list(args)) == 0, (args, capsys.readouterr())
        assert latest in capsys.readouterr().out
    assert main(["show", "alpha", "--no-chart"]) == 0  # and by name
    assert latest in capsys.readouterr().out
    assert ran(tmp_path) == []


def test_unknown_names_and_paths_are_still_user_errors(project, tmp_path, capsys):
    assert main(["runs", "alpah"]) == 2
    assert "no experiment of that name is found here" in capsys.readouterr().err
    assert main(["runs", "experiments/gone"]) == 2
    assert "experiments/gone: no such file or folder" in capsys.readouterr().err
    Path("empty").mkdir()
    assert main(["runs", "empty/"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert ran(tmp_path) == []


def test_declared_folders_read_names_and_roots_without_importing(tmp_path):
    from crystallize.config.discovery import DeclaredFolder, declared_folder, declared_folders

    configs = {
        "named": "name: custom\nplugins: {artifacts: {root_dir: elsewhere}}\n",
        "plain": "datasource: numbers\nsteps: [total]\n",
        "nostore": "plugins:\n  artifacts:\n    root_dir: null\n",
        "unreadable": "name: [unclosed\n",
        "odd": "plugins: {artifacts: {root_dir: 3}}\n",
    }
    for folder, text in configs.items():
        (tmp_path / "experiments" / folder).mkdir(parents=True)
        (tmp_path / "experiments" / folder / "config.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
        (tmp_path / "experiments" / folder / "steps.py").write_text(marker(folder, "steps"), encoding="utf-8")
    found = {folder.name: folder.root for folder in declared_folders(tmp_path)}
    assert found == {
        "custom": Path("elsewhere"),
        "nostore": None,
        "odd": Path("data"),
        "plain": Path("data"),
        "unreadable": Path("data"),
    }
    config = tmp_path / "experiments" / "plain" / "config.yaml"
    assert declared_folder(config) == DeclaredFolder("plain", Path("data"), config)
    assert ran(tmp_path) == []


def test_a_broken_config_given_by_path_is_reported_not_taken_as_never_run(project, tmp_path, capsys):
    config = tmp_path / "experiments" / "alpha" / "config.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "plugins: [unclosed\n", encoding="utf-8")
    assert main(["runs", "experiments/alpha"]) == 2
    err = capsys.readouterr().err
    assert "config.yaml" in err and "line" in err
    assert "No runs" not in err


def test_runs_are_found_under_every_folder_declaring_the_name(make_experiment, tmp_path, capsys):
    """Two folders declare one name and the first cannot load: run uses the second; runs finds it."""
    broken = make_experiment("a", config=ALPHA_CONFIG.replace("name: alpha", "name: dup").replace("root_dir: store", "root_dir: ra"))
    make_experiment("b", config=ALPHA_CONFIG.replace("name: alpha", "name: dup").replace("root_dir: store", "root_dir: rb"))
    (broken / "steps.py").write_text("this is not python\n", encoding="utf-8")
    assert main(["run", "dup", "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    assert main(["runs", "dup", "--json"]) == 0
    assert [row["run_id"] for row in json.loads(capsys.readouterr().out)] == [run_id]
