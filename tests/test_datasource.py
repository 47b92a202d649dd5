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


class NamedSource(DataSource):
    """A class-based datasource naming itself in ``__init__`` (module level: it must pickle)."""

    def __init__(self, name):
        self.name = name

    def fetch(self, ctx):
        return 1


def test_subclass_may_set_its_name_in_init():
    source = NamedSource("mysrc")
    assert source.name == "mysrc" and repr(source) == "mysrc()"
    assert pickle.loads(pickle.dumps(source)).name == "mysrc"
    assert NamedSource.__new__(NamedSource).name == "NamedSource"
    assert numbers().name == "numbers"
    with pytest.raises(TypeError, match="datasource name must be a non-empty string"):
        NamedSource("")


def test_missing_required_parameter_rejected_at_construction():
    @data_source
    def pos(ctx, a, b=2):
        return (a, b)

    @data_source
    def kwo(ctx, *, n, m=1, **rest):
        return (n, m)

    with pytest.raises(TypeError) as info:
        pos()
    assert str(info.value) == (
        "datasource pos() is missing required parameter(s) a: pass a value when building it, "
        "e.g. pos(a=...) (datasources get nothing from the context)"
    )
    with pytest.raises(TypeError, match=r"datasource kwo\(\) is missing required parameter\(s\) n"):
        kwo(m=2, other=3)
    assert pos(1).fetch(standalone_context()) == (1, 2)
    assert pos(b=3, a=1).params == {"a": 1, "b": 3}
    assert kwo(n=5).fetch(standalone_context()) == (5, 1)


def test_star_args_after_the_context_refused_at_decoration():
    def star(ctx, *xs):
        return xs

    with pytest.raises(TypeError) as info:
        data_source(star)
    message = str(info.value)
    assert "@data_source function 'star' takes *xs" in message
    assert "passed by keyword" in message and "def star(ctx, xs=())" in message


def test_positional_only_parameter_after_the_context_refused_at_decoration():
    def posonly(ctx, a, /):
        return a

    with pytest.raises(TypeError, match=r"positional-only parameter\(s\) a.*def posonly\(ctx, a\)"):
        data_source(posonly)

    @data_source
    def ctx_positional_only(ctx, /, a=1):
        return a

    assert ctx_positional_only(a=4).fetch(standalone_context()) == 4


def test_leading_star_args_takes_no_positional_values():
    @data_source
    def star(*args):
        return len(args)

    with pytest.raises(TypeError, match=r"datasource star\(\) got 2 positional value\(s\), but none can"):
        star(1, 2)


def test_var_keyword_datasource_refuses_the_context_name():
    @data_source
    def anything(ctx, **options):
        return options

    with pytest.raises(TypeError, match=r"datasource anything\(\) got unknown parameter\(s\) ctx \(it accepts: \*\*options\)"):
        anything(ctx=1)


@data_source()
def counted(ctx, n=2):
    return list(range(n))


def test_data_source_with_parentheses_works_as_without():
    source = counted(n=3)
    assert isinstance(source, DataSource) and source.name == "counted"
    assert source.fetch(standalone_context()) == [0, 1, 2]
    assert pickle.loads(pickle.dumps(source)).fetch(standalone_context()) == [0, 1, 2]
