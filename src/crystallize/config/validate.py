"""Validating a parsed ``config.yaml`` and turning pydantic's errors into :class:`Problem` s.

Each pydantic error becomes one line naming the field path and what was expected::

    config.yaml: replicates: expected a whole number, got 'ten' (a string) (line 3)
    config.yaml: replicats: unknown key 'replicats'; did you mean 'replicates'? (line 4)
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any

from pydantic import BaseModel, ValidationError

from crystallize.config.errors import ConfigValidationError, Problem, did_you_mean
from crystallize.config.schema import ExperimentConfig, PostProblems, describe, yaml11_boolean_hint
from crystallize.config.yaml_io import FieldPath, YamlDocument

_EXPECTED = {
    "int_type": "a whole number", "int_parsing": "a whole number", "int_from_float": "a whole number",
    "float_type": "a number", "float_parsing": "a number",
    "bool_type": "true or false", "bool_parsing": "true or false",
    "string_type": "a string", "dict_type": "a mapping (key: value)", "list_type": "a list",
    "model_type": "a mapping (key: value)", "model_attributes_type": "a mapping (key: value)",
}

def validate_document(doc: YamlDocument) -> ExperimentConfig:
    """Check the structure of a parsed ``config.yaml``.

    Args:
        doc: the parsed document.

    Returns:
        The validated config.

    Raises:
        ConfigValidationError: listing every structural problem with its field path.
    """
    data = doc.data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigValidationError(
            [Problem(doc.path, "", f"expected a mapping of fields (name:, datasource:, steps:, ...), got {describe(data)}")]
        )
    try:
        return ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(doc, error) for error in exc.errors()]
    except PostProblems as exc:
        problems = [
            Problem(doc.path, format_path(path), message, doc.line_of(path))
            for path, message in exc.problems
        ]
    raise ConfigValidationError(sorted(problems, key=lambda p: (p.line or 0)))


def format_path(path: FieldPath) -> str:
    """``("steps", 1, "x")`` -> ``steps[1].x``; a key that is empty or starts or ends with
    whitespace is quoted (``treatments.' '``), or it would not show."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            shown = repr(part) if isinstance(part, str) and (not part or part != part.strip()) else str(part)
            text += f".{shown}" if text else shown
    return text


def _problem(doc: YamlDocument, error: Any) -> Problem:
    loc = tuple(error["loc"])
    is_key = bool(loc) and loc[-1] == "[key]"
    path = _as_written(doc, tuple(p for p in loc if p != "[key]"))
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if (is_key and kind == "string_type") or kind == "invalid_key":
        return _key_problem(doc, path[:-1], value)
    if kind == "extra_forbidden":
        allowed = _fields_at(path[:-1])
        key = str(path[-1])
        message = f"unknown key '{key}'" + did_you_mean(key, allowed, what="keys")
    elif kind == "missing":
        message = "this field is required"
    elif kind in _EXPECTED:
        message = f"expected {_EXPECTED[kind]}, got {describe(value)}"
        if kind == "bool_type":
            message += yaml11_boolean_hint(value)
    elif kind == "literal_error":
        expected = ctx.get("expected", "")
        hint = did_you_mean(value, _literal_options(expected)) if isinstance(value, str) else ""
        message = f"expected one of {expected}, got {describe(value)}{hint}"
    elif kind == "greater_than_equal":
        message = f"must be at least {ctx.get('ge')}, got {describe(value)}"
    elif kind == "less_than_equal":
        message = f"must be at most {ctx.get('le')}, got {describe(value)}"
    elif kind == "too_short":
        message = "must not be empty"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
    if is_key:
        message = f"key {describe(value) if value is not None else ''}: {message}"
    return Problem(doc.path, format_path(path), message, doc.line_of(path))


def _as_written(doc: YamlDocument, path: FieldPath) -> FieldPath:
    """``path`` as the file has it: a treatment written as ``name: {key: value}`` holds its
    values directly, where the validated form has them under ``values``."""
    if len(path) > 3 and path[0] == "treatments" and path[2] == "values" and path[:3] not in doc.positions:
        return path[:2] + path[3:]
    return path


_KEY_KINDS = {bool: "a boolean", int: "an integer", float: "a number", type(None): "null"}


def _key_problem(doc: YamlDocument, parent: FieldPath, key: Any) -> Problem:
    """A mapping key that must be a string but is read as a number, boolean, null or date:
    named as written, at its own line, with the quoted spelling that makes it a string."""
    import datetime

    text = doc.key_texts.get(parent + (key,), str(key))
    kind = _KEY_KINDS.get(type(key)) or (
        "a date and time" if isinstance(key, datetime.datetime)
        else "a date" if isinstance(key, datetime.date) else describe(key)
    )
    message = (
        f"the key {text} is read as {kind}, but this key must be a string: quote it "
        f'("{text}":)'
    )
    line = doc.line_of(parent + (key,))
    if not parent:  # a top-level key: a whole-file problem, so say where in the message
        return Problem(doc.path, "", f"line {line}: {message}" if line else message, line)
    return Problem(doc.path, format_path(parent), message, line)


def _literal_options(expected: str) -> list[str]:
    return [part.strip(" '") for part in expected.replace(" or ", ",").split(",") if part.strip(" '")]


def _fields_at(path: FieldPath) -> list[str]:
    """The keys allowed in the mapping at ``path`` (for did-you-mean suggestions)."""
    current: Any = ExperimentConfig
    for part in path:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            if info is None:
                return []
            current = info.annotation
        else:
            origin, args = typing.get_origin(current), typing.get_args(current)
            if origin in (list, dict) and args:
                current = args[-1]
            else:
                return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = options[0] if len(options) == 1 else annotation
            if len(options) != 1:
                return annotation
        else:
            return annotation


__all__ = ["format_path", "validate_document"]
