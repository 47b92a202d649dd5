"""Reading ``config.yaml`` safely, remembering where every value was written.

Only YAML's safe loader is used: it builds plain data (mappings, lists, strings,
numbers, booleans, null) and refuses every ``!!python/...`` tag, so loading a config
never constructs objects or runs code. Syntax errors and refused tags become a
:class:`~crystallize.config.errors.ConfigValidationError` with the line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from crystallize.config.errors import ConfigValidationError, Problem

#: A field path inside a document: mapping keys and list indexes.
FieldPath = tuple[str | int, ...]


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
            uses a tag the safe loader refuses (``!!python/object``...), or repeats a
            mapping key. The message gives the line and column.
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
        duplicates: list[Problem] = []
        if root is not None:
            _walk(root, (), positions, duplicates, path)
        if duplicates:
            raise ConfigValidationError(duplicates)
        data = yaml.safe_load(text)
    except yaml.constructor.ConstructorError as exc:
        raise _marked(path, exc, _tag_message(exc)) from None
    except yaml.MarkedYAMLError as exc:
        problem = exc.problem or "invalid YAML"
        if exc.context:
            problem = f"{problem} ({exc.context})"
        raise _marked(path, exc, f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise _error(path, f"YAML error: {exc}") from None
    return YamlDocument(path, data, positions)


def _tag_message(exc: yaml.constructor.ConstructorError) -> str:
    problem = exc.problem or ""
    tag = problem.split("tag", 1)[-1].strip(" '") if "tag" in problem else ""
    shown = tag.replace("tag:yaml.org,2002:", "!!") if tag else "this tag"
    return (
        f"the tag '{shown}' is not allowed: config.yaml is read with YAML's safe loader, "
        "which builds only plain data (mappings, lists, strings, numbers, booleans, null) "
        "and never Python objects. Remove the tag; name functions from the experiment's "
        "Python modules instead."
    )


def _walk(
    node: yaml.Node,
    path: FieldPath,
    positions: dict[FieldPath, tuple[int, int]],
    duplicates: list[Problem],
    file: Path,
) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                duplicates.append(
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
            _walk(value_node, child, positions, duplicates, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = path + (index,)
            positions[child] = (item.start_mark.line + 1, item.start_mark.column + 1)
            _walk(item, child, positions, duplicates, file)


def _dotted(path: FieldPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _marked(path: Path, exc: yaml.MarkedYAMLError, message: str) -> ConfigValidationError:
    mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return _error(path, message)
    line, column = mark.line + 1, mark.column + 1
    return ConfigValidationError(
        [Problem(path, "", f"line {line}, column {column}: {message}", line, column)]
    )


def _error(path: Path, message: str) -> ConfigValidationError:
    return ConfigValidationError([Problem(path, "", message)])


__all__ = ["FieldPath", "YamlDocument", "load_yaml", "parse_yaml"]
