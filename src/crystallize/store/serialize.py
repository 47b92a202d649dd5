"""JSON (de)serialization of replicate records and other stored values.

Records are encoded by orjson when it can do so exactly, else by the standard library
(see :func:`encode_record`); either way, values are written as JSON with these rules:

* ``int``/``bool``/``float``/``str``/``None``/lists/dicts round-trip exactly; floats use
  their shortest exact representation, and ``NaN``/``Infinity``/``-Infinity`` are
  written as such (JSON5-style literals Python's :mod:`json` reads back).
* Tuples come back as lists (except the ``(name, data)`` pairs of
  :attr:`ReplicateRecord.events`, which are rebuilt as tuples).
* numpy scalars and arrays (anything with ``tolist()`` or ``item()``) become the
  equivalent Python values; numpy is never imported here. ``np.longdouble``, which has
  no Python equivalent, becomes the nearest ``float``.
* A :class:`~decimal.Decimal` becomes the number its decimal text reads as in JSON: an
  ``int`` when that text is an integer (``Decimal(5)``), else the nearest ``float``
  (``Decimal("0.134")``, ``Decimal("5.0")``); NaN and ±Infinity as those floats. A
  :class:`~fractions.Fraction` becomes the nearest ``float``. One beyond float range is
  refused like the values below.
* Sets and frozensets become lists (sorted when their items can be sorted).
* Dict keys become strings, as JSON requires: ``str`` keys round-trip, ``int``/``float``/
  ``bool``/``None`` keys and numpy scalar keys come back as their JSON text (``"1"``,
  ``"0.5"``, ``"true"``), any other key (a tuple, say) as its ``str()``. Only values that
  need it are walked for this (see :func:`json_ready`). A dict two of whose keys have
  the same JSON text (``1`` and ``"1"``) has no JSON form: it is refused like the values
  below (the lossy encoding keeps its ``repr()`` text), not stored with one key dropped.
* Anything else, and an int too long for decimal text (over 4300 digits, Python's
  default limit), raises :class:`SerializationError` (a
  :class:`~crystallize.exceptions.StoreError`); the run store then falls back to
  :func:`encode_record_lossy`, which keeps such a value as its ``repr()`` text (such an
  int as its hexadecimal text), and so does with a value that fails in any other way (a
  reference cycle, a ``tolist()`` that raises): no value keeps a record out of the store.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

import orjson

from crystallize.exceptions import StoreError
from crystallize.record import STEPS_IN_STORE, ReplicateError, ReplicateRecord, StepRecord

_STEP_FIELDS: tuple[str, ...] = StepRecord.field_names
_ERROR_FIELDS: tuple[str, ...] = ReplicateError.field_names
_STEP_NAMES = frozenset(_STEP_FIELDS)
_ERROR_NAMES = frozenset(_ERROR_FIELDS)
# Steps are stored as positional lists in _STEP_FIELDS order (compact and fast to build);
# fields are only ever appended, so an older, shorter list decodes with the new defaults.


class SerializationError(StoreError):
    """A value cannot be stored as JSON (or stored JSON cannot be read back)."""


def json_default(obj: Any) -> Any:
    """Convert values :mod:`json` does not know into JSON-friendly Python values.

    Used as the ``default=`` hook of :func:`json.dumps`. Duck-typed so numpy does not
    have to be imported: arrays and numpy scalars expose ``tolist()``/``item()``. A
    numpy float with no Python equivalent (``np.longdouble``, whose ``tolist()`` gives
    it back) becomes the nearest ``float``; a :class:`~decimal.Decimal` the number its
    decimal text reads as in JSON (``Decimal("0.134")`` → ``0.134``, ``Decimal(5)`` →
    ``5``; NaN and ±Infinity as ``float``); a :class:`~fractions.Fraction` the nearest
    ``float``.

    Args:
        obj: The value json could not encode.

    Returns:
        An equivalent JSON-friendly value.

    Raises:
        TypeError: If the value has no JSON equivalent (a finite number beyond float
            range included), or its ``tolist()``/``item()`` raises: never another
            exception, so callers can fall back on ``TypeError`` alone.
    """
    tolist = getattr(obj, "tolist", None)
    if not callable(tolist):
        tolist = getattr(obj, "item", None)
    if callable(tolist):
        try:
            value = tolist()
        except Exception as exc:  # noqa: BLE001 - a user's tolist()/item() may raise anything
            raise TypeError(f"{type(obj).__name__}.{tolist.__name__}() raised {exc!r}") from exc
        if type(value) is not type(obj):
            return value
        return _numpy_float(obj)  # np.longdouble, np.clongdouble: tolist() gives them back
    # Not imported here (Python loads neither for ``import crystallize``): a Decimal or
    # Fraction can only exist once its module is loaded.
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(obj, decimal.Decimal):
        return _decimal_number(obj)
    fractions = sys.modules.get("fractions")
    if fractions is not None and isinstance(obj, fractions.Fraction):
        return _fraction_number(obj)
    if isinstance(obj, set | frozenset):
        try:
            return sorted(obj)
        except Exception:  # noqa: BLE001 - items that do not sort (or whose __lt__ raises)
            return list(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _numpy_float(obj: Any) -> float:
    """A numpy scalar with no Python equivalent as the nearest ``float``: a real float
    (``np.longdouble``) only, and only when in float range."""
    if getattr(getattr(obj, "dtype", None), "kind", None) != "f":
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")
    try:
        number = float(obj)
        finite = bool(obj == obj and abs(obj) != math.inf)  # NaN is not equal to itself
    except Exception as exc:  # noqa: BLE001 - an odd float type
        raise TypeError(f"{type(obj).__name__} {_short(obj)} has no float value: {exc!r}") from exc
    return _in_float_range(number, finite, obj)


def _in_float_range(number: float, finite: bool, obj: Any) -> float:
    """``number``, unless ``obj`` is ``finite`` and ``number`` is not (beyond float range)."""
    if finite and not math.isfinite(number):
        raise TypeError(f"{type(obj).__name__} {_short(obj)} is beyond float range")
    return number


def _decimal_number(obj: Any) -> int | float:
    """A :class:`~decimal.Decimal` as the number its text reads as in JSON: an int when
    the text is one (``Decimal(5)``), else the nearest float (``Decimal("5.0")``,
    ``Decimal("1E+2")``); NaN (signalling too) and ±Infinity as those floats."""
    if obj.is_nan():
        return math.nan
    if obj.is_infinite():
        return -math.inf if obj.is_signed() else math.inf
    text = str(obj)
    if text.lstrip("-").isdigit():
        return int(obj)
    return _in_float_range(float(text), True, obj)


def _fraction_number(obj: Any) -> float:
    """A :class:`~fractions.Fraction` as the nearest float (correctly rounded)."""
    try:
        return obj.numerator / obj.denominator
    except OverflowError as exc:
        raise TypeError(f"Fraction {_short(obj)} is beyond float range") from exc


_JSON_KEY_TYPES = (str, int, float, bool, type(None))


def json_key(key: Any) -> Any:
    """``key`` as a dict key JSON takes: numpy scalars as their Python value, other
    keys JSON refuses as their ``str()``."""
    if isinstance(key, _JSON_KEY_TYPES):
        return key
    item = getattr(key, "item", None)
    if callable(item):
        try:
            value = item()
        except Exception:  # noqa: BLE001 - a user's item() may raise anything: its str() then
            value = key
        if isinstance(value, _JSON_KEY_TYPES):
            return value
    try:
        return str(key)
    except Exception:  # noqa: BLE001 - a user's __str__ may raise anything
        return _repr_text(key)


def json_key_text(key: Any) -> str:
    """The text JSON writes for dict key ``key`` (see :func:`json_key`): ``"1"`` for
    ``1``, ``"true"`` for ``True``, ``"null"`` for ``None``."""
    key = json_key(key)
    return str.__str__(key) if isinstance(key, str) else json.dumps(key)


def json_ready(value: Any, collided: Any = None) -> Any:
    """``value`` with every dict key made the text JSON writes for it (see
    :func:`json_key_text`) and numpy values, tuples and sets turned into Python values
    and lists, recursively.

    For the slow path only: encoders try the value as it is first. Values with no JSON
    equivalent are left as they are (the encoder then refuses them). A dict two of whose
    keys have the same text is ``collided(dict)`` when given, else a ``TypeError``.
    """
    if isinstance(value, dict):
        ready = {json_key_text(key): json_ready(item, collided) for key, item in value.items()}
        if len(ready) < len(value):  # 1 and "1": one key in JSON, one value would be lost
            if collided is not None:
                return collided(value)
            raise TypeError(f"the dict {_short(value)} has keys that are one key in JSON ({_same_text(value)})")
        return ready
    if isinstance(value, list | tuple):
        return [json_ready(item, collided) for item in value]
    if isinstance(value, _JSON_KEY_TYPES):
        return value
    try:
        return json_ready(json_default(value), collided)
    except TypeError:
        return value


def _same_text(mapping: dict[Any, Any]) -> str:
    """The first two keys of ``mapping`` JSON writes as the same text, ``1 and '1'``."""
    first: dict[str, Any] = {}
    for key in mapping:
        text = json_key_text(key)
        if text in first:
            return f"{first[text]!r} and {key!r}"
        first[text] = key
    return ""


def _short(value: Any) -> str:
    """``repr(value)``, cut to 60 characters."""
    text = _repr_text(value)
    return text if len(text) <= 60 else text[:57] + "..."


_ENCODER = json.JSONEncoder(default=json_default, allow_nan=True, separators=(",", ":"))


def dumps(value: Any) -> str:
    """Encode ``value`` as compact JSON following the module's rules.

    Raises:
        SerializationError: If the value (or something inside it) cannot be encoded.
    """
    try:
        return _ENCODER.encode(value)
    except TypeError:  # perhaps a dict key JSON refuses (a numpy integer): walk and retry
        pass
    except Exception as exc:  # noqa: BLE001 - ValueError, RecursionError, or what a value raised
        raise _unencodable(exc) from exc
    try:
        return _ENCODER.encode(json_ready(value))
    except Exception as exc:  # noqa: BLE001 - as above
        raise _unencodable(exc) from exc


def strict_dumps(value: Any, indent: int | None = 2) -> str:
    """``value`` as strict JSON, which any JSON parser reads: NaN and ±inf are written
    as ``null`` (:mod:`json` would write the non-standard ``NaN``/``Infinity``), values
    JSON has no form for as their ``repr()``."""
    return json.dumps(_finite_or_none(value), indent=indent, allow_nan=False, default=repr)


def _finite_or_none(value: Any) -> Any:
    """``value`` with every NaN/±inf float made ``None``, in dicts, lists and tuples."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite_or_none(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_none(item) for item in value]
    return value


