"""A confirmation's CODE_CHANGED comes from the run's structured code-drift flag, not
from the wording of its warning."""

from __future__ import annotations

import sys
import textwrap

import pytest

from crystallize import explore
from crystallize.confirm.explore import CODE_CHANGED, VALID
from crystallize.session import RunSession
from crystallize.store import open_store

SOURCE = textwrap.dedent(
    """
    import importlib
    import random
    import sys
    from pathlib import Path

    ARMED = Path(__file__).with_name("armed")


    def noise():
        return random.gauss(0, 1)  # v1


    def trial(config, ctx):
        if ARMED.exists() and ctx["replicate"] == 1:  # its helper is edited and loaded meanwhile
            path = Path(__file__)
            path.write_text(path.read_text().replace("# v1", "# v2 (edited)"))
            importlib.reload(sys.modules[__name__])
        ctx.record("score", config["skill"] + noise())
    """
)


@pytest.fixture
def trial(tmp_path, monkeypatch):
    (tmp_path / "self_editing_trial.py").write_text(SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("self_editing_trial", None)
    import self_editing_trial

    yield self_editing_trial
    sys.modules.pop("self_editing_trial", None)


def _confirm(trial, tmp_path, armed: bool):
    exploration = explore(trial.trial, {"a": {"skill": 0}, "b": {"skill": 3}}, replicates=3, seed=1)
    if armed:
        (tmp_path / "armed").touch()
    return exploration.crystallize("b.score > a.score", replicates=4)


def test_code_edited_during_the_confirmation_is_flagged_and_stored(trial, tmp_path):
    confirmation = _confirm(trial, tmp_path, armed=True)
    assert CODE_CHANGED in confirmation.integrity
    assert any(w.startswith("Code changed during the run") for w in confirmation.result.warnings)
    with open_store("data") as store:
        summary = store.get_run(confirmation.confirmation_run).summary
    assert summary["code_changed"] is True


def test_the_flag_does_not_depend_on_the_warnings_wording(trial, tmp_path, monkeypatch):
    warn = RunSession.warn
    monkeypatch.setattr(RunSession, "warn", lambda self, message: warn(self, message.replace("Code changed", "Code drift")))
    confirmation = _confirm(trial, tmp_path, armed=True)
    assert not any("Code changed" in w for w in confirmation.result.warnings)
    assert CODE_CHANGED in confirmation.integrity


def test_unchanged_code_is_valid_and_not_flagged(trial, tmp_path):
    confirmation = _confirm(trial, tmp_path, armed=False)
    assert CODE_CHANGED not in confirmation.integrity
    with open_store("data") as store:
        summary = store.get_run(confirmation.confirmation_run).summary
    assert "code_changed" not in summary
    assert confirmation.integrity == VALID
