"""Table exports of a :class:`~crystallize.result.Result`: its pandas DataFrame and the
Parquet file written from it (imported on first use of either)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from numbers import Integral
from typing import Any

from crystallize.record import ReplicateRecord
from crystallize.result import _adds_metrics

#: The columns every frame starts with, whatever the metrics are named.
FIXED_COLUMNS = ("condition", "replicate", "seed", "error", "duration")
#: What pandas puts in a row that lacks a column's value.
_GAP = float("nan")


def records_frame(records: Sequence[ReplicateRecord], tagged: bool) -> Any:
    """The DataFrame of :meth:`Result.to_dataframe`: one row per record, its fixed
    columns, ``metric_tags`` when ``tagged``, then one column per metric (built column by
    column, so a large run costs one pass over its records)."""
    import pandas as pd

    columns: dict[str, Any] = {
        "condition": _text_kept([record.condition for record in records]),
        "replicate": [record.replicate for record in records],
        "seed": [record.seed for record in records],
        # object, not pandas' string type, so "no error" stays None rather than NaN
        "error": pd.Series([str(r.error) if r.error else None for r in records], dtype=object),
        "duration": [record.duration for record in records],
    }
    fixed: tuple[str, ...] = FIXED_COLUMNS
    if tagged:
        fixed += ("metric_tags",)
        columns["metric_tags"] = [r.metric_tags if _adds_metrics(r) else None for r in records]
    metrics = _metric_columns(records)
    renamed = _renamed_metrics(metrics, fixed)
    if renamed:
        _warn_renamed(renamed)
    for metric, values in metrics.items():
        columns[renamed.get(metric, metric)] = _typed(values)
    if _holds_surrogate(columns):  # a name with a lone surrogate, which pandas' str labels cannot hold
        frame = pd.DataFrame(dict(enumerate(columns.values())))
        frame.columns = pd.Index(list(columns), dtype=object)
        return frame
    return pd.DataFrame(columns)


def _holds_surrogate(texts: Iterable[Any]) -> bool:
    """True when a string among ``texts`` holds a lone surrogate (text decoded with
    ``surrogateescape``), which UTF-8, and so pandas' Arrow-backed ``str`` type, cannot
    hold (checked in one C pass)."""
    try:
        "".join(text for text in texts if isinstance(text, str)).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _text_kept(values: list[Any]) -> Any:
    """``values`` (a column of strings) as pandas types them, or, when one holds a lone
    surrogate, which pandas' ``str`` type cannot hold, as they are (``object``)."""
    if _holds_surrogate(values):
        import pandas as pd

        return pd.Series(values, dtype=object)
    return values


def _metric_columns(records: Sequence[ReplicateRecord]) -> dict[str, list[Any]]:
    """``{metric: [value per record]}``: the value when the replicate recorded the metric
    once, a list of them when several times, NaN when it did not record it or failed (a
    failed replicate adds no metrics, as in ``result.metrics``)."""
    columns: dict[str, list[Any]] = {}
    for row, record in enumerate(records):
        if not _adds_metrics(record):
            continue
        for metric, values in record.metrics.items():
            column = columns.get(metric)
            if column is None:
                column = columns[metric] = [_GAP] * len(records)
            column[row] = values[0] if len(values) == 1 else list(values)
    return columns


def _typed(values: list[Any]) -> Any:
    """A metric column as pandas should hold it: as pandas types it, except where pandas
    would change a value. Integers or booleans with gaps, which pandas would turn into
    floats (rounding integers beyond 2**53) or objects, get a nullable type — ``Int64``,
    ``UInt64`` beyond the int64 range, ``boolean`` — and integers beyond 64 bits stay
    Python ints (``object``). Integers mixed with floats become floats only when every
    integer is exact as a float; otherwise the column keeps its values as they are
    (``object``), whatever the order of its rows. Strings of which one holds a lone
    surrogate stay as they are (``object``): pandas' ``str`` type cannot hold it."""
    from pandas.api.types import infer_dtype

    kind = infer_dtype(values, skipna=True)
    if kind == "string":
        return _text_kept(values)
    if kind == "mixed-integer-float":
        if all(map(_float_holds, values)):
            return values  # pandas makes it float64, losing nothing
        import pandas as pd

        return pd.array(values, dtype=object)
    if kind not in ("integer", "boolean") or infer_dtype(values, skipna=False) == kind:
        return values  # not integers or booleans, or no gaps: pandas types them exactly
    import pandas as pd

    if kind == "boolean":
        return pd.array(values, dtype="boolean")
    # The gaps as None: pandas reads a list holding NaN as floats first (UInt64 rounded).
    values = [None if value != value else value for value in values]
    for dtype in ("Int64", "UInt64"):
        try:
            return pd.array(values, dtype=dtype)
        except (OverflowError, TypeError, ValueError):  # a value outside the type's range
            continue
    return pd.array(values, dtype=object)


def _float_holds(value: Any) -> bool:
    """False for an integer (Python's or NumPy's) a float64 cannot hold exactly."""
    if not isinstance(value, Integral):
        return True
    try:
        return int(float(value)) == int(value)
    except OverflowError:  # beyond the float range
        return False


def _renamed_metrics(metrics: Iterable[str], fixed: Sequence[str]) -> dict[str, str]:
    """``{metric: column}`` for the metrics named like a fixed column: ``"metric:<name>"``,
    or ``"metric:<name>:2"`` (``:3``, ...) when a metric already has that name."""
    taken = {*metrics, *fixed}
    renamed: dict[str, str] = {}
    for metric in metrics:
        if metric not in fixed:
            continue
        column, number = f"metric:{metric}", 2
        while column in taken:
            column, number = f"metric:{metric}:{number}", number + 1
        taken.add(column)
        renamed[metric] = column
    return renamed


