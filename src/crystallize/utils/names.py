"""Rules every user-chosen name follows, whatever it names."""

from __future__ import annotations

import re

# C0 controls, DEL and C1 controls: invisible in a listing, and terminal escapes (ESC)
# or line breaks that a name printed by the CLI would act out.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def control_character(text: str) -> str | None:
    """The first control character in ``text``, as a visible escape (``'\\x1b'``), or
    ``None`` when there is none."""
    found = _CONTROL.search(text)
    return None if found is None else repr(found.group())[1:-1]


__all__ = ["control_character"]
