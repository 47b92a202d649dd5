"""The run screen's ``l`` and ``x`` against a plan that went out of date (a malformed
``config.state.json``, a deleted folder, a config broken or changed), the new-experiment
dialog's error at full length, the TUI's own wording of library advice, and the footer
in an 80x24 terminal."""

from __future__ import annotations

import shutil

import pytest
from test_tui_app import (
    SIZE,
    highlight,
    labels,
    log_of,
    notifications,
    open_run_screen,
    sync,
    wait_for,
)

from crystallize.cli.errors import UserError
from crystallize.cli.scaffold import scaffold
from crystallize.cli.tui.app import CrystallizeApp
from crystallize.cli.tui.screens.new import NewExperimentScreen
from crystallize.store import list_runs

SMALL = (80, 24)
SWITCHES = [("l", "step", "add_delta"), ("x", "treatment", "shifted")]


def words(text: str) -> str:
    return " ".join(text.split())


async def press_on(pilot, screen, key: str, kind: str, name: str) -> None:
    """Highlight the plan line ``kind``/``name`` and press ``key``."""
    await highlight(pilot, screen, kind, name)
    await pilot.press(key)
    await pilot.pause()


# -- 1. a malformed config.state.json ----------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"cache": [1,2]', "invalid JSON"),
        ('{"cache": [1, 2]}', "cache: expected an object"),
        ('{"disabled_treatments": 5}', "disabled_treatments: expected a list"),
    ],
)
@pytest.mark.parametrize(("key", "kind", "name"), SWITCHES)
@sync
async def test_a_malformed_state_file_is_a_notice_not_a_crash(make_experiment, content, problem, key, kind, name):
    folder = make_experiment("numbers")
    state = folder / "config.state.json"
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "numbers")
        state.write_text(content)
        await press_on(pilot, screen, key, kind, name)
        assert app.screen is screen and app.return_code is None, "the TUI keeps running"
        notice = words(notifications(app)[-1])
        assert "experiments/numbers/config.state.json" in notice and problem in notice
        assert state.read_text() == content, "nothing is written"


def test_the_model_refuses_a_switch_it_cannot_save(make_experiment):
    """A state file broken (or a folder deleted) between loading and switching: the model
    raises SwitchRefused naming the file, writes nothing, creates no folder."""
    from crystallize.cli.tui import model

    folder = make_experiment("numbers")
    (experiment,), _ = model.load_experiments(folder / "config.yaml", as_graph=False)
    state = folder / "config.state.json"
    state.write_text('{"cache": [1, 2]}')
    with pytest.raises(model.SwitchRefused, match=r"config\.state\.json: cache: expected an object"):
        model.toggle_step_cache(experiment, "total")
    assert state.read_text() == '{"cache": [1, 2]}'
    shutil.rmtree(folder)
    with pytest.raises(model.SwitchRefused, match="no longer exists"):
        model.toggle_treatment(experiment, "shifted")
    assert not folder.exists()


# -- 2. a folder deleted while its run screen is open ------------------------------------------
@pytest.mark.parametrize(("key", "kind", "name"), SWITCHES)
@sync
async def test_switches_refuse_when_the_folder_was_deleted(make_experiment, key, kind, name):
    folder = make_experiment("numbers")
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "numbers")
        shutil.rmtree(folder)
        await press_on(pilot, screen, key, kind, name)
        assert app.screen is screen
        assert not folder.exists(), "the deleted folder is not created again"
        notice = notifications(app)[-1]
        assert "experiments/numbers/config.yaml cannot be loaded" in notice
        assert not any(n.startswith(("Caching", "Treatment")) for n in notifications(app))


# -- 3. a config broken or changed while the run screen is open --------------------------------
@pytest.mark.parametrize(("key", "kind", "name"), SWITCHES)
@sync
async def test_switches_refuse_when_the_config_broke_meanwhile(make_experiment, key, kind, name):
    folder = make_experiment("numbers")
    config = folder / "config.yaml"
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "numbers")
        config.write_text("name: numbers\nreplicates: [oops\n")
        await press_on(pilot, screen, key, kind, name)
        assert not (folder / "config.state.json").exists(), "nothing is written"
        assert "experiments/numbers/config.yaml cannot be loaded" in notifications(app)[-1]
        assert any("cannot be loaded" in line for line in labels(screen.query_one("#plan-tree")))


