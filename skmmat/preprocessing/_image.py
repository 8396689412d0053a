"""ImageResizer: image files and arrays to the paper's 64x64 float input."""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral

import numpy as np
from PIL import Image, UnidentifiedImageError
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from .._validation import check_dataframe

__all__ = ["ImageResizer"]

_RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
}
_ON_ERROR = ("raise", "blank")
_DECODE = ("reduced", "full")
# "reduced" decoding keeps at least this many times the output size before resizing
_DRAFT_MARGIN = 2


class ImageResizer(TransformerMixin, BaseEstimator):
    """Load, resize and scale tweet images (the paper's image input).

    Every cell of ``column`` becomes a float32 array of shape
    ``(height, width, 3)`` with values in [0, 1]: the paper resizes each image
    to 64x64 and scales it to the range 0 to 1.

    DataFrame in, DataFrame out: the output is a copy of the input (which is
    never modified) with ``column`` replaced; other columns pass through.

    Parameters
    ----------
    size : tuple of int (height, width), default=(64, 64)
        Output size.
    column : str, default="image"
        Column holding the images. A cell may be a file path (str or
        path-like), a :class:`PIL.Image.Image`, or an array: uint8 in
        [0, 255] or float in [0, 1], of shape ``(H, W)`` (grey),
        ``(H, W, 1)``, ``(H, W, 3)`` (RGB) or ``(H, W, 4)`` (RGBA, the alpha
        channel is dropped). Grey images are repeated over three channels;
        16-bit grey images and files are scaled from [0, 65535].
    resample : {"bilinear", "bicubic", "lanczos", "box", "nearest"}, default="bilinear"
        Pillow's resampling filter (anti-aliased when shrinking).
    decode : {"reduced", "full"}, default="reduced"
        How JPEG files are decoded. ``"reduced"``: a JPEG file is decoded at
        the smallest of the decoder's reduced scales (1/2, 1/4 or 1/8 of its
        size, :meth:`PIL.Image.Image.draft`) that keeps at least twice the
        output size, then resized with ``resample``. On the real California
        wildfires images this is 2.4 times faster than ``"full"``, and the
        pixels differ from it by 0.71/255 on average (99 % of them by at most
        8/255).
        ``"full"``: every file is decoded at full size, then resized. Other
        formats, PIL images and arrays are always resized from full size.
    on_error : {"raise", "blank"}, default="raise"
        What an image file that is missing or cannot be decoded does.
        ``"raise"``: a :class:`FileNotFoundError` or :class:`ValueError` that
        names the file. ``"blank"``: an all-zero image is used instead and one
        :class:`UserWarning` lists how many and which files; the row is kept.
    n_jobs : int, optional
        Threads that decode files (Pillow releases the GIL while decoding and
        resizing, so threads use several cores). ``None`` and ``-1`` use
        every core, ``-2`` all but one (joblib's convention), ``1`` decodes in
        the calling thread. A column without file paths (arrays, PIL images)
        is always resized in the calling thread: each image takes a tenth of a
        millisecond, less than handing it to a thread costs.
    verbose : int, default=0
        ``> 0`` shows a progress bar while decoding.

    Attributes
    ----------
    output_shape_ : tuple of int
        ``(height, width, 3)``.

    See Also
    --------
    GloveSequencer : the text counterpart.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skmmat.preprocessing import ImageResizer
    >>> X = pd.DataFrame({"image": [np.full((120, 80, 3), 255, dtype=np.uint8)]})
    >>> out = ImageResizer().fit_transform(X)
    >>> out["image"].iloc[0].shape, float(out["image"].iloc[0].max())
    ((64, 64, 3), 1.0)
    """

    _parameter_constraints: dict = {
        "size": [tuple, list],
        "column": [str],
        "resample": [StrOptions(set(_RESAMPLE))],
        "decode": [StrOptions(set(_DECODE))],
        "on_error": [StrOptions(set(_ON_ERROR))],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        size=(64, 64),
        column="image",
        resample="bilinear",
        decode="reduced",
        on_error="raise",
        n_jobs=None,
        verbose=0,
    ):
        self.size = size
        self.column = column
        self.resample = resample
        self.decode = decode
        self.on_error = on_error
        self.n_jobs = n_jobs
        self.verbose = verbose

    def fit(self, X, y=None):
        """Check the parameters and the input's column.

        Parameters
        ----------
        X : pandas.DataFrame
            Frame with the image column.
        y : ignored

        Returns
        -------
        self : ImageResizer
        """
        self._validate_params()
        size = self.size
        if len(size) != 2 or not all(
            isinstance(s, Integral) and not isinstance(s, bool) and s >= 1 for s in size
        ):
            raise ValueError(
                "The 'size' parameter of ImageResizer must be a (height, width) pair of "
                f"positive integers. Got {size!r} instead."
            )
        if self.n_jobs == 0:
            raise ValueError(
                "The 'n_jobs' parameter of ImageResizer must be a non-zero integer or None "
                "(joblib's convention). Got 0 instead."
            )
        check_dataframe(X, [self.column], caller=type(self).__name__, allow_empty=True)
        self.output_shape_ = (int(size[0]), int(size[1]), 3)
        return self

    def __skmmat_getstate__(self):
        """Fitted state for :func:`skmmat.save_model`: the output shape."""
        check_is_fitted(self)
        return {"output_shape_": tuple(self.output_shape_)}

    def __skmmat_setstate__(self, state):
        """Restore the state of :meth:`__skmmat_getstate__` (for :func:`skmmat.load_model`)."""
        self._validate_params()
        self.output_shape_ = tuple(int(s) for s in state["output_shape_"])
        return self

    def transform(self, X):
        """Load and resize every image of the column.

        Parameters
        ----------
        X : pandas.DataFrame
            Frame with the image column.

        Returns
        -------
        Xt : pandas.DataFrame
            A copy of ``X`` whose ``column`` holds float32 arrays of shape
            ``output_shape_`` in [0, 1].
        """
        check_is_fitted(self, "output_shape_")
        check_dataframe(X, [self.column], caller=type(self).__name__, allow_empty=True)
        cells = X[self.column].to_numpy()
        labels = X.index
        cores = os.cpu_count() or 1
        n_jobs = -1 if self.n_jobs is None else self.n_jobs
        n_threads = n_jobs if n_jobs > 0 else cores + 1 + n_jobs
        n_threads = max(1, min(n_threads, len(cells)))
        if not any(isinstance(cell, str | os.PathLike) for cell in cells):
            n_threads = 1  # in-memory images: 2 threads took 1.8x the time of one
        jobs = range(len(cells))
        progress = tqdm(
            total=len(cells), desc="Decoding images", unit="img", disable=not self.verbose
        )
        failures = []

        def work(i):
            try:
                return self._convert(cells[i], labels[i], failures)
            finally:
                progress.update()

        try:
            if n_threads == 1:
                images = [work(i) for i in jobs]
            else:
                with ThreadPoolExecutor(n_threads) as pool:
                    images = list(pool.map(work, jobs))
        finally:
            progress.close()
        if failures:
            shown = ", ".join(failures[:5]) + (" ..." if len(failures) > 5 else "")
            warnings.warn(
                f"ImageResizer: {len(failures)} image file(s) could not be read and were "
                f"replaced by blank images (on_error='blank'): {shown}",
                UserWarning,
                stacklevel=2,
            )
        out = X.copy()
        column = np.empty(len(images), dtype=object)
        column[:] = images
        out[self.column] = column
        return out

    # ------------------------------------------------------------------
    def _convert(self, cell, label, failures):
        height, width, _ = self.output_shape_
        where = f"column {self.column!r}, row {label!r}"
        if isinstance(cell, str | os.PathLike):
            try:
                with Image.open(cell) as img:
                    if self.decode == "reduced" and img.format == "JPEG":
                        # the decoder picks the smallest DCT scale at least this large
                        img.draft(img.mode, (_DRAFT_MARGIN * width, _DRAFT_MARGIN * height))
                    img.load()
                    image = self._resize_pil(img, f"file {os.fspath(cell)!r}")
            except FileNotFoundError as exc:
                if self.on_error == "blank":
                    failures.append(os.fspath(cell))
                    return np.zeros(self.output_shape_, np.float32)
                raise FileNotFoundError(
                    f"ImageResizer: image file not found: {os.fspath(cell)!r} ({where})."
                ) from exc
            except (UnidentifiedImageError, OSError, ValueError) as exc:
                if self.on_error == "blank":
                    failures.append(os.fspath(cell))
                    return np.zeros(self.output_shape_, np.float32)
                raise ValueError(
                    f"ImageResizer: cannot decode image file {os.fspath(cell)!r} ({where}): {exc}"
                ) from exc
            return image
        if isinstance(cell, Image.Image):
            return self._resize_pil(cell, where)
        if isinstance(cell, np.ndarray):
            return self._resize_array(cell, where)
        raise ValueError(
            f"ImageResizer: {where} holds a {type(cell).__name__}; expected a file path, "
            "a PIL image or a numpy array."
        )

    def _resize_pil(self, img, where):
        height, width, _ = self.output_shape_
        if img.mode.startswith("I"):
            # 16-bit grey ("I;16", or "I" as some decoders give it): convert("RGB")
            # would clip every value above 255 to white instead of scaling
            arr = np.asarray(img, dtype=np.float32) / np.float32(65535.0)
            return self._resize_array(np.clip(arr, 0.0, 1.0), where)
        if img.mode == "F":
            # float grey: convert("RGB") would truncate [0, 1] values to 0 or 1
            return self._resize_array(np.asarray(img, dtype=np.float32), where)
        if img.mode not in ("RGB", "L"):
            img = img.convert("RGB")  # palette, CMYK, bilevel...; alpha is dropped
        img = img.resize((width, height), _RESAMPLE[self.resample])
        arr = np.asarray(img, dtype=np.float32) / np.float32(255.0)
        if arr.ndim == 2:
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        return np.ascontiguousarray(arr)

    def _resize_array(self, arr, where):
        if arr.ndim == 3 and arr.shape[2] in (1, 3, 4):
            channels = arr.shape[2]
        elif arr.ndim == 2:
            channels = 0
        else:
            raise ValueError(
                f"ImageResizer: {where} holds an array of shape {arr.shape}; expected "
                "(H, W), (H, W, 1), (H, W, 3) or (H, W, 4)."
            )
        if min(arr.shape[:2]) < 1:
            raise ValueError(f"ImageResizer: {where} holds an empty image of shape {arr.shape}.")
        if arr.dtype == np.uint8:
            scaled = arr.astype(np.float32) / np.float32(255.0)
        elif arr.dtype.kind in "fiu" and arr.dtype != np.bool_:
            scaled = arr.astype(np.float32)
            if not np.isfinite(scaled).all():
                raise ValueError(f"ImageResizer: {where} holds NaN or infinite pixel values.")
            if scaled.min() < 0.0 or scaled.max() > 1.0:
                raise ValueError(
                    f"ImageResizer: {where} holds a {arr.dtype} array with values outside "
                    f"[0, 1] (min {scaled.min():g}, max {scaled.max():g}); pass uint8 arrays "
                    "for the 0-255 range."
                )
        else:
            raise ValueError(f"ImageResizer: {where} holds an array of dtype {arr.dtype}.")
        if channels == 0:
            scaled = scaled[:, :, None]
        elif channels == 4:
            scaled = scaled[:, :, :3]
        height, width, _ = self.output_shape_
        planes = []
        for c in range(scaled.shape[2]):
            plane = Image.fromarray(np.ascontiguousarray(scaled[:, :, c]), mode="F")
            if plane.size != (width, height):
                plane = plane.resize((width, height), _RESAMPLE[self.resample])
            planes.append(np.asarray(plane, dtype=np.float32))
        out = np.stack(planes, axis=2)
        if out.shape[2] == 1:
            out = np.repeat(out, 3, axis=2)
        return np.clip(out, 0.0, 1.0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags
