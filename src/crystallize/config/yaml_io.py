"""Reading ``config.yaml`` safely, remembering where every value was written.

Only a safe loader is used (:class:`ConfigLoader`, PyYAML's safe loader reading plain
values by YAML 1.2 rules): it builds plain data (mappings, lists, strings, numbers,
booleans, null, dates) and refuses every ``!!python/...`` tag, so loading a config
never constructs objects or runs code. Syntax errors, refused tags, repeated keys (also
two spellings of one value, ``1`` and ``true``) and keys that are lists or mappings become a
:class:`~crystallize.config.errors.ConfigValidationError` with the line and column, and
so does a document whose aliases expand beyond :data:`MAX_CONFIG_VALUES` values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from crystallize.config.errors import ConfigValidationError, Problem

_TAG = "tag:yaml.org,2002:"


class ConfigLoader(yaml.SafeLoader):
    """PyYAML's safe loader, reading plain (unquoted) scalars by the YAML 1.2 core schema.

    PyYAML follows YAML 1.1, which reads ``1e-3`` as a string, ``010`` as 8 (octal),
    ``12:30`` as 750 (base 60) and ``yes``/``no``/``on``/``off`` as booleans. Here:

    * null: ``null``, ``Null``, ``NULL``, ``~`` or nothing;
    * booleans: only ``true``/``True``/``TRUE`` and ``false``/``False``/``FALSE``;
    * integers: decimal (``10``, ``-3``, ``010`` is 10), ``0o17`` (octal), ``0x1F`` (hex);
    * floats: ``1.5``, ``1e-3``, ``1E5``, ``.5``, ``-.inf``, ``.inf``, ``.nan``;
    * as before (YAML 1.1, beyond the core schema): digit groups (``1_000``), dates and
      times (``2020-01-01``) and merge keys (``<<: *base``);
    * anything else is a string (``yes``, ``off``, ``12:30``).

    Still a safe loader: only plain data is built. Use it as
    ``yaml.load(text, Loader=ConfigLoader)``.
    """

    yaml_implicit_resolvers: dict = {}  # its own table, not SafeLoader's (add_implicit_resolver copies otherwise)


def _core_int(loader: ConfigLoader, node: yaml.ScalarNode) -> int:
    """An integer by YAML 1.2 rules: decimal (leading zeros allowed), ``0o`` octal, ``0x`` hex."""
    text = str(loader.construct_scalar(node))
    try:
        if text[:2] in ("0o", "0x"):
            return int(text[2:], 8 if text[1] == "o" else 16)
        return int(text, 10)
    except ValueError:
        raise yaml.constructor.ConstructorError(
            None, None, f"cannot read {text!r} as an integer", node.start_mark
        ) from None


def _core_float(loader: ConfigLoader, node: yaml.ScalarNode) -> float:
    """A float by YAML 1.2 rules (``1e-3``, ``.5``, ``-.inf``, ``.nan``)."""
    text = str(loader.construct_scalar(node))
    special = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf"), ".nan": float("nan")}
    if text.lower() in special:
        return special[text.lower()]
    try:
        return float(text)
    except ValueError:
        raise yaml.constructor.ConstructorError(
            None, None, f"cannot read {text!r} as a number", node.start_mark
        ) from None


def _install_core_schema() -> None:
    import re

    digits = "[0-9](?:_?[0-9])*"  # digit groups (1_000) as in YAML 1.1 and Python
    rules = [
        ("bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
        ("int", rf"[-+]?{digits}|0o[0-7](?:_?[0-7])*|0x[0-9a-fA-F](?:_?[0-9a-fA-F])*", "-+0123456789"),
        (
            "float",
            rf"[-+]?(?:\.{digits}|{digits}(?:\.(?:{digits})?)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
            "-+.0123456789",
        ),
        ("null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ]
    for kind, pattern, first in rules:  # int before float: "10" is an int
        ConfigLoader.add_implicit_resolver(_TAG + kind, re.compile(f"(?:{pattern})\\Z"), list(first))
    for kind, first in (("timestamp", "0123456789"), ("merge", "<")):  # kept from YAML 1.1
        regexp = next(r for tag, r in yaml.SafeLoader.yaml_implicit_resolvers[first[0]] if tag == _TAG + kind)
        ConfigLoader.add_implicit_resolver(_TAG + kind, regexp, list(first))
    ConfigLoader.add_constructor(_TAG + "int", _core_int)
    ConfigLoader.add_constructor(_TAG + "float", _core_float)


_install_core_schema()


def load_config_text(text: str) -> Any:
    """The plain data of YAML ``text``, read with :class:`ConfigLoader` (YAML 1.2 values).

    Raises:
        yaml.YAMLError: the text is not YAML, or uses a tag the safe loader refuses.
    """
    return yaml.load(text, Loader=ConfigLoader)  # noqa: S506 - a SafeLoader subclass


class ConfigDumper(yaml.SafeDumper):
    """PyYAML's safe dumper, writing text that :class:`ConfigLoader` reads back as the same data.

    It quotes a string exactly when :class:`ConfigLoader` would read it unquoted as
    something else (``'1e3'``, ``'010'``, ``'true'``, ``'null'``, ``'2020-01-01'``);
    ``yes`` and ``off`` stay plain, being strings by YAML 1.2 rules. Use it through
    :func:`dump_config_text`.
    """

    # The dumper quotes a string when its resolvers would read the plain text as another
    # type: give it the loader's (YAML 1.2) resolvers instead of SafeDumper's (YAML 1.1).
    yaml_implicit_resolvers = {first: list(rules) for first, rules in ConfigLoader.yaml_implicit_resolvers.items()}


def dump_config_text(data: Any, **options: Any) -> str:
    """YAML text of the plain data ``data`` that :func:`load_config_text` reads back as
    equal data (strings such as ``'1e3'`` quoted); for text written for config.yaml.

    Args:
        data: plain data (mappings, lists, strings, numbers, booleans, None, dates).
        **options: passed to :func:`yaml.dump` (``default_flow_style``, ``width``...);
            keys keep their order unless ``sort_keys=True``.
    """
    options.setdefault("sort_keys", False)
    options.setdefault("allow_unicode", True)
    return yaml.dump(data, Dumper=ConfigDumper, **options)


#: A field path inside a document: mapping keys and list indexes. A key is as loading
#: reads it: mostly a string, but ``1:`` is the int 1 (and ``2020-01-01:`` a date).
FieldPath = tuple[str | int, ...]

#: Most keys and list items a config may hold once its aliases (``*name``) are expanded.
#: A few hundred bytes of nested aliases can stand for billions of values ("billion
#: laughs"), which would exhaust memory in everything that reads the config.
MAX_CONFIG_VALUES = 100_000


@dataclass
class YamlDocument:
    """A parsed YAML file.

    Attributes:
        path: the file it was read from.
        data: the plain data (``None`` for an empty file).
        positions: ``{field path: (line, column)}``, 1-based, of every mapping key and
            list item, for pointing error messages at the right line. A key read as a
            number, boolean, null or date stands in the path as that value (``1:`` as 1).
        key_texts: ``{field path: text}`` of every mapping key not read as a string,
            as written (``1e3``, ``2020-01-01``), for hints to quote it.
    """

    path: Path
    data: Any
    positions: dict[FieldPath, tuple[int, int]] = field(default_factory=dict)
    key_texts: dict[FieldPath, str] = field(default_factory=dict)

    def line_of(self, path: FieldPath) -> int | None:
        """The line of ``path``, or of its closest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.positions:
                return self.positions[path][0]
            path = path[:-1]
        return None


