"""``crystallize diff`` shortens long values, but never so far that two different values
look the same: it then shows the part where they differ."""

from __future__ import annotations

import json

OLD = "/datasets/experiments/2025/very/long/path/to/checkpoints/model_epoch_10.pt"
NEW = "/datasets/experiments/2025/very/long/path/to/checkpoints/model_epoch_20.pt"


def _run_id(cli, *args: str) -> str:
    proc = cli("run", "numbers", "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["run_id"]


def _sides(text: str, path: str) -> list[str]:
    """The two values shown on the ``path: A → B`` line of ``crystallize diff``."""
    (line,) = [line.strip() for line in text.splitlines() if line.strip().startswith(f"{path}: ")]
    return line.removeprefix(f"{path}: ").split(" → ")


def _assert_shows_the_ends(before: str, after: str) -> None:
    assert before != after
    assert before.startswith("…") and before.endswith("model_epoch_10.pt")
    assert after.startswith("…") and after.endswith("model_epoch_20.pt")
    assert len(before) <= 48 and len(after) <= 48


def test_long_values_that_differ_late_show_where_they_differ(cli, make_experiment):
    make_experiment("numbers")
    a = _run_id(cli, "--set", f"treatments.shifted.path={OLD}")
    b = _run_id(cli, "--set", f"treatments.shifted.path={NEW}")
    _assert_shows_the_ends(*_sides(cli("diff", a, b).stdout, "treatments.shifted.path"))


def test_treatments_with_long_values_show_where_they_differ(cli, make_experiment):
    make_experiment("numbers")
    run = _run_id(cli, "--set", f"treatments.shifted.path={OLD}", "--set", f"treatments.doubled.path={NEW}")
    _assert_shows_the_ends(*_sides(cli("diff", run, "--treatments", "shifted", "doubled").stdout, "path"))


def test_shown_change_keeps_short_and_visibly_different_values():
    from crystallize.cli.diff import shown_change

    assert shown_change(5, 7) == ("5", "7")
    long = "x" * 60
    assert shown_change(long, "y" + long) == ("x" * 47 + "…", "y" + "x" * 46 + "…")  # the start differs


def test_shown_change_never_shows_two_values_alike():
    from crystallize.cli.diff import shown_change

    cases = [
        (OLD, NEW),
        ("a" * 100 + "1" + "b" * 100, "a" * 100 + "2" + "b" * 100),  # differ in the middle
        ("a" * 80, "a" * 81),  # one is the start of the other
        ("1", 1),  # a string and a number
        ({"k": "v" * 60 + "1"}, {"k": "v" * 60 + "2"}),
    ]
    for a, b in cases:
        shown = shown_change(a, b)
        assert shown[0] != shown[1], (a, b)
        assert all(len(text) <= 48 for text in shown), shown
