"""Bidirectional override characters make a terminal show text reversed: names refuse
them, and text shown on a terminal writes them as escapes."""

from __future__ import annotations

import pytest

from crystallize import treatment
from crystallize.store.artifacts import check_path_component
from crystallize.utils.text import control_character, printable

BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]


@pytest.mark.parametrize("character", BIDI)
def test_shown_text_writes_bidi_controls_as_escapes(character):
    shown = printable(f"lr_{character}01.0=")
    assert character not in shown
    assert shown == f"lr_\\u{ord(character):04x}01.0="


@pytest.mark.parametrize("character", BIDI)
def test_names_refuse_bidi_controls(character):
    name = f"lr_{character}01.0="
    assert control_character(name) == f"\\u{ord(character):04x}"
    with pytest.raises(ValueError, match="control character"):
        treatment(name, {"lr": 0.1})
    with pytest.raises(ValueError, match="control character"):
        check_path_component(name, "experiment")


def test_right_to_left_scripts_stay_allowed():
    name = "שלום-مرحبا"
    assert printable(name) == name
    assert control_character(name) is None
    assert check_path_component(name, "condition") == name