def load_yaml(path: str | Path) -> YamlDocument:
    """Read and parse a YAML file with the safe loader.

    Args:
        path: the file to read.

    Returns:
        The parsed document with the position of every key and list item.

    Raises:
        ConfigValidationError: the file cannot be read or decoded, has a syntax error,
            uses a tag the safe loader refuses (``!!python/object``...), repeats a
            mapping key, or uses a list or mapping as a key (``? [a, b]``), or its aliases
            expand to more than :data:`MAX_CONFIG_VALUES` keys and items. The message
            gives the line and column.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise _error(path, f"the file is not valid UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise _error(path, f"cannot read the file ({exc.strerror or exc})") from None
    return parse_yaml(text, path)


def parse_yaml(text: str, path: Path) -> YamlDocument:
    """Parse YAML ``text`` (read from ``path``) with the safe loader; see :func:`load_yaml`."""
    try:
        root = yaml.compose(text, Loader=ConfigLoader)
        walk = _Walk(path, ConfigLoader(""))
        if root is not None:
            _walk(root, (), walk)
        if walk.problems:
            raise ConfigValidationError(walk.problems)
        data = load_config_text(text)
    except yaml.constructor.ConstructorError as exc:
        raise _marked(path, exc, _constructor_message(exc)) from None
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(path, exc) from None
    except yaml.YAMLError as exc:
        raise _error(path, f"YAML error: {exc}") from None
    return YamlDocument(path, data, walk.positions, walk.key_texts)


_UNKNOWN_TAG = "could not determine a constructor for the tag"
_KEY_RULE = (
    "mapping keys must be plain strings or numbers. Quote the key to make it a string, "
    "or move the list or mapping into the value"
)


def _constructor_message(exc: yaml.constructor.ConstructorError) -> str:
    """What the safe loader refused: a tag, a list/mapping used as a key, or other data."""
    problem = exc.problem or ""
    if problem.startswith(_UNKNOWN_TAG):
        tag = problem[len(_UNKNOWN_TAG):].strip(" '")
        return _tag_message(tag)
    if "unhashable key" in problem:
        return f"a mapping key is a list or a mapping, but {_KEY_RULE}"
    context = f" ({exc.context})" if exc.context else ""
    return f"YAML error: {problem or 'invalid data'}{context}"


def _tag_message(tag: str) -> str:
    """The message for a tag the safe loader refuses (``!!python/object...``, ``!foo``)."""
    shown = tag.replace("tag:yaml.org,2002:", "!!") or "?"
    return (
        f"the tag '{shown}' is not allowed: config.yaml is read with YAML's safe loader, "
        "which builds only plain data (mappings, lists, strings, numbers, booleans, null) "
        "and never Python objects. Remove the tag; name functions from the experiment's "
        "Python modules instead."
    )


def _complex_key_problem(key_node: yaml.Node, path: FieldPath, file: Path) -> Problem | None:
    """A problem for a mapping key written as a list or mapping (``? [a, b]``), else ``None``.

    Keys carrying a tag the safe loader does not know are left to the tag error.
    """
    if not isinstance(key_node, yaml.SequenceNode | yaml.MappingNode):
        return None
    if key_node.tag not in ConfigLoader.yaml_constructors:
        return None
    kind = "a list" if isinstance(key_node, yaml.SequenceNode) else "a mapping"
    start, end = key_node.start_mark, key_node.end_mark
    text = " ".join(start.buffer[start.index:end.index].split()) if start.buffer else ""
    shown = f" {text[:60]}{'...' if len(text) > 60 else ''}" if text else ""
    message = f"the key{shown} is {kind}, but {_KEY_RULE}"
    line, column = start.line + 1, start.column + 1
    if not path:  # a top-level key: a whole-file problem, so say where in the message
        return Problem(file, "", f"line {line}, column {column}: {message}", line, column)
    return Problem(file, _dotted(path), message, line=line)


@dataclass
class _Walk:
    """What :func:`_walk` collects: positions, how non-string keys were written, problems."""

    file: Path
    loader: ConfigLoader
    positions: dict[FieldPath, tuple[int, int]] = field(default_factory=dict)
    key_texts: dict[FieldPath, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _key_value(walk: _Walk, key_node: yaml.Node) -> Any:
    """The key ``key_node`` stands for, as loading builds it (``1`` an int, ``"1"`` a
    string); its text when it cannot be built (a refused tag: the full load says so)."""
    if not isinstance(key_node, yaml.ScalarNode):
        return repr(key_node.value)
    try:
        key = walk.loader.construct_object(key_node)
        hash(key)
    except (yaml.YAMLError, TypeError):
        return key_node.value
    return key


def _walk(node: yaml.Node, path: FieldPath, walk: _Walk) -> None:
    """Record the position of every key and item below ``node``; collect bad keys.

    Keys are recorded as loading builds them (``1:`` under the int 1), so that field
    paths of the data find their lines. A key repeated in one mapping — also as another
    spelling of the same value (``1`` and ``true``, ``1`` and ``1.0``) — or written as a
    list or mapping is added to ``problems`` (in document order). Aliases are walked
    where they are used, so a document expanding to more than :data:`MAX_CONFIG_VALUES`
    values is refused here.
    """
    if len(walk.positions) > MAX_CONFIG_VALUES:
        raise _error(
            walk.file,
            f"the document holds more than {MAX_CONFIG_VALUES:,} keys and list items once its "
            "aliases (*name) are expanded; nested aliases can multiply a few lines into "
            "billions of values. Write the values out, or keep large data in a file a "
            "datasource reads",
        )
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, tuple[int, str]] = {}  # key -> (line, text as written)
        for key_node, value_node in node.value:
            complex_key = _complex_key_problem(key_node, path, walk.file)
            if complex_key is not None:
                walk.problems.append(complex_key)
                continue
            key = _key_value(walk, key_node)
            text = key_node.value if isinstance(key_node, yaml.ScalarNode) else key
            line = key_node.start_mark.line + 1
            if key in seen:
                walk.problems.append(_repeated_key(walk.file, path, key, text, seen[key], line))
                continue
            seen[key] = (line, text)
            child = path + (key,)
            walk.positions[child] = (line, key_node.start_mark.column + 1)
            if not isinstance(key, str):
                walk.key_texts[child] = text
            _walk(value_node, child, walk)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = path + (index,)
            walk.positions[child] = (item.start_mark.line + 1, item.start_mark.column + 1)
            _walk(item, child, walk)


def _repeated_key(file: Path, path: FieldPath, key: Any, text: str, first: tuple[int, str], line: int) -> Problem:
    """The problem for a key that a mapping already has (``first``: its line and text)."""
    first_line, first_text = first
    field_path = _dotted(path + (key,)) if isinstance(key, str) else _dotted(path)
    if text == first_text:
        message = (
            f"the key '{text}' appears twice in the same mapping (first on line {first_line}); "
            "YAML would silently keep only the last one"
        )
    else:
        message = (
            f"the keys '{first_text}' (line {first_line}) and '{text}' are the same key once "
            f"read ({key!r}), so YAML would silently keep only the last one; quote them to "
            f"keep both as text (\"{first_text}\": and \"{text}\":)"
        )
    return Problem(file, field_path, message, line=line)


def _dotted(path: FieldPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _syntax_error(path: Path, exc: yaml.MarkedYAMLError) -> ConfigValidationError:
    """The error for a YAML syntax error, giving both places PyYAML knows.

    PyYAML notes where it found the problem (``problem_mark``) and, for a construct
    that broke (a quoted string, a ``[...]`` list), where that construct started
    (``context_mark``). A problem found at the end of the file (an unclosed quote or
    bracket) is located where the construct started, since the end of the file says
    nothing; any other problem where it was found, naming where the construct started.
    """
    problem, context = exc.problem or "invalid YAML", exc.context
    found, started = exc.problem_mark, exc.context_mark
    if not context or found is None or started is None or started.index == found.index:
        detail = f"{problem} ({context})" if context else problem
        return _marked(path, exc, f"YAML syntax error: {detail}")
    if _at_end(found):
        message = (
            f"YAML syntax error: {context} starting here, {problem} "
            f"(line {found.line + 1}, the end of the file)"
        )
        return _at(path, started, message)
    message = (
        f"YAML syntax error: {problem} ({context} starting at line {started.line + 1}, "
        f"column {started.column + 1})"
    )
    return _at(path, found, message)


def _at_end(mark: yaml.Mark) -> bool:
    """True when only whitespace follows ``mark`` (it is at the end of the document)."""
    if mark.buffer is None:
        return False
    return not mark.buffer[mark.index:].strip("\0 \t\r\n")


def _marked(path: Path, exc: yaml.MarkedYAMLError, message: str) -> ConfigValidationError:
    mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return _error(path, message)
    return _at(path, mark, message)


def _at(path: Path, mark: yaml.Mark, message: str) -> ConfigValidationError:
    """A whole-file problem at ``mark``, its line and column leading the message."""
    line, column = mark.line + 1, mark.column + 1
    return ConfigValidationError(
        [Problem(path, "", f"line {line}, column {column}: {message}", line, column)]
    )


def _error(path: Path, message: str) -> ConfigValidationError:
    return ConfigValidationError([Problem(path, "", message)])


__all__ = ["ConfigDumper", "ConfigLoader", "FieldPath", "YamlDocument", "dump_config_text", "load_config_text", "load_yaml", "parse_yaml"]
