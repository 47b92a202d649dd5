"""A warning is written as one line in one write: process workers share stderr, and a
line written in two pieces (the text, then its newline) can merge with another worker's
(``warning: ...textwarning: ...text``)."""

from __future__ import annotations

import io
import warnings

from crystallize.cli import main


class _Writes(io.StringIO):
    """Records each ``write`` call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def write(self, text: str) -> int:
        self.calls.append(text)
        return super().write(text)


def test_a_warning_is_one_write_of_a_whole_line(tmp_path):
    out = _Writes()
    with warnings.catch_warnings():  # gives back showwarning and the filters
        main._show_warnings()
        warnings.showwarning("same text", UserWarning, str(tmp_path / "steps.py"), 13, file=out)
    assert len(out.calls) == 1
    assert out.calls[0].startswith("warning: ") and out.calls[0].endswith("UserWarning: same text\n")


def test_a_warning_goes_to_stderr_in_one_write_by_default(monkeypatch):
    err = _Writes()
    monkeypatch.setattr("sys.stderr", err)
    with warnings.catch_warnings():
        main._show_warnings()
        warnings.simplefilter("always")
        warnings.warn("raised here", UserWarning, stacklevel=1)
    assert len(err.calls) == 1 and err.calls[0].endswith("UserWarning: raised here\n")
