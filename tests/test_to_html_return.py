"""Result.to_html(path) returns the page it rendered, never a read-back of the file."""

from __future__ import annotations

import os
import threading

import pytest

from crystallize.record import ReplicateRecord
from crystallize.reporting_html import render_html
from crystallize.result import Result


def _result() -> Result:
    record = ReplicateRecord(condition="baseline", replicate=0, seed=1, metrics={"m": [1.0]}, steps=[], error=None)
    return Result([record], ["baseline"], experiment="demo")


def test_returns_the_written_page(tmp_path):
    result = _result()
    path = tmp_path / "nested" / "report.html"
    page = result.to_html(path, title="My page")
    assert page.startswith("<!DOCTYPE html>") and "My page" in page
    assert path.read_text(encoding="utf-8") == page
    assert page == render_html(result, "My page")


def test_write_only_target_still_returns_the_page():
    page = _result().to_html(os.devnull)
    assert page == render_html(_result())


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a POSIX named pipe")
def test_pipe_target_does_not_hang(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    returned: list[str] = []
    writer = threading.Thread(target=lambda: returned.append(_result().to_html(fifo)), daemon=True)
    writer.start()
    writer.join(timeout=20)
    reader.join(timeout=5)
    assert returned, "to_html(pipe) did not return"
    assert received and received[0].decode("utf-8") == returned[0]