def _unencodable(exc: BaseException) -> SerializationError:
    return SerializationError(
        f"Cannot store value as JSON: {exc}. Stored values may only hold str, int, "
        "float, bool, None, lists, dicts, and numpy scalars/arrays."
    )


def loads(text: str) -> Any:
    """Decode JSON written by :func:`dumps` or :func:`encode_record`.
    Always the standard library: orjson would read integers beyond 64 bits as floats.

    Raises:
        SerializationError: If the text is not valid JSON.
    """
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        raise SerializationError(f"Stored JSON is corrupt: {exc}") from exc


#: Fields of a stored record payload in the earlier positional form (still read).
_PAYLOAD_FIELDS = (
    "seed", "metrics", "steps", "error", "duration", "started_at", "events", "metric_tags",
    "worker", "code_digest",
)
_N_STEP_CORE = _STEP_FIELDS.index("duration") + 1  # fields after it are usually defaults
# Types orjson would encode but the standard library refuses go to ``default`` instead,
# so both encoders accept exactly the same values. numpy values go there too (orjson's
# own numpy support writes float32 as the shortest float32 text, e.g. 0.1 for what is
# 0.10000000149011612 as a Python float).
_FAST_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)

# orjson writes NaN and infinities as ``null``; a regex finds it about twice as fast as
# ``b"null" in``.
_find_null = re.compile(rb"null").search