@sync
async def test_l_on_a_step_renamed_meanwhile_says_the_plan_changed(make_experiment):
    folder = make_experiment("numbers")
    config = folder / "config.yaml"
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "numbers")
        await highlight(pilot, screen, "step", "total")
        config.write_text(config.read_text().replace("add_delta, total", "add_delta"))
        await pilot.press("l")
        await pilot.pause()
        assert not (folder / "config.state.json").exists(), "no switch for a step the config lacks"
        notice = notifications(app)[-1]
        assert "plan changed" in notice and "'total'" in notice
        plan = labels(screen.query_one("#plan-tree"))
        assert not any("total" in line for line in plan), "the refreshed plan is shown"


@sync
async def test_x_on_a_treatment_removed_meanwhile_says_the_plan_changed(make_experiment):
    folder = make_experiment("numbers")
    config = folder / "config.yaml"
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "numbers")
        await highlight(pilot, screen, "treatment", "doubled")
        config.write_text(config.read_text().replace("  doubled: {delta: 6.0}\n", ""))
        await pilot.press("x")
        await pilot.pause()
        assert not (folder / "config.state.json").exists()
        assert "plan changed" in notifications(app)[-1]


@sync
async def test_switches_still_work_on_a_current_plan(make_experiment):
    folder = make_experiment("numbers")
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "numbers")
        await press_on(pilot, screen, "l", "step", "total")
        assert notifications(app)[-1] == "Caching of step 'total' on."
        await press_on(pilot, screen, "x", "treatment", "doubled")
        assert notifications(app)[-1] == "Treatment 'doubled' disabled."
    assert (folder / "config.state.json").read_text().count("total") == 1


# -- 4. the new-experiment dialog's error ------------------------------------------------------
@pytest.mark.parametrize("size", [SMALL, SIZE])
@sync
async def test_the_new_experiment_error_shows_in_full(make_experiment, tmp_path, size):
    make_experiment("numbers")
    with pytest.raises(UserError) as caught:
        scaffold("bad name!", False, tmp_path / "elsewhere")
    expected = words(str(caught.value))
    app = CrystallizeApp(".")
    async with app.run_test(size=size) as pilot:
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"bad name!", "enter")
        await pilot.pause()
        assert isinstance(app.screen, NewExperimentScreen)
        region = app.screen.query_one("#new-message").region
        rows = app.screen._compositor.render_strips()[region.y : region.bottom]
        shown = words(" ".join(row.text[region.x : region.right] for row in rows))
        assert len(expected) > region.width, "the message is longer than a line"
        assert shown == expected


# -- 5. library advice in the TUI's words ------------------------------------------------------
@sync
async def test_a_refused_resume_says_how_to_start_a_new_run_in_the_tui(make_experiment, monkeypatch):
    from crystallize import engine
    from crystallize.store import RunInProgressError

    make_experiment("numbers")
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "numbers")
        await pilot.press("R")
        await wait_for(pilot, lambda: screen.controller is None and screen.done == 9)
        (run,) = list_runs("data", "numbers")

        def busy(*args, **kwargs):
            raise RunInProgressError(run, 3.0)

        monkeypatch.setattr(engine, "display_stream", busy)
        await pilot.press("R")
        await wait_for(pilot, lambda: screen.controller is None and "still running" in log_of(screen))
        log = log_of(screen)
        assert "strategy='rerun'" not in log
        assert "turn caching off with l" in log and "to start a new run" in log


@sync
async def test_fewer_replicates_under_resume_name_a_command_not_python(make_experiment):
    folder = make_experiment("numbers")  # add_delta caches: the strategy is resume
    config = folder / "config.yaml"
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "numbers")
        await pilot.press("R")
        await wait_for(pilot, lambda: screen.controller is None and screen.done == 9)
        (first,) = list_runs("data", "numbers")
        config.write_text(config.read_text().replace("replicates: 3", "replicates: 2"))
        await pilot.press("R")
        await wait_for(pilot, lambda: screen.controller is None and screen.done == 6)
        await pilot.pause()
        log = log_of(screen)
        assert f"Not resuming run {first.run_id}" in log
        assert "load_result(" not in log
        assert f"crystallize show numbers --run {first.run_id} shows the stored one" in log


# -- 6. the footer at 80x24 --------------------------------------------------------------------
@sync
async def test_the_run_screen_footer_shows_every_key_at_80x24(make_experiment):
    make_experiment("numbers")
    app = CrystallizeApp(".")
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_run_screen(pilot, "numbers")
        await pilot.pause(0.2)
        footer = app.screen._compositor.render_strips()[-1].text
        shown = [b.binding for b in screen.active_bindings.values() if b.binding.show]
        assert {b.key for b in shown} >= {"R", "l", "x", "S", "L", "e", "escape", "ctrl+q"}
        for binding in shown:
            assert f"{app.get_key_display(binding)} {binding.description}" in footer, footer

