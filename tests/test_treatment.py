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


@pytest.mark.parametrize("name", [" ", "   ", "\u3000", " \u00a0"])
def test_a_blank_treatment_name_is_refused_when_built(name):
    with pytest.raises(ValueError, match="is only whitespace, which tables and listings do not show"):
        treatment(name, {"a": 1})
    with pytest.raises(ValueError, match="only whitespace"):
        Treatment(name, {"a": 1})
    assert treatment(" a", {"a": 1}).name == " a"  # padded: refused by validate(), naming it
