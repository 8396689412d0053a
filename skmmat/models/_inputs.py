"""From a DataFrame of per-row arrays to the classifier's model inputs, and back."""

from __future__ import annotations

import numpy as np

from .._validation import as_label_array, check_array_cells, check_dataframe
from ._encoder import is_visual_cnn
from ._modules import MODALITIES

__all__ = [
    "RowColumn",
    "encode_labels",
    "frame_to_inputs",
    "min_image_side",
    "normalize_filters",
    "normalize_modalities",
]


class RowColumn:
    """A frame's column of per-row arrays, read as one float32 array, rows at a time.

    Indexing stacks only the rows asked for (``column[start:stop]``, or an
    array of row numbers), so a pass over the data in batches never holds a
    copy of the whole column; ``np.asarray(column)`` stacks it all.

    Parameters
    ----------
    cells : ndarray of dtype object
        The validated per-row arrays (:func:`~skmmat._validation.check_array_cells`).
    cell_shape : tuple of int
        Shape of every cell, as stored.
    axes : tuple of int, optional
        Permutation of each cell's axes in the model layout: ``(2, 0, 1)``
        reads ``(height, width, 3)`` images channels first. A block of rows
        is then a transposed view of its stack, channels-last in memory,
        which is what the convolutions want.
    """

    dtype = np.dtype(np.float32)

    def __init__(self, cells, cell_shape, axes=None):
        self.cells = cells
        self.cell_shape = tuple(cell_shape)
        self.axes = None if axes is None else tuple(axes)

    @property
    def shape(self):
        """``(n_rows, *cell_shape)`` in the model layout."""
        shape = self.cell_shape
        if self.axes is not None:
            shape = tuple(shape[a] for a in self.axes)
        return (len(self.cells), *shape)

    @property
    def ndim(self):
        return len(self.shape)

    def __len__(self):
        return len(self.cells)

    def __getitem__(self, key):
        if isinstance(key, int | np.integer):
            return self.row(key)
        rows = self.cells[key]
        block = np.empty((len(rows), *self.cell_shape), dtype=np.float32)
        for i, cell in enumerate(rows):
            block[i] = cell
        if self.axes is None:
            return block
        return block.transpose(0, *(a + 1 for a in self.axes))

    def row(self, i):
        """Row ``i`` in the model layout: a new, C-contiguous float32 array."""
        cell = np.asarray(self.cells[i])
        if self.axes is not None:
            cell = cell.transpose(self.axes)
        return np.array(cell, dtype=np.float32, order="C")

    def __array__(self, dtype=None, copy=None):
        out = np.ascontiguousarray(self[:])
        return out if dtype is None else out.astype(dtype, copy=False)


def normalize_modalities(modalities, caller):
    """Return ``modalities`` as a tuple in canonical order or raise ValueError."""
    items = [modalities] if isinstance(modalities, str) else list(modalities)
    if (
        not items
        or not all(isinstance(m, str) and m in MODALITIES for m in items)
        or len(set(items)) != len(items)
    ):
        raise ValueError(
            f"The 'modalities' parameter of {caller} must be a non-empty collection of "
            f"distinct values from {MODALITIES}. Got {modalities!r} instead."
        )
    return tuple(m for m in MODALITIES if m in items)


def normalize_filters(filters, caller):
    """Return ``image_filters`` as a tuple of positive ints or raise ValueError."""
    items = [filters] if isinstance(filters, int | np.integer) else list(filters)
    if not items or not all(
        isinstance(f, int | np.integer) and not isinstance(f, bool) and f > 0 for f in items
    ):
        raise ValueError(
            f"The 'image_filters' parameter of {caller} must be a positive integer or a "
            f"non-empty sequence of positive integers. Got {filters!r} instead."
        )
    return tuple(int(f) for f in items)


def min_image_side(arch):
    """The smallest image side the architecture reads, and why, for error messages."""
    encoder = arch.get("image_encoder", "visual_cnn")
    if is_visual_cnn(encoder):
        n_blocks = len(arch["image_filters"])
        return 2**n_blocks, f"with {n_blocks} pooling blocks (image_filters)"
    if isinstance(encoder, str):
        return 32, f"the {encoder!r} image_encoder reduces each side 32 times, so"
    return 1, ""


def frame_to_inputs(X, modalities, *, text_window, min_side, caller, reference=None):
    """Validate ``X`` and stack its modality columns into model inputs.

    Parameters
    ----------
    X : pandas.DataFrame
        Column ``"image"`` of ``(height, width, 3)`` arrays and/or column
        ``"text"`` of ``(n_words, embedding_dim)`` arrays.
    modalities : tuple of str
        The columns to read.
    text_window : int
        Texts need at least this many word positions.
    min_side : tuple of (int, str)
        Images need sides of at least this many pixels, for the reason given
        (:func:`min_image_side`).
    caller : str
        Name used in error messages.
    reference : dict, optional
        Per-row shapes seen at fit time (channels last); a mismatch raises.

    Returns
    -------
    inputs : dict of str -> RowColumn
        ``"image"``: ``(n, 3, height, width)`` (channels first) and/or
        ``"text"``: ``(n, n_words, embedding_dim)``, read from the frame's
        cells a block of rows at a time (nothing is copied here).
    shapes : dict of str -> tuple of int
        Per-row shape of each column, as given (channels last).
    """
    check_dataframe(X, modalities, caller=caller)
    inputs, shapes = {}, {}
    for m in modalities:
        if m == "image":
            cells, shape = check_array_cells(X, "image", ndim=3, last_dim=3, caller=caller)
            arr = RowColumn(cells, shape, axes=(2, 0, 1))
        else:
            cells, shape = check_array_cells(X, "text", ndim=2, caller=caller)
            arr = RowColumn(cells, shape)
        shape = tuple(int(s) for s in shape)
        if reference is not None and shape != tuple(reference[m]):
            raise ValueError(
                f"{caller}: column {m!r} holds arrays of shape {shape}, but the model was "
                f"fitted on shape {tuple(reference[m])}."
            )
        if m == "image" and min(shape[:2]) < min_side[0]:
            raise ValueError(
                f"{caller}: column 'image' holds images of size {shape[:2]}; {min_side[1]} "
                f"each side must be at least {min_side[0]} pixels."
            )
        if m == "text" and shape[0] < text_window:
            raise ValueError(
                f"{caller}: column 'text' holds sequences of {shape[0]} word positions, "
                f"fewer than text_window={text_window}."
            )
        inputs[m], shapes[m] = arr, shape
    return inputs, shapes


def encode_labels(y, classes, n_samples, caller):
    """Map labels of the original kind to indices into ``classes`` (ValueError if unknown)."""
    y = as_label_array(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1 or len(y) != n_samples:
        raise ValueError(
            f"{caller}: y must be one-dimensional with {n_samples} labels, got shape {y.shape}."
        )
    index = {c: i for i, c in enumerate(np.asarray(classes).tolist())}
    try:
        codes = [index.get(v) for v in y.tolist()]
    except TypeError as exc:  # unhashable labels
        raise ValueError(f"{caller}: y holds unhashable labels.") from exc
    unknown = sorted({repr(v) for v, c in zip(y.tolist(), codes) if c is None})
    if unknown:
        raise ValueError(
            f"{caller}: y contains labels not seen during fit: {', '.join(unknown[:5])}; "
            f"known classes are {np.asarray(classes).tolist()}."
        )
    return np.asarray(codes, dtype=np.int64)