def record_payload(record: ReplicateRecord) -> dict[str, Any]:
    """Every field of ``record`` except condition and replicate, as a dict.

    Fields at their defaults (no error, events, tags or code digest; no seed) are left
    out. Steps become positional lists in ``StepRecord.field_names`` order, without the
    trailing fields when those hold their defaults. Values are not copied.
    """
    payload = {
        "metrics": record.metrics,
        # Plain tuples (orjson does not take named tuples), cut before cache_miss_reason
        # and artifacts when both are at their defaults (inline: this runs per step).
        "steps": [
            step[:_N_STEP_CORE] if step[_N_STEP_CORE] is None and not step[_N_STEP_CORE + 1] else step[:]
            for step in record.steps
        ],
        "duration": record.duration,
        "started_at": record.started_at,
        "worker": record.worker,
    }
    if record.seed is not None:
        payload["seed"] = record.seed
    error = record.error
    if error is not None:
        payload["error"] = {name: getattr(error, name) for name in _ERROR_FIELDS}
    if record.events:
        payload["events"] = record.events
    if record.metric_tags is not None:
        payload["metric_tags"] = record.metric_tags
    if record.code_digest is not None:
        payload["code_digest"] = record.code_digest
    return payload


def encode_record(record: ReplicateRecord) -> str:
    """Encode ``record`` (all fields but condition and replicate) as a JSON string.

    orjson encodes most records in well under a microsecond. It writes ``NaN`` and
    infinities as ``null``, so any output holding a ``null`` (or anything orjson
    refuses: non-``str`` keys, integers beyond 64 bits) is encoded again by the
    standard library, which keeps those values exactly (see :func:`dumps`; only then,
    and only if that fails too, is the record walked to fix keys JSON refuses).

    Raises:
        SerializationError: If the record holds a value that cannot be encoded; the
            message names the record.
    """
    payload = record_payload(record)
    try:
        fast = orjson.dumps(payload, default=json_default, option=_FAST_OPTIONS)
    except (TypeError, ValueError):  # orjson.JSONEncodeError is a TypeError
        # A key that is not a str (orjson refuses those): walked, so that keys with the
        # same JSON text (1 and "1") are refused rather than written twice.
        try:
            return _ENCODER.encode(json_ready(payload))
        except Exception as exc:  # noqa: BLE001 - whatever a value raises: the lossy form then
            raise SerializationError(
                f"Cannot store the record of condition '{record.condition}' replicate "
                f"{record.replicate}: {exc}"
            ) from exc
    if _find_null(fast) is None:
        return fast.decode()
    try:
        return dumps(payload)
    except SerializationError as exc:
        raise SerializationError(
            f"Cannot store the record of condition '{record.condition}' replicate "
            f"{record.replicate}: {exc}"
        ) from exc.__cause__


