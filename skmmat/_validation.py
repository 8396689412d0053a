"""Input validation shared by every skmmat component.

Errors raised here name the offending column, file or parameter so that a
user never has to read a torch traceback to find a data problem.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

__all__ = [
    "as_label_array",
    "check_array_cells",
    "check_array_column",
    "check_dataframe",
    "check_labels",
]


def as_label_array(y):
    """``y`` (array-like, pandas Series or None) as a numpy array, None kept."""
    if y is None:
        return None
    return np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)


def check_dataframe(X, columns=(), *, caller="this estimator", allow_empty=False):
    """Check that ``X`` is a DataFrame holding ``columns``.

    Parameters
    ----------
    X : object
        The input to check.
    columns : iterable of str
        Columns that must be present.
    caller : str
        Name of the calling estimator, used in error messages.
    allow_empty : bool, default=False
        Whether a frame with zero rows is acceptable.

    Returns
    -------
    X : pandas.DataFrame
        The input itself (never copied).

    Raises
    ------
    ValueError
        If ``X`` is not a DataFrame, lacks a column, or has no rows.
    """
    if not isinstance(X, pd.DataFrame):
        raise ValueError(
            f"{caller} expects a pandas DataFrame with columns {list(columns)}, "
            f"got {type(X).__name__}."
        )
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise ValueError(
            f"{caller}: missing column(s) {missing}; the input has columns "
            f"{[str(c) for c in X.columns]}."
        )
    if not allow_empty and len(X) == 0:
        raise ValueError(f"{caller}: found a DataFrame with 0 rows; at least 1 is required.")
    return X


def check_array_cells(X, column, *, ndim, last_dim=None, caller="this estimator"):
    """Validate a column of per-row arrays without stacking it.

    Parameters
    ----------
    X : pandas.DataFrame
        Frame holding ``column``.
    column : str
        Column whose cells are numeric arrays of identical shape.
    ndim : int
        Required number of dimensions of each cell.
    last_dim : int, optional
        Required size of the last axis of each cell.
    caller : str
        Name of the caller, used in error messages.

    Returns
    -------
    cells : ndarray of shape (n_rows,), dtype object
        The cells as numpy arrays (the frame's own arrays, not copies).
    cell_shape : tuple of int
        The shape every cell has.

    Raises
    ------
    ValueError
        If a cell is not an array of the right rank, shapes differ between
        rows, or a value is not numeric or not finite (in float32). The
        message names the column and the first offending row.
    """
    values = X[column].to_numpy()
    if len(values) == 0:
        raise ValueError(f"{caller}: column {column!r} has 0 rows.")
    first_shape = None
    cells = np.empty(len(values), dtype=object)
    for i, cell in enumerate(values):
        shape = np.shape(cell) if isinstance(cell, np.ndarray | list | tuple) else None
        if shape is None or len(shape) != ndim:
            raise ValueError(
                f"{caller}: column {column!r}, row {X.index[i]!r}: expected an array with "
                f"{ndim} dimensions, got {type(cell).__name__}"
                + (f" of shape {shape}" if shape is not None else "")
                + ". Did you forget a preprocessing step (ImageResizer / GloveSequencer)?"
            )
        if last_dim is not None and shape[-1] != last_dim:
            raise ValueError(
                f"{caller}: column {column!r}, row {X.index[i]!r}: expected the last axis "
                f"to have size {last_dim}, got shape {shape}."
            )
        if first_shape is None:
            first_shape = shape
        elif shape != first_shape:
            raise ValueError(
                f"{caller}: column {column!r} holds arrays of different shapes: "
                f"{first_shape} in the first row, {shape} in row {X.index[i]!r}."
            )
        try:
            cell = np.asarray(cell)
            if cell.dtype.kind not in "biuf":
                raise TypeError(cell.dtype)
            finite = np.isfinite(cell.astype(np.float32, copy=False)).all()
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{caller}: column {column!r}, row {X.index[i]!r} holds non-numeric values."
            ) from exc
        if not finite:
            raise ValueError(
                f"{caller}: column {column!r}, row {X.index[i]!r} contains NaN or infinite values."
            )
        cells[i] = cell
    return cells, tuple(first_shape)


def check_array_column(X, column, *, ndim, last_dim=None, axes=None, caller="this estimator"):
    """Stack a column of per-row arrays into one float32 array.

    The cells, validated by :func:`check_array_cells`, are written one by one
    into a single new array: one copy of the column's data, whatever its dtype
    and whatever ``axes`` asks.

    Parameters
    ----------
    X : pandas.DataFrame
        Frame holding ``column``.
    column : str
        Column whose cells are numeric arrays of identical shape.
    ndim : int
        Required number of dimensions of each cell.
    last_dim : int, optional
        Required size of the last axis of each cell.
    axes : tuple of int, optional
        Permutation of each cell's axes in the result (``(2, 0, 1)`` turns
        channels-last images into channels-first), as in ``np.transpose``.
    caller : str
        Name of the caller, used in error messages.

    Returns
    -------
    stacked : ndarray of shape (n_rows, *cell_shape), dtype float32
        C-contiguous; ``cell_shape`` permuted by ``axes`` when given.

    Raises
    ------
    ValueError
        As :func:`check_array_cells`.
    """
    cells, shape = check_array_cells(X, column, ndim=ndim, last_dim=last_dim, caller=caller)
    cell_shape = shape if axes is None else tuple(shape[a] for a in axes)
    stacked = np.empty((len(cells), *cell_shape), dtype=np.float32)
    for i, cell in enumerate(cells):
        stacked[i] = cell if axes is None else cell.transpose(axes)
    return stacked


def check_labels(y, n_samples, *, caller="this estimator"):
    """Validate a target vector.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels of any hashable kind (strings included).
    n_samples : int
        Expected number of labels.
    caller : str
        Name of the caller, used in error messages.

    Returns
    -------
    y : ndarray of shape (n_samples,)

    Raises
    ------
    ValueError
        If ``y`` is missing, has the wrong length, holds missing values, or
        holds fewer than two classes.
    """
    if y is None:
        raise ValueError(f"{caller} requires y to be passed, but the target y is None.")
    y = np.asarray(y.to_numpy() if isinstance(y, pd.Series | pd.DataFrame) else y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"{caller}: y must be one-dimensional, got shape {y.shape}.")
    if len(y) != n_samples:
        raise ValueError(
            f"{caller}: X has {n_samples} rows but y has {len(y)} labels; they must match."
        )
    if pd.isna(y).any():
        n_bad = int(pd.isna(y).sum())
        raise ValueError(f"{caller}: y contains {n_bad} missing (NaN/None) label(s).")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"{caller}: y contains infinite values.")
    if len(np.unique(y)) < 2:
        raise ValueError(
            f"{caller}: y has only one class ({y[0]!r}); classification needs at least 2."
        )
    return y


def check_positive(value, name, *, integer=False, allow_none=False, strict=True):
    """Validate a positive scalar hyper-parameter and return it.

    Raises
    ------
    ValueError
        Naming the parameter when the value is not a positive number.
    """
    if value is None and allow_none:
        return None
    kind = numbers.Integral if integer else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, bool)
    ok = ok and (value > 0 if strict else value >= 0)
    if not ok:
        what = "integer" if integer else "number"
        sign = "> 0" if strict else ">= 0"
        raise ValueError(f"Parameter {name!r} must be a {what} {sign}, got {value!r}.")
    return value


def check_bool(value, name):
    """Validate a boolean parameter and return it as a bool.

    Raises
    ------
    ValueError
        Naming the parameter when the value is not a bool.
    """
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"Parameter {name!r} must be a bool, got {value!r}.")
    return bool(value)
