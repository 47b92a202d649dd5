"""Names Windows cannot use are refused on Windows and warned about elsewhere (artifact
folders move between machines).

Such names: ``< > : " | ? *``, a trailing dot or space (Windows drops it, so ``exp.``
would be ``exp``) and device names (``con``, ``NUL``, ``aux.json``, ``com1``...). Letters
of any script, digits, ``=``, ``-``, ``_`` and spaces inside a name are fine everywhere.
"""

from __future__ import annotations

import warnings

import pytest

from crystallize import (
    Artifact,
    ArtifactPlugin,
    Experiment,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
    treatment,
)
from crystallize.exceptions import ExperimentValidationError
from crystallize.store import artifacts as store_artifacts
from crystallize.store.artifacts import check_path_component, validate_artifact_name


@pytest.fixture
def on_windows(monkeypatch):
    """Make the name checks behave as on Windows."""
    monkeypatch.setattr(store_artifacts.sys, "platform", "win32")


@pytest.fixture
def fresh_warnings():
    """Show every warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        yield

#: (name, words of the rule in the message, the suggested replacement)
WINDOWS_NAMES = [
    ("con", "device name", "con_"),
    ("NUL", "device name", "NUL_"),
    ("aux.json", "device name", "aux_.json"),
    ("com1", "device name", "com1_"),
    ("Lpt9.txt", "device name", "Lpt9_.txt"),
    ("model:v2.pkl", "':'", "model-v2.pkl"),
    ("lr=0.1?", "'?'", "lr=0.1"),
    ("a*b", "'*'", "ab"),
    ("a<b>", "'<', '>'", "a-b-"),
    ('say"hi"', "'\"'", "sayhi"),
    ("a|b", "'|'", "a-b"),
    ("trailing.", "ends with a dot", "trailing"),
    ("trailing ", "ends with a space", "trailing"),
]

PORTABLE = ["lr=0.1", "treatment-1", "high lr", "résumé", "学习率", "console", "nul_", "com10",
            "auxiliary.json", ".hidden", "x..y", "v2.pkl"]


@pytest.mark.parametrize(("name", "rule", "suggestion"), WINDOWS_NAMES)
def test_artifact_names_windows_cannot_use_are_refused_there_with_a_replacement(on_windows, name, rule, suggestion):
    with pytest.raises(ValueError) as info:
        validate_artifact_name(name)
    message = str(info.value)
    assert rule in message and "Windows" in message
    assert f"e.g. {suggestion!r}" in message
    validate_artifact_name(suggestion)  # the suggestion itself is accepted


@pytest.mark.parametrize(("name", "rule", "suggestion"), WINDOWS_NAMES)
def test_experiment_and_condition_names_windows_cannot_use_are_refused_there(on_windows, name, rule, suggestion):
    for what in ("experiment", "condition"):
        with pytest.raises(ValueError, match=f"Invalid {what} name") as info:
            check_path_component(name, what)
        assert rule in str(info.value)


@pytest.mark.parametrize(("name", "rule", "suggestion"), WINDOWS_NAMES)
def test_elsewhere_such_names_work_with_one_warning_naming_a_portable_replacement(fresh_warnings, name, rule, suggestion):
    with pytest.warns(UserWarning, match="Windows") as caught:
        assert validate_artifact_name(name) == name
    message = str(caught[0].message)
    assert rule in message and f"e.g. {suggestion!r}" in message
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("default")  # Python's usual action: once per place
        for _ in range(3):  # say, every replicate of a run
            assert check_path_component(name, "condition") == name
    assert len(again) == 1


def test_the_warning_comes_again_for_a_later_run_not_once_per_process():
    """A long-lived process (the interactive interface, a notebook) runs the experiment
    again: once the warning filters are set up anew (each run of the interface opens its
    own capture), the name is warned about again, once."""
    with warnings.catch_warnings(record=True) as caught:
        for _run in range(2):
            warnings.simplefilter("default")
            for _replicate in range(3):
                check_path_component("lr=0.1?", "condition")
    assert [str(w.message).split(" contains")[0] for w in caught] == ["The name 'lr=0.1?'"] * 2


def test_a_windows_name_inside_a_path_is_refused_and_the_whole_path_suggested(on_windows):
    with pytest.raises(ValueError, match="device name") as info:
        validate_artifact_name("plots/nul/loss.png")
    assert "e.g. 'plots/nul_/loss.png'" in str(info.value)


def test_a_colon_is_refused_as_a_windows_character_not_only_as_a_drive_letter(on_windows):
    with pytest.raises(ValueError) as info:
        check_path_component("run:1", "condition")
    message = str(info.value)
    assert "':'" in message and "Windows does not allow" in message and "e.g. 'run-1'" in message


def test_a_leading_drive_letter_is_refused_everywhere_with_a_relative_suggestion():
    for name in ("C:/x.txt", "x:1"):
        with pytest.raises(ValueError, match="drive letter") as info:
            validate_artifact_name(name)
        assert f"such as {name.replace(':', '-')!r}" in str(info.value)


@pytest.mark.parametrize("name", PORTABLE)
def test_portable_names_stay_allowed(on_windows, name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert validate_artifact_name(name) == name
    assert check_path_component(name, "condition") == name
    assert check_path_component(name, "experiment") == name


@data_source
def zero(ctx):
    return 0


@pipeline_step()
def save(data, ctx, out: Artifact, *, k=0):
    out.write(b"hello")
    return data, {"x": 1.0}


def _experiment(root, name, condition):
    return Experiment(
        datasource=zero(),
        pipeline=Pipeline([save(out=Artifact("out.bin"))]),
        plugins=[SeedPlugin(seed=1), ArtifactPlugin(root_dir=str(root))],
        treatments=[treatment(condition, {"k": 1})],
        replicates=1,
        name=name,
    )


@pytest.mark.parametrize(("name", "condition", "bad"), [
    ("con", "ok", "con"), ("run:1", "ok", "run:1"), ("exp.", "ok", "exp."),
    ("exp", "aux", "aux"), ("exp", "lr=0.1?", "lr=0.1?"), ("exp", "fast ", "fast "),
])
def test_validate_refuses_experiment_and_treatment_names_windows_cannot_use(on_windows, tmp_path, name, condition, bad):
    with pytest.raises(ExperimentValidationError, match="on Windows also") as info:
        _experiment(tmp_path, name, condition).validate()
    assert repr(bad) in str(info.value) and "Windows" in str(info.value)
    with pytest.raises(ExperimentValidationError):
        _experiment(tmp_path, name, condition).run()
    assert not (tmp_path / "crystallize.db").exists()  # refused before anything was stored


def test_artifact_with_a_windows_name_is_refused_when_created(on_windows):
    with pytest.raises(ValueError, match="':'"):
        Artifact("model:v2.pkl")


def test_portable_unusual_names_still_run(tmp_path):
    result = _experiment(tmp_path, "high lr", "lr=0.1").run()
    assert not result.errors
    assert (tmp_path / "high lr" / "v0" / "lr=0.1" / "0" / "out.bin").read_bytes() == b"hello"


def test_elsewhere_a_run_with_such_names_works_and_warns(fresh_warnings, tmp_path):
    with pytest.warns(UserWarning, match="Windows"):
        result = _experiment(tmp_path, "run:1", "lr=0.1?").run()
    assert not result.errors
    assert (tmp_path / "run:1" / "v0" / "lr=0.1?" / "0" / "out.bin").read_bytes() == b"hello"


def test_a_lambda_treatment_gets_a_portable_name(fresh_warnings, tmp_path):
    from crystallize.experiment import as_treatment

    assert as_treatment(lambda ctx: ctx.add("k", 1)).name == "lambda"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "not portable" warning for its folder
        experiment = _experiment(tmp_path, "lambdas", "ok")
        experiment.treatments = [as_treatment(lambda ctx: ctx.add("k", 2))]
        assert not experiment.run().errors