def encode_record_lossy(record: ReplicateRecord) -> tuple[str, list[str]]:
    """Encode ``record`` like :func:`encode_record`, storing what JSON cannot hold as text.

    For a record that :func:`encode_record` refuses (a metric that is a ``complex``, an
    arbitrary object): each such value is written as its ``repr()`` string
    (``<TYPE object: repr() failed>`` when that raises), and an int too long for decimal
    text as its hexadecimal text (see :func:`long_ints_as_text`), so the rest of the
    record — and the run — can still be stored. A value that cannot be encoded even so
    (a reference cycle, a ``tolist()`` that never gives a plain value) is found by
    encoding the record's parts one by one (see :func:`_salvaged`) and stored as its
    ``repr()`` text too.

    Returns:
        The JSON text and a short description of each value stored as text, each
        description once (a metric value is also in its step's metrics).

    Raises:
        SerializationError: Never for a value of the record; only for a record whose
            fields themselves are malformed.
    """
    replaced: dict[str, None] = {}  # an ordered set of descriptions
    payload = record_payload(record)
    try:
        return _lossy_text(payload, replaced), list(replaced)
    except Exception:  # noqa: BLE001 - whatever a value raises, the record is still stored
        replaced.clear()
    try:
        salvaged = _salvaged(payload, replaced, "", _SALVAGE_DEPTH)
        return _lossy_text(salvaged, replaced), list(replaced)
    except Exception as exc:  # noqa: BLE001 - not expected: the salvaged payload is plain JSON
        raise SerializationError(
            f"Cannot store the record of condition '{record.condition}' replicate "
            f"{record.replicate}: {exc!r}"
        ) from exc


