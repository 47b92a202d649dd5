"""``crystallize new``: scaffolds that run as created."""

from __future__ import annotations

import json
from pathlib import Path

from cli_assertions import assert_one_line_user_error


def test_new_skeleton_runs(cli, tmp_path):
    proc = cli("new", "first")
    assert proc.returncode == 0, proc.stderr
    assert "Created experiments/first/" in proc.stdout
    assert {p.name for p in (tmp_path / "experiments" / "first").iterdir()} == {
        "config.yaml", "datasources.py", "steps.py"
    }
    data = json.loads(cli("run", "first", "--json").stdout)
    assert len(data["metrics"]["baseline"]["total"]) == 3
    assert data["errors"] == []


def test_new_example_is_a_real_study(cli):
    assert cli("new", "study", "--example").returncode == 0
    proc = cli("run", "study")
    assert proc.returncode == 0, proc.stderr
    assert "Hypothesis 'smaller_error'" in proc.stdout
    assert "sample_200" in proc.stdout
    assert "Examples" in cli("list").stdout


def test_new_refuses_an_existing_folder_or_a_bad_name(cli):
    assert cli("new", "first").returncode == 0
    again = cli("new", "first")
    assert again.returncode == 2
    assert again.stderr.strip() == "Error: experiments/first already exists; choose another name or remove it."
    assert cli("new", "../escape").returncode == 2
    trailing_newline = cli("new", "nl\n")
    assert trailing_newline.returncode == 2 and not (Path("experiments") / "nl\n").exists()


def test_new_refuses_a_name_taken_elsewhere_in_the_experiments(cli, tmp_path):
    assert cli("new", "study", "--example").returncode == 0
    proc = cli("new", "study", "--example", "--dir", "experiments/sub")
    assert_one_line_user_error(proc, "an experiment named 'study' already exists in experiments/study")
    assert not (tmp_path / "experiments" / "sub").exists()
    assert cli("run", "study", "--json").returncode == 0  # discovery is not broken


def test_new_reads_the_name_a_config_declares(cli, make_experiment, tmp_path):
    folder = make_experiment("numbers")
    config = folder / "config.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("name: numbers", "name: alpha"), encoding="utf-8")
    proc = cli("new", "alpha", "--dir", "experiments/other")
    assert_one_line_user_error(proc, "'alpha' already exists in experiments/numbers")
    assert not (tmp_path / "experiments" / "other").exists()


def test_new_outside_the_experiments_is_run_by_path(cli, tmp_path):
    assert cli("new", "study").returncode == 0
    proc = cli("new", "other", "--dir", "elsewhere")  # not discovered with experiments/study
    assert proc.returncode == 0, proc.stderr
    assert "Run it with: crystallize run elsewhere/other" in proc.stdout
    assert cli("run", "elsewhere/other", "--json").returncode == 0


def test_new_outside_the_experiments_refuses_a_name_they_use(cli, tmp_path):
    """Both folders would store their runs as 'study' in data/: runs, show and delete
    would mix them."""
    assert cli("new", "study").returncode == 0
    proc = cli("new", "study", "--dir", "elsewhere")
    assert_one_line_user_error(
        proc, "an experiment named 'study' already exists in experiments/study; both would store their runs"
    )
    assert not (tmp_path / "elsewhere").exists()


def test_new_folder_path_mistakes_are_user_errors(cli, tmp_path):
    assert cli("new", "study").returncode == 0
    cases = {
        "experiments/study/config.yaml": "experiments/study/config.yaml is a file, not a directory",
        "": "--dir is empty",
    }
    if Path("/proc/self").is_dir():  # procfs takes no new folders, even from root
        cases["/proc/nope"] = "cannot create the experiment folder /proc/nope/x: the folder /proc does not accept"
    for directory, message in cases.items():
        assert_one_line_user_error(cli("new", "x", "--dir", directory), message)
    assert not (tmp_path / "x").exists()


def test_new_without_permission_is_a_user_error_and_leaves_nothing(monkeypatch, capsys, tmp_path):
    import errno

    from crystallize.cli.main import main

    real_write = Path.write_text

    def refuse(self, *args, **kwargs):  # root ignores read-only folders, so simulate one
        if self.name == "steps.py":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", refuse)
    assert main(["new", "locked"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "Error: cannot create the experiment folder experiments/locked: "
        "no permission to write experiments/locked/steps.py."
    )
    assert not (tmp_path / "experiments" / "locked").exists()  # the half-made folder is removed


def test_printed_commands_for_a_path_with_a_space_paste_as_they_are(cli, tmp_path):
    # "Every command the CLI prints for you to paste is quoted this way" (docs/cli.md).
    import shlex

    (tmp_path / "experiments").mkdir()
    proc = cli("new", "fresh", "--dir", "else where")
    assert proc.returncode == 0, proc.stderr
    hint = proc.stdout.split("Run it with: ", 1)[1].strip()
    assert hint == "crystallize run 'else where/fresh'"
    assert cli(*shlex.split(hint)[1:]).returncode == 0
    missing = cli("show", "else where/fresh", "--run", "zzz")
    assert "List the runs with: crystallize runs 'else where/fresh'" in missing.stderr
    empty = cli("show", "else where/fresh", "--run", " ")
    assert "(see crystallize runs 'else where/fresh')" in empty.stderr
