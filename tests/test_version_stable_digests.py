"""Code digests and parameter digests are the same under every supported Python version,
so switching interpreters neither restarts resumed runs nor misses the step cache."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crystallize.code_digest import _Dependencies, code_hash

#: Interpreters of other Python versions with Crystallize's dependencies, when present.
OTHER_PYTHONS = [Path(f"/tmp/audits/pyversions/venv{version}/bin/python") for version in ("3.12", "3.13")]
SRC = Path(__file__).resolve().parents[1] / "src"

DATACLASS_MODULE = textwrap.dedent(
    '''
    import collections
    import dataclasses
    import typing

    from crystallize import PipelineStep


    def make_list():
        return [1]


    @dataclasses.dataclass
    class Scale(PipelineStep):
        factor: float = 2.0

        def __call__(self, data, ctx):
            return data, {"mean": sum(data) * self.factor}

        @property
        def params(self):
            return {"factor": self.factor}


    @dataclasses.dataclass(frozen=True, order=True)
    class Frozen:
        a: int
        b: list = dataclasses.field(default_factory=make_list)
        c: str = dataclasses.field(default="x", repr=False)


    @dataclasses.dataclass(slots=True, kw_only=True)
    class Slotted:
        a: int = 1


    class Pair(typing.NamedTuple):
        a: int
        b: str = "x"


    Point = collections.namedtuple("Point", "x y", defaults=(0,))

    SCALE = 3


    def total(values):
        squares = [v * SCALE for v in values]
        return make_list() + squares
    '''
)

PRINT_DIGESTS = textwrap.dedent(
    """
    import importlib.util, json, sys
    from crystallize.code_digest import code_hash
    spec = importlib.util.spec_from_file_location("dcmodule", sys.argv[1])
    module = importlib.util.module_from_spec(spec)
    sys.modules["dcmodule"] = module
    spec.loader.exec_module(module)
    names = ("Scale", "Frozen", "Slotted", "Pair", "Point", "total")
    print(json.dumps({name: code_hash(getattr(module, name)) for name in names}))
    """
)


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def dcmodule(tmp_path):
    path = tmp_path / "dcmodule.py"
    path.write_text(DATACLASS_MODULE)
    yield _load(path, "dcmodule")
    sys.modules.pop("dcmodule", None)


def _parts(obj) -> list[str]:
    walk = _Dependencies()
    walk.code("", obj)
    return walk.parts


@pytest.mark.parametrize("name", ["Scale", "Frozen", "Slotted", "Pair", "Point"])
def test_methods_generated_by_dataclass_and_namedtuple_are_not_digested_from_bytecode(dcmodule, name):
    """Their compiled code differs between Python versions; what they are made from (the
    fields, their defaults, the decorator's options) is digested instead."""
    parts = _parts(getattr(dcmodule, name))
    generated = ("__init__", "__repr__", "__eq__", "__hash__", "__lt__", "__setattr__", "__new__", "__replace__")
    assert not [part for part in parts if part.split(":")[0].split("->")[0].lstrip(".") in generated]
    assert not [part for part in parts if "dataclasses." in part or "collections." in part]


def test_dataclass_fields_defaults_and_options_still_count(tmp_path):
    def digest(source: str, default: float = 2.0, made: int = 1) -> str:
        path = tmp_path / f"m{len(list(tmp_path.iterdir()))}.py"
        path.write_text(f"import dataclasses\nDEFAULT = {default}\ndef make():\n    return [{made}]\n{source}")
        module = _load(path, path.stem)
        try:
            return code_hash(module.Changed)
        finally:
            sys.modules.pop(path.stem, None)

    base = "@dataclasses.dataclass\nclass Changed:\n    a: float = DEFAULT\n"
    factory = "@dataclasses.dataclass\nclass Changed:\n    a: list = dataclasses.field(default_factory=make)\n"
    digests = [
        digest(base),
        digest(base, default=3.0),  # a value the class's source only names
        digest(base + "    b: int = 0\n"),
        digest(base.replace("dataclass\n", "dataclass(frozen=True)\n")),
        digest(factory),
        digest(factory, made=2),  # the default factory's code changed
    ]
    assert len(set(digests)) == len(digests)
    assert digest(base) == digests[0]


def test_a_method_written_in_a_dataclass_is_still_followed(dcmodule):
    @dataclasses.dataclass
    class Custom:
        a: int = 1

        def __repr__(self) -> str:
            return helper(self.a)

    parts = _parts(Custom)
    assert any(part.startswith(".__repr__:def ") for part in parts)
    assert any(".__repr__.helper:def helper" in part for part in parts)


def helper(value: int) -> str:
    return str(value)


def test_namedtuple_defaults_count(tmp_path):
    def digest(defaults: str) -> str:
        path = tmp_path / f"nt{abs(hash(defaults))}.py"
        path.write_text(f"import collections\nPoint = collections.namedtuple('Point', 'x y', defaults={defaults})\n")
        module = _load(path, path.stem)
        try:
            return code_hash(module.Point)
        finally:
            sys.modules.pop(path.stem, None)

    assert digest("(0,)") != digest("(1,)")


def zeta(value):
    return value


def alpha(value):
    return value


def test_the_globals_a_function_uses_count_in_name_order():
    """Python 3.12 inlines comprehensions (PEP 709): the order in which compiled code
    lists the names it uses changes, the digest must not."""

    def uses(values):
        first = zeta(values)
        return first, [alpha(v) for v in values]

    labels = [part.split(":")[0] for part in _parts(uses)[1:]]
    assert labels == [".alpha", ".zeta"]


def test_dataclass_digests_are_the_same_under_every_python_version(tmp_path):
    pythons = [Path(sys.executable)] + [python for python in OTHER_PYTHONS if python.exists()]
    if len(pythons) < 2:
        pytest.skip("needs interpreters of at least two Python versions")
    module = tmp_path / "dcmodule.py"
    module.write_text(DATACLASS_MODULE)
    digests = {}
    for python in pythons:
        done = subprocess.run(
            [str(python), "-c", PRINT_DIGESTS, str(module)],
            capture_output=True,
            text=True,
            env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
            check=True,
        )
        digests[str(python)] = json.loads(done.stdout)
    assert len({json.dumps(d, sort_keys=True) for d in digests.values()}) == 1, digests


PRINT_PARAM_DIGESTS = textwrap.dedent(
    """
    import collections, datetime, decimal, enum, fractions, functools, json, pathlib, re, uuid
    from crystallize.fingerprint import param_digest

    class Color(enum.Enum):
        RED = 1

    values = [
        pathlib.Path("results/model.bin"), pathlib.PurePosixPath("a/b"), pathlib.PureWindowsPath("a\\\\b"),
        datetime.date(2024, 1, 2), datetime.datetime(2024, 1, 2, 3, 4, 5, 6),
        datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc), datetime.time(1, 2),
        datetime.timedelta(days=1, seconds=3), decimal.Decimal("1.10"), fractions.Fraction(1, 3),
        Color.RED, re.IGNORECASE, re.compile(r"a+b", re.I), uuid.UUID(int=5), range(1, 10, 2),
        collections.OrderedDict(a=1), collections.deque([1, 2]), collections.Counter("aab"),
        1 + 2j, functools.partial(max, 1), {"a": [1, 2.5, None], "b": (1, "x")}, {"b", "a"},
        {"path": pathlib.Path("data")},
    ]
    print(json.dumps([param_digest(value) for value in values]))
    """
)


def test_a_path_parameter_has_the_same_digest_whatever_module_pickles_its_class(monkeypatch):
    """Python 3.13 moved the path classes to ``pathlib._local``: a pickle names that
    module, and a cached step would miss its cache after switching Python."""
    import pathlib
    import types

    from crystallize.fingerprint import param_digest

    values = [pathlib.PurePosixPath("results/model.bin"), {"out": pathlib.PurePosixPath("a")}]
    before = [param_digest(value) for value in values]
    local = types.ModuleType("pathlib._local")
    local.PurePosixPath = pathlib.PurePosixPath
    monkeypatch.setitem(sys.modules, "pathlib._local", local)
    monkeypatch.setattr(pathlib.PurePosixPath, "__module__", "pathlib._local")
    assert [param_digest(value) for value in values] == before
    assert param_digest(pathlib.PurePosixPath("results/other.bin")) != before[0]
    assert param_digest(pathlib.PureWindowsPath("results/model.bin")) != before[0]


def test_parameter_digests_are_the_same_under_every_python_version():
    pythons = [Path(sys.executable)] + [python for python in OTHER_PYTHONS if python.exists()]
    if len(pythons) < 2:
        pytest.skip("needs interpreters of at least two Python versions")
    digests = {}
    for python in pythons:
        done = subprocess.run(
            [str(python), "-c", PRINT_PARAM_DIGESTS],
            capture_output=True,
            text=True,
            env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
            check=True,
        )
        digests[str(python)] = json.loads(done.stdout)
    assert None not in digests[str(sys.executable)]
    reference = digests.pop(str(sys.executable))
    for python, found in digests.items():
        assert found == reference, python