def _warn_renamed(renamed: dict[str, str]) -> None:
    """Say which metrics :meth:`Result.to_dataframe` put in ``metric:<name>`` columns."""
    import warnings

    names = ", ".join(repr(name) for name in renamed)
    columns = ", ".join(repr(column) for column in renamed.values())
    taken = [f"metric:{name}" for name, column in renamed.items() if column != f"metric:{name}"]
    note = ""
    if taken:
        note = f" (other metrics already have the name(s) {', '.join(map(repr, taken))})"
    warnings.warn(
        f"to_dataframe(): metric(s) {names} share a name with the dataframe's fixed columns, "
        f"so their values are in column(s) {columns}{note}; the fixed columns keep the run's "
        "own values (rename the metrics to avoid this).",
        UserWarning,
        stacklevel=4,
    )


def surrogates_escaped_frame(frame: Any) -> Any:
    """``frame`` with each lone surrogate in its column names and in the strings of its
    ``object`` columns (at any depth of a list) written as its ``\\uXXXX`` escape, as
    :meth:`Result.to_json` writes it: Parquet (UTF-8) cannot hold it. ``frame`` itself
    when it holds none, else a copy."""
    import pandas as pd
    from pandas.api.types import is_object_dtype

    from crystallize.utils.text import surrogates_escaped

    escaped = {
        index: pd.Series([_escaped_deep(value) for value in frame.iloc[:, index]], dtype=object, index=frame.index)
        for index, kind in enumerate(frame.dtypes)
        if is_object_dtype(kind) and _holds_surrogate(_texts(frame.iloc[:, index]))
    }
    relabel = _holds_surrogate(frame.columns)
    if not escaped and not relabel:
        return frame
    frame = frame.copy()
    for index, column in escaped.items():
        frame.isetitem(index, column)
    if relabel:
        frame.columns = pd.Index([surrogates_escaped(c) if isinstance(c, str) else c for c in frame.columns], dtype=object)
    return frame


def _texts(values: Iterable[Any]) -> Iterator[str]:
    """The strings among ``values`` and in their lists and tuples, at any depth."""
    for value in values:
        if isinstance(value, str):
            yield value
        elif isinstance(value, list | tuple):
            yield from _texts(value)


def _escaped_deep(value: Any) -> Any:
    """``value`` with the lone surrogates of its strings (in lists and tuples too) escaped."""
    from crystallize.utils.text import surrogates_escaped

    if isinstance(value, str):
        return surrogates_escaped(value)
    if type(value) in (list, tuple):
        return type(value)(_escaped_deep(item) for item in value)
    return value


def json_text_columns(frame: Any) -> list[str]:
    """The object and complex columns of ``frame`` Parquet cannot keep as they are: those
    Arrow cannot give a single type (complex numbers have none), those holding dicts
    (Arrow would make them structs, giving every row every key any row has and one number
    type to all rows' values), and those mixing booleans with other numbers (Arrow makes
    the booleans floats when a float comes first, and fails otherwise, so the column's
    type would depend on the order of its rows)."""
    import pyarrow as pa
    from pandas.api.types import is_complex_dtype, is_object_dtype

    found = []
    for column in frame.columns:
        kind = frame[column].dtype
        if not (is_object_dtype(kind) or is_complex_dtype(kind)):  # Arrow has no complex type
            continue
        try:
            typed = pa.array(frame[column], from_pandas=True).type
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            found.append(column)
            continue
        if _holds_struct(typed) or (_holds_floats(typed) and _holds_bool(frame[column])):
            found.append(column)
    return found


def _holds_floats(kind: Any) -> bool:
    """True when Arrow type ``kind`` is a float type or a list (of lists ...) of floats."""
    import pyarrow as pa

    return pa.types.is_floating(_leaf(kind))


def _holds_struct(kind: Any) -> bool:
    """True when Arrow type ``kind`` is a struct or a list (of lists ...) of structs."""
    import pyarrow as pa

    return pa.types.is_struct(_leaf(kind))


def _leaf(kind: Any) -> Any:
    """The type of the values in Arrow type ``kind``'s lists (of lists ...), or ``kind``."""
    import pyarrow as pa

    lists = (pa.types.is_list, pa.types.is_large_list, pa.types.is_fixed_size_list)
    while any(is_list(kind) for is_list in lists):
        kind = kind.value_type
    return kind


def _holds_bool(values: Iterable[Any]) -> bool:
    """True when ``values``, or a list, tuple or array among them (at any depth), holds a
    boolean (Python's or NumPy's)."""
    from itertools import chain

    import numpy as np

    level = list(values)
    while level:  # one depth of nesting at a time, its values' types taken in one C pass
        kinds = set(map(type, level))
        if bool in kinds or np.bool_ in kinds:
            return True
        nested = tuple(kind for kind in kinds if issubclass(kind, (list, tuple, np.ndarray)))
        if not nested:
            return False
        inner = [value for value in level if isinstance(value, nested)]
        if any(issubclass(kind, np.ndarray) for kind in nested):
            arrays = [value for value in inner if isinstance(value, np.ndarray)]
            if any(array.dtype.kind == "b" for array in arrays):
                return True
            # only arrays of Python objects can hold a bool or a list among other values
            inner = [value for value in inner if not isinstance(value, np.ndarray)]
            inner += [array.ravel() for array in arrays if array.dtype == object]
        level = list(chain.from_iterable(inner))
    return False


def missing(value: Any) -> bool:
    """``None`` or a float NaN (what pandas puts in a metric column a replicate lacks)."""
    return value is None or (isinstance(value, float) and value != value)
