"""Reading ``config.yaml`` safely, remembering where every value was written.

Only YAML's safe loader is used: it builds plain data (mappings, lists, strings,
numbers, booleans, null) and refuses every ``!!python/...`` tag, so loading a config
never constructs objects or runs code. Syntax errors, refused tags, repeated keys and
keys that are lists or mappings become a
:class:`~crystallize.config.errors.ConfigValidationError` with the line and column, and
so does a document whose aliases expand beyond :data:`MAX_CONFIG_VALUES` values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from crystallize.config.errors import ConfigValidationError, Problem

#: A field path inside a document: mapping keys and list indexes.
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
            list item, for pointing error messages at the right line.
    """

    path: Path
    data: Any
    positions: dict[FieldPath, tuple[int, int]] = field(default_factory=dict)

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
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        positions: dict[FieldPath, tuple[int, int]] = {}
        problems: list[Problem] = []
        if root is not None:
            _walk(root, (), positions, problems, path)
        if problems:
            raise ConfigValidationError(problems)
        data = yaml.safe_load(text)
    except yaml.constructor.ConstructorError as exc:
        raise _marked(path, exc, _constructor_message(exc)) from None
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(path, exc) from None
    except yaml.YAMLError as exc:
        raise _error(path, f"YAML error: {exc}") from None
    return YamlDocument(path, data, positions)


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
    if key_node.tag not in yaml.SafeLoader.yaml_constructors:
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


def _walk(
    node: yaml.Node,
    path: FieldPath,
    positions: dict[FieldPath, tuple[int, int]],
    problems: list[Problem],
    file: Path,
) -> None:
    """Record the position of every key and item below ``node``; collect bad keys.

    A key repeated in one mapping, or written as a list or mapping, is added to
    ``problems`` (in document order). Aliases are walked where they are used, so a
    document expanding to more than :data:`MAX_CONFIG_VALUES` values is refused here.
    """
    if len(positions) > MAX_CONFIG_VALUES:
        raise _error(
            file,
            f"the document holds more than {MAX_CONFIG_VALUES:,} keys and list items once its "
            "aliases (*name) are expanded; nested aliases can multiply a few lines into "
            "billions of values. Write the values out, or keep large data in a file a "
            "datasource reads",
        )
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            complex_key = _complex_key_problem(key_node, path, file)
            if complex_key is not None:
                problems.append(complex_key)
                continue
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(
                    Problem(
                        file,
                        _dotted(path + (key,)),
                        f"the key '{key}' appears twice in the same mapping (first on line "
                        f"{seen[key]}); YAML would silently keep only the last one",
                        line=line,
                    )
                )
                continue
            seen[key] = line
            child = path + (key,)
            positions[child] = (line, key_node.start_mark.column + 1)
            _walk(value_node, child, positions, problems, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = path + (index,)
            positions[child] = (item.start_mark.line + 1, item.start_mark.column + 1)
            _walk(item, child, positions, problems, file)


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


__all__ = ["FieldPath", "YamlDocument", "load_yaml", "parse_yaml"]
