"""What the commands advise when they cannot write where they were told to: a read-only
working directory points to the option (or setting) choosing another place."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from cli_assertions import assert_one_line_user_error
from cli_support import crystallize_command

from crystallize.exceptions import StoreError
from crystallize.store import open_store

#: As root, directory permissions are only enforced without these capabilities.
DROP_CAPS = "-dac_override,-dac_read_search"


def unprivileged(command: list[str]) -> list[str]:
    """``command``, run so that directory permissions apply (dropping root's overrides)."""
    if os.geteuid() != 0:
        return command
    if shutil.which("setpriv") is None:
        pytest.skip("as root, directory permissions need setpriv to be enforced")
    return ["setpriv", f"--inh-caps={DROP_CAPS}", f"--bounding-set={DROP_CAPS}", *command]


def run_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``crystallize ARGS`` in ``folder``, without root's permission overrides."""
    environment = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1", "CRYSTALLIZE_DEBUG": "",
                   "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(unprivileged([*crystallize_command(), *args]), cwd=folder, env=environment,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def read_only(tmp_path: Path):
    """Make ``tmp_path`` (the working directory) read-only for the test's duration."""
    mode = tmp_path.stat().st_mode
    tmp_path.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    yield tmp_path
    tmp_path.chmod(mode)


def test_run_in_a_read_only_directory_points_to_the_root_dir_setting(make_experiment, read_only) -> None:
    make_experiment("demo")  # experiments/ itself stays writable
    read_only.joinpath("experiments").chmod(0o777)
    proc = run_in(read_only, "run", "demo")
    assert_one_line_user_error(
        proc, "Cannot create the data directory 'data'", "Permission denied",
        "-s plugins.artifacts.root_dir=PATH", "ArtifactPlugin(root_dir=...)",
    )
    assert "move the file away" not in proc.stderr


def test_a_file_in_the_way_of_the_data_directory_is_still_named(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a directory", encoding="utf-8")
    with pytest.raises(StoreError) as caught:
        open_store(tmp_path / "data" / "inner")
    message = str(caught.value)
    assert "is a file, not a directory" in message and "Move that file away" in message, message


def test_report_in_a_read_only_directory_points_to_output(make_experiment, cli, tmp_path: Path) -> None:
    make_experiment("demo", replicates=1)
    assert cli("run", "demo").returncode == 0
    mode = tmp_path.stat().st_mode
    tmp_path.chmod(0o555)
    try:
        proc = run_in(tmp_path, "report", "demo")
    finally:
        tmp_path.chmod(mode)
    assert_one_line_user_error(
        proc, "cannot write the report to report.html: no permission to write report.html",
        "choose another path with -o/--output",
    )
    assert not (tmp_path / "report.html").exists()