def _lossy_text(value: Any, replaced: dict[str, None]) -> str:
    """``value`` as JSON text, each value JSON cannot hold as its ``repr()`` text and
    each int too long for decimal text as its hexadecimal text, with a description of
    each added to ``replaced`` (see :func:`encode_record_lossy`).

    Raises:
        Exception: Whatever a value raises that cannot be encoded even so.
    """

    def as_text(obj: Any) -> Any:
        try:
            return json_default(obj)
        except TypeError:
            text = _repr_text(obj)
            replaced[f"{type(obj).__name__} {_short(obj)}"] = None
            return text

    def collided(mapping: dict[Any, Any]) -> str:
        replaced[f"dict {_short(mapping)} (keys {_same_text(mapping)} are one key in JSON)"] = None
        return _repr_text(mapping)

    encoder = json.JSONEncoder(default=as_text, allow_nan=True, separators=(",", ":"))
    ready = json_ready(value, collided)
    try:
        return encoder.encode(ready)
    except ValueError:  # an int too long for text (over 4300 digits, by default)
        return encoder.encode(long_ints_as_text(ready, replaced))


#: How deep :func:`_salvaged` looks into a record payload for the values that fail: to
#: each value of a metric (payload, metrics, metric name, list of values) and of a
#: step's metrics (payload, steps, step, field, metric name, list of values).
_SALVAGE_DEPTH = 5


def _salvaged(
    value: Any, replaced: dict[str, None], where: str, depth: int, inside: frozenset[int] = frozenset()
) -> Any:
    """``value`` as plain JSON values (as :func:`loads` gives them back), with each part
    that cannot be encoded even as text (see :func:`_lossy_text`) as its ``repr()``
    text, a description naming where it is (``metrics['loss'][0]``) added to
    ``replaced``. Dicts and lists are looked into ``depth`` levels deep (not into one
    that holds itself: ``inside`` has the ids of the containers around ``value``); below
    that, a part that fails is stored whole as its text.
    """
    found: dict[str, None] = {}
    try:
        if id(value) in inside:
            raise ValueError("a reference cycle")
        plain = json.loads(_lossy_text(value, found))
    except Exception as exc:  # noqa: BLE001 - whatever the value raises
        if depth > 0 and id(value) not in inside and isinstance(value, dict | list | tuple):
            around = inside | {id(value)}
            if isinstance(value, dict):
                parts = {}
                for key, item in value.items():
                    at = f"{where}[{_repr_text(key)}]" if where else str(key)
                    parts[json_key_text(key)] = _salvaged(item, replaced, at, depth - 1, around)
                if len(parts) == len(value):  # else keys JSON writes alike: the dict as text
                    return parts
            else:
                return [
                    _salvaged(item, replaced, f"{where}[{index}]", depth - 1, around)
                    for index, item in enumerate(value)
                ]
        problem = f"{type(exc).__name__}: {exc}"
        problem = problem if len(problem) <= 60 else problem[:57] + "..."
        replaced[f"{where}: {type(value).__name__} {_short(value)} ({problem})"] = None
        return _repr_text(value)
    replaced.update(found)
    return plain


def _repr_text(obj: Any) -> str:
    """``repr(obj)``, or ``<TYPE object: repr() failed>`` when its ``__repr__`` raises."""
    try:
        return repr(obj)
    except Exception:  # noqa: BLE001 - any user __repr__ may fail; the record is still stored
        return f"<{type(obj).__name__} object: repr() failed>"


def _digits(number: int) -> int:
    """How many decimal digits a non-zero ``number`` has (without writing it as text)."""
    number = abs(number)
    digits = int(math.log10(number)) + 1  # the float logarithm may be off by one digit
    if number < 10 ** (digits - 1):
        return digits - 1
    return digits + 1 if number >= 10**digits else digits


