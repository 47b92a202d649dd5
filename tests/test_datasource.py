import pickle

import pytest

from crystallize import DataSource, data_source, standalone_context


@data_source
def numbers(ctx, n=3, start=0):
    return list(range(start, start + n))


def test_factory_builds_datasource():
    source = numbers(n=2, start=5)
    assert isinstance(source, DataSource)
    assert source.fetch(standalone_context()) == [5, 6]
    assert source.name == "numbers"
    assert source.params == {"n": 2, "start": 5}


def test_positional_params_and_unknown_rejected():
    assert numbers(4).fetch(standalone_context()) == [0, 1, 2, 3]
    with pytest.raises(TypeError):
        numbers(bogus=1)


def test_fetch_sees_context():
    @data_source
    def from_ctx(ctx):
        return ctx["replicate"]

    assert from_ctx().fetch(standalone_context({"replicate": 7})) == 7


def test_subclass():
    class Constant(DataSource):
        def fetch(self, ctx):
            return 42

    assert Constant().fetch(standalone_context()) == 42


def test_pickles_by_reference():
    clone = pickle.loads(pickle.dumps(numbers(n=2)))
    assert clone.fetch(standalone_context()) == [0, 1]
