import pytest

from crystallize import Treatment, standalone_context, treatment


def test_treatment_applies_values():
    t = treatment("bigger", {"delta": 10})
    assert isinstance(t, Treatment) and t.name == "bigger"
    ctx = standalone_context()
    t.apply(ctx)
    assert ctx["delta"] == 10


def test_callable_treatment_adds_values():
    def add(ctx):
        ctx.add("lr", 0.1)

    ctx = standalone_context()
    Treatment("fast", add).apply(ctx)
    assert ctx["lr"] == 0.1


def test_bad_treatments():
    with pytest.raises(ValueError, match="reserved"):
        treatment("baseline", {})
    with pytest.raises(ValueError):
        treatment("", {})
    with pytest.raises(TypeError):
        treatment("x", 5)
