"""The run screen's log wraps its newest lines again when the terminal is resized."""

from __future__ import annotations

from rich.text import Text
from test_tui_app import sync
from textual.app import App

from crystallize.cli.tui.widgets import log as log_module
from crystallize.cli.tui.widgets.log import REWRAP_DELAY, RewrappingLog

LONG = "word " * 20  # 100 columns: two rows at 60, one at 120


class LogApp(App):
    """Just the log, filling the terminal."""

    def compose(self):
        yield RewrappingLog(id="log", max_lines=50)


async def _filled(pilot, count: int) -> RewrappingLog:
    log = pilot.app.query_one(RewrappingLog)
    for index in range(count):
        log.add(Text(f"{index:02d} {LONG}"))
    await pilot.pause()
    return log


def _rows_of(log: RewrappingLog, prefix: str) -> int:
    return sum(1 for row in log.lines if row.text.startswith(prefix))


@sync
async def test_a_wider_terminal_puts_each_old_line_back_on_one_row():
    async with LogApp().run_test(size=(62, 20)) as pilot:
        log = await _filled(pilot, 10)
        assert len(log.lines) == 20 and _rows_of(log, "09 ") == 1  # two rows each
        await pilot.resize_terminal(130, 20)
        await pilot.pause(REWRAP_DELAY + 0.2)
        assert len(log.lines) == 10
        assert all(row.text.rstrip().endswith("word") for row in log.lines)
        assert log.is_vertical_scroll_end

        await pilot.resize_terminal(62, 20)  # and narrower again: nothing beyond the edge
        await pilot.pause(REWRAP_DELAY + 0.2)
        width = log.scrollable_content_region.width
        assert len(log.lines) == 20 and max(row.cell_length for row in log.lines) <= width


@sync
async def test_only_the_newest_rows_are_wrapped_again(monkeypatch):
    monkeypatch.setattr(log_module, "REWRAP_ROWS", 6)
    async with LogApp().run_test(size=(62, 20)) as pilot:
        log = await _filled(pilot, 10)
        await pilot.resize_terminal(130, 20)
        await pilot.pause(REWRAP_DELAY + 0.2)
        # the last three lines (6 rows at the old width) are one row each now
        assert [row.text[:2] for row in log.lines[-3:]] == ["07", "08", "09"]
        assert len(log.lines) == 14 + 3


@sync
async def test_a_burst_of_resizes_wraps_once(monkeypatch):
    calls = []
    rewrap = RewrappingLog.rewrap
    monkeypatch.setattr(RewrappingLog, "rewrap", lambda self: (calls.append(1), rewrap(self)))
    async with LogApp().run_test(size=(62, 20)) as pilot:
        await _filled(pilot, 5)
        for width in (70, 80, 90, 100):
            await pilot.resize_terminal(width, 20)
        await pilot.pause(REWRAP_DELAY + 0.2)
        assert calls == [1]


@sync
async def test_what_it_keeps_is_bounded_by_its_lines_and_clear_forgets_it():
    async with LogApp().run_test(size=(62, 20)) as pilot:
        log = pilot.app.query_one(RewrappingLog)
        for batch in range(10):
            log.add(Text("\n".join(f"{batch} {line}" for line in range(20))))
        await pilot.pause()
        assert len(log._kept) == 3 and log._kept_lines == 60  # the newest 50 lines' texts
        log.clear()
        await pilot.resize_terminal(100, 20)
        await pilot.pause(REWRAP_DELAY + 0.2)
        assert log.lines == [] and not log._kept