def long_ints_as_text(value: Any, replaced: dict[str, None] | None = None) -> Any:
    """``value`` with every int too long for decimal text (more digits than
    ``sys.get_int_max_str_digits()``, 4300 by default) replaced by its hexadecimal text
    (``int(text, 16)`` reads it back), in dicts and lists, recursively.

    Args:
        value: a JSON-ready value (see :func:`json_ready`).
        replaced: when given, gets a description of each int replaced, as a key.
    """
    if isinstance(value, dict):
        return {key: long_ints_as_text(item, replaced) for key, item in value.items()}
    if isinstance(value, list):
        return [long_ints_as_text(item, replaced) for item in value]
    if isinstance(value, int) and value.bit_length() > _TEXT_SAFE_BITS:
        try:
            repr(value)
        except ValueError:
            if replaced is not None:
                replaced[f"int with {_digits(value)} digits (stored as hexadecimal text)"] = None
            return hex(value)
    return value


#: Ints of at most this many bits (602 digits) always have decimal text: Python's digit
#: limit is at least 640.
_TEXT_SAFE_BITS = 2_000


def _known(data: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    # Ignore fields written by newer code that this version's record classes lack.
    if data.keys() <= names:
        return data
    return {key: value for key, value in data.items() if key in names}


def _decode_step(step: Any) -> StepRecord:
    if isinstance(step, dict):  # the earlier, keyed form
        return StepRecord(**_known(step, _STEP_NAMES))
    return StepRecord(*step[: len(_STEP_FIELDS)])


def decode_record(condition: str, replicate: int, payload: str, *, steps: bool = True) -> ReplicateRecord:
    """Rebuild a :class:`ReplicateRecord` from :func:`encode_record` output.

    Args:
        condition: The record's condition.
        replicate: The record's replicate index.
        payload: JSON from :func:`encode_record`.
        steps: ``False`` leaves the step provenance out (``record.steps`` is
            :data:`~crystallize.record.STEPS_IN_STORE`), without decoding it when the
            payload is in the form :func:`encode_record` writes (see
            :func:`_fields_without_steps`).

    Raises:
        SerializationError: If the payload is corrupt.
    """
    data = None if steps else _fields_without_steps(payload)
    if data is None:
        data = loads(payload)
        if isinstance(data, list):  # the positional form (see record_payload)
            data = dict(zip(_PAYLOAD_FIELDS, data, strict=False))
    try:
        error = data.get("error")
        return ReplicateRecord(
            condition=condition,
            replicate=replicate,
            seed=data.get("seed"),
            metrics=data.get("metrics", {}),
            steps=[_decode_step(step) for step in data.get("steps", [])] if steps else STEPS_IN_STORE,
            error=None if error is None else ReplicateError(**_known(error, _ERROR_NAMES)),
            duration=data.get("duration", 0.0),
            started_at=data.get("started_at", 0.0),
            events=[tuple(event) for event in data.get("events", [])],
            metric_tags=data.get("metric_tags"),
            worker=data.get("worker", 0),
            code_digest=data.get("code_digest"),
        )
    except (AttributeError, TypeError) as exc:
        raise SerializationError(
            f"Stored record of condition '{condition}' replicate {replicate} is malformed: {exc}"
        ) from exc


_METRICS_START = '{"metrics":'
_STEPS_START = ',"steps":['
_STEPS_END = '],"duration":'
_decode_value = json.JSONDecoder().raw_decode


def _fields_without_steps(payload: str) -> dict[str, Any] | None:
    """Every field of a payload :func:`record_payload` laid out (``metrics``, ``steps``,
    ``duration``, ... in that order, compact) except ``steps``, which is skipped as
    text rather than decoded; ``None`` for a payload in another form.

    The steps end at the first ``],"duration":`` after them whose rest reads as an
    object: inside a string that text would have escaped quotes, and one inside a step
    leaves brackets closing that the rest never opened, so its rest does not read.
    """
    if not payload.startswith(_METRICS_START):
        return None
    try:
        metrics, end = _decode_value(payload, len(_METRICS_START))
    except ValueError:
        return None
    if not payload.startswith(_STEPS_START, end):
        return None
    end = payload.find(_STEPS_END, end)
    while end >= 0:
        try:
            data = json.loads("{" + payload[end + 2 :])
        except ValueError:
            end = payload.find(_STEPS_END, end + 1)
            continue
        data["metrics"] = metrics
        return data
    return None


__all__ = [
    "SerializationError",
    "decode_record",
    "dumps",
    "encode_record",
    "json_default",
    "json_key",
    "json_ready",
    "loads",
    "long_ints_as_text",
    "record_payload",
    "strict_dumps",
]
