"""Paths no file can have, and paths that name something else than a config: user errors.

A name or path argument, ``--root`` or ``plugins.artifacts.root_dir`` that is too long
or holds a NUL byte, a config.yaml that is a symlink loop or a directory, a device or a
file that is not a config: each is one ``Error:`` line naming what is wrong, exit code 2
(never ``Error: unexpected ...`` with exit code 1).
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import pytest
from cli_assertions import assert_one_line_user_error

from crystallize.cli.errors import EXIT_FAILED, EXIT_USER_ERROR, report

LONG_NAME = "y" * 256
LONG_ROOT = "z" * 300

ROOT_CONFIG = """
name: {name}
replicates: 1
datasource: numbers
steps: [add_delta, total]
plugins:
  artifacts: {{root_dir: {root}}}
"""

COMMANDS = ["run", "show", "runs", "report", "delete", "compact"]


@pytest.fixture
def numbers(make_experiment):
    return make_experiment("numbers", replicates=1)


# -- too long names and paths -------------------------------------------------------------
@pytest.mark.parametrize("command", COMMANDS)
def test_a_too_long_name_is_a_user_error(cli, numbers, command):
    proc = cli(command, LONG_NAME)
    assert_one_line_user_error(proc, "the experiment name or path 'yyyy", "(256 characters) is too long")


@pytest.mark.parametrize(
    "args",
    [
        ("run", f"experiments/{LONG_NAME}"),
        ("run", f"{LONG_NAME}.yaml"),
        ("runs", f"experiments/{LONG_NAME}"),
        ("compact", f"{LONG_NAME}/config.yaml"),
    ],
    ids=["run-folder", "run-yaml", "runs-folder", "compact-config"],
)
def test_a_too_long_path_is_a_user_error(cli, numbers, args):
    proc = cli(*args)
    assert_one_line_user_error(proc, "the path '", "is too long")


def test_a_too_long_root_option_is_a_user_error(cli, numbers):
    proc = cli("runs", "numbers", "--root", LONG_NAME)
    assert_one_line_user_error(proc, "--root 'yyyy", "(256 characters) is too long")


# -- root_dir that no path can be ---------------------------------------------------------
@pytest.mark.parametrize("command", ["run", "runs", "show", "compact"])
def test_a_too_long_root_dir_in_config_is_a_user_error(cli, make_experiment, command):
    make_experiment("long", config=ROOT_CONFIG.format(name="long", root=LONG_ROOT))
    proc = cli(command, "long")
    assert_one_line_user_error(
        proc, os.path.join("experiments", "long", "config.yaml"), "plugins.artifacts.root_dir: 'zzzz",
        "(300 characters) is too long",
    )
    assert "running" not in proc.stdout


@pytest.mark.parametrize("command", ["run", "runs", "show", "compact"])
def test_a_root_dir_holding_a_nul_byte_is_a_user_error(cli, make_experiment, command):
    make_experiment("nul", config=ROOT_CONFIG.format(name="nul", root='"nul\\0x"'))
    proc = cli(command, "nul")
    assert_one_line_user_error(proc, "plugins.artifacts.root_dir", "holds a NUL byte")
    assert "running" not in proc.stdout


def test_a_root_dir_by_path_is_checked_too(cli, make_experiment):
    make_experiment("long", config=ROOT_CONFIG.format(name="long", root=LONG_ROOT))
    assert_one_line_user_error(cli("run", "experiments/long"), "plugins.artifacts.root_dir", "is too long")
    assert_one_line_user_error(cli("runs", "experiments/long/config.yaml"), "plugins.artifacts.root_dir", "is too long")


def test_another_experiments_bad_root_dir_does_not_stop_a_search(cli, numbers, make_experiment):
    make_experiment("long", config=ROOT_CONFIG.format(name="long", root=LONG_ROOT))
    assert cli("run", "numbers").returncode == 0
    proc = cli("show", "numbers", "--run", "ffffffff")
    assert_one_line_user_error(proc, "no run with id 'ffffffff'")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [(LONG_ROOT, "(300 characters) is too long"), ('"a\\0b"', "holds a NUL byte"), ('" "', "is blank")],
    ids=["too-long", "nul", "blank"],
)
def test_a_bad_root_dir_setting_is_a_user_error(cli, numbers, value, fragment):
    proc = cli("run", "numbers", "-s", f"plugins.artifacts.root_dir={value}")
    assert_one_line_user_error(proc, "--set plugins.artifacts.root_dir: ", fragment)
    assert "running" not in proc.stdout


# -- what the path names is not a config --------------------------------------------------
symlinks = pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need privileges on Windows")


@symlinks
@pytest.mark.parametrize("command", ["run", "runs", "show"])
def test_a_config_yaml_that_is_a_symlink_loop_is_a_user_error(cli, tmp_path, make_experiment, command):
    folder = make_experiment("loop")
    (folder / "config.yaml").unlink()
    (folder / "config.yaml").symlink_to("other")
    (folder / "other").symlink_to("config.yaml")
    proc = cli(command, str(folder))
    assert_one_line_user_error(proc, "config.yaml cannot be read: it is a symlink loop")
    proc = cli(command, str(folder / "config.yaml"))
    assert_one_line_user_error(proc, "config.yaml cannot be read: it is a symlink loop")


@symlinks
def test_a_dangling_config_link_says_where_it_points(cli, make_experiment):
    folder = make_experiment("dangling")
    (folder / "config.yaml").unlink()
    (folder / "config.yaml").symlink_to("gone.yaml")
    proc = cli("run", "experiments/dangling/config.yaml")
    assert_one_line_user_error(proc, "is a symbolic link to gone.yaml, which does not exist")


@pytest.mark.parametrize("command", ["run", "runs"])
def test_a_config_yaml_that_is_a_directory_is_a_user_error(cli, tmp_path, command):
    (tmp_path / "odd" / "config.yaml").mkdir(parents=True)
    proc = cli(command, str(tmp_path / "odd" / "config.yaml"))
    assert_one_line_user_error(proc, os.path.join("odd", "config.yaml") + " is a directory, not a config file")
    assert "config.yaml/config.yaml" not in proc.stderr
    proc = cli(command, "odd/")  # the folder holding it
    assert_one_line_user_error(proc, os.path.join("odd", "config.yaml") + " is a directory, not a config file")


@pytest.mark.skipif(not Path("/dev/null").exists(), reason="needs /dev/null")
@pytest.mark.parametrize("command", ["run", "runs"])
def test_a_device_is_not_a_regular_file(cli, command):
    proc = cli(command, "/dev/null")
    assert_one_line_user_error(proc, "/dev/null is not a regular file")
    assert "no such file" not in proc.stderr


@pytest.mark.parametrize("command", ["run", "runs", "show"])
def test_a_file_that_is_not_a_config_says_so(cli, tmp_path, command):
    (tmp_path / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/bin/sh\n", encoding="utf-8")
    proc = cli(command, "./passwd")
    assert_one_line_user_error(proc, "passwd is not a config.yaml")
    assert "mapping" not in proc.stderr.split("(")[0]


def test_a_config_of_another_name_still_runs(cli, make_experiment):
    folder = make_experiment("numbers", replicates=1)
    (folder / "settings.txt").write_text((folder / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    proc = cli("run", "experiments/numbers/settings.txt")
    assert proc.returncode == 0, proc.stderr


# -- the safety net -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("exc", "fragment"),
    [
        (OSError(errno.ENAMETOOLONG, "File name too long", "q" * 300), "(300 characters) is too long"),
        (OSError(errno.ELOOP, "Too many levels of symbolic links", "a/b"), "'a/b' cannot be read: it is a symlink loop"),
        (RuntimeError("Symlink loop from '/x/config.yaml'"), "'/x/config.yaml' cannot be read: it is a symlink loop"),
        (ValueError("embedded null byte"), "a path holds a NUL byte"),
    ],
    ids=["enametoolong", "eloop", "pathlib-loop", "nul"],
)
def test_path_errors_from_the_os_are_user_errors(capsys, exc, fragment):
    assert report(exc) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and "unexpected" not in err
    assert fragment in err


def test_other_os_errors_stay_unexpected(capsys):
    assert report(OSError(errno.EIO, "Input/output error", "disk")) == EXIT_FAILED
    assert report(ValueError("something else")) == EXIT_FAILED
    assert "unexpected" in capsys.readouterr().err
