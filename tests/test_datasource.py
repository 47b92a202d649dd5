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


def test_function_without_ctx_rejected_at_decoration():
    def no_params():
        return [1]

    def forgot_ctx(n=3):
        return list(range(n))

    def keyword_only(*, ctx):
        return ctx

    for fn in (no_params, forgot_ctx, keyword_only):
        with pytest.raises(TypeError, match=rf"@data_source function '{fn.__name__}' must take the context"):
            data_source(fn)
    with pytest.raises(TypeError, match=r"def forgot_ctx\(ctx, n=3\)"):
        data_source(forgot_ctx)


def test_first_parameter_any_name_ctx_default_and_star_args_still_work():
    @data_source
    def with_default(ctx=None, n=2):
        return [ctx["replicate"]] * n

    @data_source
    def named_otherwise(context, n=1):
        return context["replicate"] + n

    @data_source
    def star(*args):
        return len(args)

    ctx = standalone_context({"replicate": 3})
    assert with_default(n=3).fetch(ctx) == [3, 3, 3]
    assert named_otherwise(n=2).fetch(ctx) == 5
    assert star().fetch(ctx) == 1


def test_not_a_function_rejected():
    with pytest.raises(TypeError, match="data_source decorates a function"):
        data_source(5)


def test_misspelled_parameter_names_datasource_and_suggests():
    with pytest.raises(TypeError) as info:
        numbers(nn=3)
    message = str(info.value)
    assert "datasource numbers()" in message
    assert "unknown parameter(s) nn" in message
    assert "did you mean 'n'?" in message
    assert "it accepts: n, start" in message


def test_bad_positional_call_names_datasource():
    with pytest.raises(TypeError, match=r"datasource numbers\(\).*(it accepts: n, start)"):
        numbers(1, 2, 3)
    with pytest.raises(TypeError, match=r"datasource numbers\(\).*multiple values"):
        numbers(1, n=2)
    with pytest.raises(TypeError, match="unknown parameter.*ctx"):
        numbers(ctx=1)


def test_var_keyword_datasource_accepts_any_parameter():
    @data_source
    def anything(ctx, **options):
        return options

    assert anything(alpha=1, beta=2).fetch(standalone_context()) == {"alpha": 1, "beta": 2}
