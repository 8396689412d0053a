"""scikit-learn estimator wrapping the multi-modal CNN (MMN) via skorch."""

from __future__ import annotations

import contextlib
import copy
import math
import numbers
import os
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback, EarlyStopping
from skorch.dataset import ValidSplit
from skorch.history import History
from tqdm.auto import tqdm

from .._persistence import TrainingCheckpoint, training_fingerprint
from .._validation import check_array_column, check_dataframe, check_labels, check_positive
from ._modules import MODALITIES, MultiModalCNN

__all__ = ["MultiModalCNNClassifier"]

_CALLER = "MultiModalCNNClassifier"

# Rows per pass outside training steps (validation, predict, loss_gradient). Small
# batches are faster on CPU, where the convolutions' working set then fits the caches:
# with one thread, MMN on 64x64 images, predict over 512 rows took 1.09 s in batches of
# 32, 1.33 s of 64, 2.17 s of 128 and 2.44 s of 256; an input-gradient pass 2.15x longer
# in batches of 256 than of 32 (benchmarks/results/speed.md).
_PASS_BATCH = 32

# Parameters that define the network; warm starting requires them unchanged.
_ARCHITECTURE_PARAMS = (
    "modalities",
    "hidden_units",
    "text_window",
    "image_filters",
    "text_filters",
    "dropout",
)


def _normalize_modalities(modalities):
    """Return ``modalities`` as a tuple in canonical order or raise ValueError."""
    if isinstance(modalities, str):
        modalities = (modalities,)
    try:
        items = list(modalities)
    except TypeError:
        items = None
    if (
        not items
        or not all(isinstance(m, str) and m in MODALITIES for m in items)
        or len(set(items)) != len(items)
    ):
        raise ValueError(
            f"Parameter 'modalities' must be a non-empty collection of distinct values "
            f"from {MODALITIES}, got {modalities!r}."
        )
    return tuple(m for m in MODALITIES if m in items)


@contextlib.contextmanager
def _seeded_torch(seed, device):
    """Seed torch inside the block and restore the caller's RNG state afterwards."""
    devices = []
    dev = torch.device(device) if device is not None else torch.device("cpu")
    if dev.type == "cuda" and torch.cuda.is_available():
        devices = [dev.index if dev.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def _torch_threads(n_threads):
    """Run the block with ``n_threads`` torch intra-op threads, then restore.

    ``None`` leaves the setting alone. With torch's OpenMP backend the count
    is a per-thread setting, so concurrent fits in other threads of the same
    process are not affected.
    """
    if n_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    if previous == n_threads:
        yield
        return
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class MultiModalCNNClassifier(ClassifierMixin, BaseEstimator):
    """Multi-modal CNN classifier for image + text tweets (the MMN of MMAT).

    A Visual-CNN (two blocks of 3x3 convolution, ReLU and 2x2 max pooling,
    then a fully-connected ReLU layer) encodes the image, a Kim-style Text-CNN
    (1-D convolution over the word axis, ReLU, max-over-time pooling) encodes
    the sequence of word vectors; both representations are concatenated and
    classified by dropout, a fully-connected ReLU layer, dropout and a linear
    output layer trained with cross-entropy (equivalent to the paper's sigmoid
    output for two classes). Using a single modality gives the Visual-CNN or
    Text-CNN baseline of the paper.

    Training uses Adam, mini-batches and early stopping on the loss of a
    stratified validation split held out of the training data, restoring the
    best weights. The network is a :class:`skorch.NeuralNetClassifier` built
    in :meth:`fit` and stored as ``net_``.

    Parameters
    ----------
    modalities : tuple of {"image", "text"}, default=("image", "text")
        Input modalities. ``("image", "text")`` is the multi-modal network
        (MMN), ``("image",)`` the Visual-CNN and ``("text",)`` the Text-CNN
        baseline. Only the columns of the modalities in use are read.
    hidden_units : int, default=64
        Size of the Visual-CNN fully-connected layer and of the hidden layer
        of the classification head.
    text_window : int, default=2
        Number of contiguous words covered by each Text-CNN filter; texts
        must have at least this many word positions.
    image_filters : tuple of int, default=(32, 64)
        Number of filters of each Visual-CNN convolution block (one block per
        entry). Images need sides of at least ``2 ** len(image_filters)``.
    text_filters : int, default=64
        Number of Text-CNN filters (size of the text representation).
    dropout : float, default=0.5
        Dropout probability, in [0, 1).
    batch_size : int, default=32
        Mini-batch size for training.
    max_epochs : int, default=50
        Maximum number of passes over the training data.
    lr : float, default=1e-3
        Learning rate of the Adam optimiser.
    patience : int or None, default=5
        Early stopping: training stops once the validation loss has not
        improved for ``patience`` consecutive epochs, and the weights of the
        best epoch are restored. ``None`` disables early stopping and the
        validation split; exactly ``max_epochs`` epochs are run.
    validation_fraction : float, default=0.1
        Fraction of the training rows held out (stratified by class when
        possible) to monitor the validation loss. Unused when ``patience`` is
        None.
    warm_start : bool, default=False
        When True and the estimator is already fitted with the same
        architecture parameters (``modalities``, ``hidden_units``,
        ``text_window``, ``image_filters``, ``text_filters``, ``dropout``),
        the same classes and the same input shapes, :meth:`fit` continues
        training the existing network (weights, Adam state and history are
        kept; up to ``max_epochs`` further epochs are run with the current
        ``lr``, ``batch_size`` and ``patience``). Otherwise the network is
        re-initialised.
    device : str or torch.device, default="cpu"
        Torch device for training and inference, passed to skorch. ``"cuda"``
        works with the same code path.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, shuffling and the validation
        split. With an int, fits on CPU are bit-for-bit reproducible for a
        given number of torch threads (see ``n_threads``). The global torch
        random state is left untouched.
    verbose : int, default=0
        0 is silent; 1 prints one line per epoch (skorch's ``PrintLog``);
        2 or more shows a progress bar over the epochs instead (tqdm), with
        the latest losses.
    checkpoint_dir : str, path-like or None, default=None
        Folder for resumable training. When set, the state after every
        completed epoch (weights, Adam state, history, random-number
        generator states and early-stopping state) is written there, one
        file per training run, keyed by a fingerprint of the parameters, the
        data and the starting weights. A later :meth:`fit` with the same
        parameters and data resumes after the last completed epoch, so an
        interrupted fit only runs the remaining epochs; a run that already
        finished is restored without training. ``max_epochs``, ``device``,
        ``verbose``, ``n_threads`` and ``checkpoint_dir`` may change between
        the runs. The files are read with ``torch.load(weights_only=True)``
        and are never deleted by skmmat.
    n_threads : int or None, default=None
        Number of torch intra-op threads used by :meth:`fit`,
        :meth:`predict_proba`, :meth:`predict` and :meth:`loss_gradient`;
        the previous setting is restored afterwards. ``None`` keeps the
        current setting (``torch.get_num_threads()``). On CPU, the gradients
        of the image convolutions (oneDNN) depend on the thread count, so a
        seeded fit is bit-for-bit reproducible only for a fixed count. The
        count differs between processes: joblib's worker processes run with
        ``cpu_count // n_jobs`` threads and Dask workers with one, so set an
        integer (e.g. 1) to get identical models from ``n_jobs=1``,
        ``n_jobs=2`` and a Dask cluster.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen in :meth:`fit`, sorted.
    net_ : skorch.NeuralNetClassifier
        The fitted skorch network; ``net_.module_`` is the
        :class:`~skmmat.models.MultiModalCNN` and ``net_.history`` the
        per-epoch training history.
    input_shapes_ : dict
        Per-row array shape of each modality column seen in :meth:`fit`,
        e.g. ``{"image": (64, 64, 3), "text": (15, 100)}``.
    n_iter_ : int
        Number of epochs of the last training run (including the epochs
        restored from a checkpoint when it resumed).
    resumed_epochs_ : int
        Number of epochs restored from ``checkpoint_dir`` by the last call to
        :meth:`fit` (0 when it trained from the start).

    See Also
    --------
    skmmat.models.MultiModalCNN : The underlying torch module.

    Notes
    -----
    ``X`` is a :class:`pandas.DataFrame`: column ``"image"`` holds per-row
    float arrays of shape ``(height, width, 3)`` with values in [0, 1] and
    column ``"text"`` holds per-row float arrays of shape ``(n_words,
    embedding_dim)`` (all-zero rows for padding). Other columns are ignored.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skmmat.models import MultiModalCNNClassifier
    >>> rng = np.random.default_rng(0)
    >>> y = np.array(["informative", "not_informative"] * 20)
    >>> X = pd.DataFrame({
    ...     "image": [rng.random((16, 16, 3)) * (0.5 + 0.5 * (c == "informative"))
    ...               for c in y],
    ...     "text": [rng.normal(size=(15, 50)) for _ in y],
    ... })
    >>> clf = MultiModalCNNClassifier(max_epochs=3, patience=None, random_state=0)
    >>> clf.fit(X, y).classes_.tolist()
    ['informative', 'not_informative']
    >>> clf.predict_proba(X).shape
    (40, 2)
    >>> grads = clf.loss_gradient(X)
    >>> grads["image"].shape, grads["text"].shape
    ((40, 16, 16, 3), (40, 15, 50))
    """

    def __init__(
        self,
        modalities=("image", "text"),
        hidden_units=64,
        text_window=2,
        image_filters=(32, 64),
        text_filters=64,
        dropout=0.5,
        batch_size=32,
        max_epochs=50,
        lr=1e-3,
        patience=5,
        validation_fraction=0.1,
        warm_start=False,
        device="cpu",
        random_state=None,
        verbose=0,
        checkpoint_dir=None,
        n_threads=None,
    ):
        self.modalities = modalities
        self.hidden_units = hidden_units
        self.text_window = text_window
        self.image_filters = image_filters
        self.text_filters = text_filters
        self.dropout = dropout
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.lr = lr
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.warm_start = warm_start
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.n_threads = n_threads

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Input is a DataFrame of per-row arrays, not a 2-D numeric matrix.
        tags.input_tags.two_d_array = False
        return tags

    # ------------------------------------------------------------------
    # validation helpers
    # ------------------------------------------------------------------
    def _validate_params(self):
        """Check the hyper-parameters; return normalised architecture values."""
        modalities = _normalize_modalities(self.modalities)
        for name in ("hidden_units", "text_window", "text_filters", "batch_size", "max_epochs"):
            check_positive(getattr(self, name), name, integer=True)
        filters = self.image_filters
        if isinstance(filters, numbers.Integral) and not isinstance(filters, bool):
            filters = (filters,)
        try:
            filters = tuple(filters)
        except TypeError:
            filters = ()
        if not filters or not all(
            isinstance(f, numbers.Integral) and not isinstance(f, bool) and f > 0 for f in filters
        ):
            raise ValueError(
                "Parameter 'image_filters' must be a non-empty tuple of integers > 0, "
                f"got {self.image_filters!r}."
            )
        if not (
            isinstance(self.dropout, numbers.Real)
            and not isinstance(self.dropout, bool)
            and 0 <= self.dropout < 1
        ):
            raise ValueError(f"Parameter 'dropout' must be in [0, 1), got {self.dropout!r}.")
        check_positive(self.lr, "lr")
        if isinstance(self.lr, float) and not math.isfinite(self.lr):
            raise ValueError(f"Parameter 'lr' must be finite, got {self.lr!r}.")
        check_positive(self.patience, "patience", integer=True, allow_none=True)
        vf = self.validation_fraction
        if not (isinstance(vf, numbers.Real) and not isinstance(vf, bool) and 0 < vf < 1):
            raise ValueError(f"Parameter 'validation_fraction' must be in (0, 1), got {vf!r}.")
        if not isinstance(self.warm_start, bool | np.bool_):
            raise ValueError(f"Parameter 'warm_start' must be a bool, got {self.warm_start!r}.")
        if not (self.verbose is None or isinstance(self.verbose, numbers.Integral)) or (
            self.verbose is not None and self.verbose < 0
        ):
            raise ValueError(f"Parameter 'verbose' must be an integer >= 0, got {self.verbose!r}.")
        if self.device is not None:
            try:
                torch.device(self.device)
            except (RuntimeError, TypeError) as exc:
                raise ValueError(
                    f"Parameter 'device' is not a valid torch device: {self.device!r}."
                ) from exc
        try:
            check_random_state(self.random_state)
        except ValueError as exc:
            raise ValueError(f"Parameter 'random_state' is invalid: {exc}") from exc
        check_positive(self.n_threads, "n_threads", integer=True, allow_none=True)
        if self.checkpoint_dir is not None and not isinstance(
            self.checkpoint_dir, str | os.PathLike
        ):
            raise ValueError(
                "Parameter 'checkpoint_dir' must be a folder path or None, "
                f"got {self.checkpoint_dir!r}."
            )
        return {
            "modalities": modalities,
            "hidden_units": int(self.hidden_units),
            "text_window": int(self.text_window),
            "image_filters": tuple(int(f) for f in filters),
            "text_filters": int(self.text_filters),
            "dropout": float(self.dropout),
        }

    def _check_inputs(self, X, modalities, *, text_window, n_blocks, reference=None):
        """Validate ``X`` and return the dict of model inputs (channels first)."""
        check_dataframe(X, modalities, caller=_CALLER)
        inputs = {}
        for m in modalities:
            if m == "image":
                # channels first, as the convolutions want them, in the one copy
                arr = check_array_column(
                    X, "image", ndim=3, last_dim=3, axes=(2, 0, 1), caller=_CALLER
                )
            else:
                arr = check_array_column(X, "text", ndim=2, caller=_CALLER)
            shape = tuple(int(s) for s in arr.shape[1:])
            if m == "image":
                shape = (shape[1], shape[2], shape[0])  # reported channels last, as given
            if reference is not None and shape != tuple(reference[m]):
                raise ValueError(
                    f"{_CALLER}: column {m!r} holds arrays of shape {shape}, but the model "
                    f"was fitted on shape {tuple(reference[m])}."
                )
            if m == "image":
                side = 2**n_blocks
                if shape[0] < side or shape[1] < side:
                    raise ValueError(
                        f"{_CALLER}: column 'image' holds images of size {shape[:2]}; with "
                        f"{n_blocks} pooling blocks (image_filters) each side must be at "
                        f"least {side} pixels."
                    )
            elif shape[0] < text_window:
                raise ValueError(
                    f"{_CALLER}: column 'text' holds sequences of {shape[0]} word positions, "
                    f"fewer than text_window={text_window}."
                )
            inputs[m] = arr
        return inputs

    def _to_dict(self, X):
        """Validate ``X`` against the fitted model and convert it to model inputs.

        Parameters
        ----------
        X : pandas.DataFrame
            Frame with the modality columns used at fit time.

        Returns
        -------
        inputs : dict of str -> ndarray of float32
            ``"image"``: ``(n, 3, height, width)`` (channels first) and/or
            ``"text"``: ``(n, n_words, embedding_dim)``, for the modalities in
            use.
        """
        check_is_fitted(self)
        arch = self._fit_arch_
        return self._check_inputs(
            X,
            arch["modalities"],
            text_window=arch["text_window"],
            n_blocks=len(arch["image_filters"]),
            reference=self.input_shapes_,
        )

    def _to_tensors(self, X):
        """Like :meth:`_to_dict` but returns float32 tensors on ``net_.device``."""
        return {m: self._as_tensor(a) for m, a in self._to_dict(X).items()}

    def _as_tensor(self, array):
        device = self.net_.device
        t = torch.as_tensor(array, dtype=torch.float32)
        return t.to(device) if device is not None else t

    def _encode_labels(self, y, n_samples):
        """Map labels of the original kind to class indices (ValueError if unknown)."""
        if hasattr(y, "to_numpy"):
            y = y.to_numpy()
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim != 1 or len(y) != n_samples:
            raise ValueError(
                f"{_CALLER}: y must be one-dimensional with {n_samples} labels, got shape "
                f"{y.shape}."
            )
        index = {c: i for i, c in enumerate(self.classes_.tolist())}
        try:
            codes = [index.get(v) for v in y.tolist()]
        except TypeError as exc:  # unhashable labels
            raise ValueError(f"{_CALLER}: y holds unhashable labels.") from exc
        unknown = sorted({repr(v) for v, c in zip(y.tolist(), codes) if c is None})
        if unknown:
            raise ValueError(
                f"{_CALLER}: y contains labels not seen during fit: {', '.join(unknown[:5])}; "
                f"known classes are {self.classes_.tolist()}."
            )
        return np.asarray(codes, dtype=np.int64)

    def _make_train_split(self, y_enc, seed):
        """Build the skorch validation split, or None when early stopping is off."""
        if self.patience is None:
            return None
        n = len(y_enc)
        n_valid = math.ceil(self.validation_fraction * n)
        n_train = n - n_valid
        if n_valid < 1 or n_train < 1:
            raise ValueError(
                f"{_CALLER}: cannot hold out validation_fraction={self.validation_fraction} "
                f"of {n} rows for early stopping; pass more data or patience=None."
            )
        counts = np.bincount(y_enc)
        n_classes = len(counts)
        stratified = counts.min() >= 2 and n_valid >= n_classes and n_train >= n_classes
        if not stratified:
            warnings.warn(
                f"{_CALLER}: a stratified validation split of {n_valid} rows is impossible "
                f"(smallest class has {counts.min()} rows, {n_classes} classes); using an "
                f"unstratified split.",
                UserWarning,
                stacklevel=3,
            )
        return ValidSplit(
            float(self.validation_fraction), stratified=bool(stratified), random_state=seed
        )

    # ------------------------------------------------------------------
    # fitting
    # ------------------------------------------------------------------
    def _build_net(self, arch, n_classes, shapes, train_split, generator, checkpoint=None):
        callbacks = []
        if self.patience is not None:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_loss", patience=int(self.patience), load_best=True
                    ),
                )
            )
        if (self.verbose or 0) >= 2:
            callbacks.append(("epoch_progress", _EpochProgress()))
        if checkpoint is not None:
            # after early stopping, so that its state includes the epoch saved
            callbacks.append(("checkpoint", checkpoint))
        module_kwargs = {
            "module__n_classes": n_classes,
            "module__modalities": arch["modalities"],
            "module__hidden_units": arch["hidden_units"],
            "module__text_window": arch["text_window"],
            "module__image_filters": arch["image_filters"],
            "module__text_filters": arch["text_filters"],
            "module__dropout": arch["dropout"],
        }
        if "image" in shapes:
            module_kwargs["module__image_size"] = tuple(shapes["image"][:2])
        if "text" in shapes:
            module_kwargs["module__embedding_dim"] = int(shapes["text"][1])
        return NeuralNetClassifier(
            MultiModalCNN,
            criterion=torch.nn.CrossEntropyLoss,
            optimizer=torch.optim.Adam,
            lr=float(self.lr),
            batch_size=int(self.batch_size),
            max_epochs=int(self.max_epochs),
            train_split=train_split,
            callbacks=callbacks,
            classes=list(range(n_classes)),
            iterator_train__shuffle=True,
            iterator_train__generator=generator,
            iterator_valid__batch_size=_PASS_BATCH,
            device=self.device,
            verbose=1 if (self.verbose or 0) == 1 else 0,
            **module_kwargs,
        )

    def _can_warm_start(self, arch, classes, shapes):
        if not self.warm_start or not hasattr(self, "net_"):
            return False
        return (
            self._fit_arch_ == arch
            and len(self.classes_) == len(classes)
            and np.array_equal(self.classes_, classes)
            and self.input_shapes_ == shapes
        )

    def fit(self, X, y):
        """Train the network on a DataFrame of images and/or word-vector texts.

        Parameters
        ----------
        X : pandas.DataFrame
            Column ``"image"`` with ``(height, width, 3)`` float arrays and/or
            column ``"text"`` with ``(n_words, embedding_dim)`` float arrays,
            for the modalities in use.
        y : array-like of shape (n_samples,)
            Class labels of any kind (at least two classes).

        Returns
        -------
        self : MultiModalCNNClassifier
            The fitted estimator.
        """
        arch = self._validate_params()
        check_dataframe(X, arch["modalities"], caller=_CALLER)
        y = check_labels(y, len(X), caller=_CALLER)
        inputs = self._check_inputs(
            X,
            arch["modalities"],
            text_window=arch["text_window"],
            n_blocks=len(arch["image_filters"]),
        )
        # Per-row shapes in the layout of the input columns.
        shapes = {m: tuple(int(s) for s in np.shape(X[m].iloc[0])) for m in inputs}

        encoder = LabelEncoder().fit(y)
        classes = encoder.classes_
        y_enc = encoder.transform(y).astype(np.int64)
        previous = self.net_ if self._can_warm_start(arch, classes, shapes) else None

        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        checkpoint, state = None, None
        if self.checkpoint_dir is not None:
            fingerprint = training_fingerprint(
                self._training_params(),
                classes,
                shapes,
                inputs,
                y_enc,
                start=None if previous is None else previous.module_.state_dict(),
                n_before=0 if previous is None else len(previous.history),
            )
            checkpoint = TrainingCheckpoint(self.checkpoint_dir, fingerprint)
            state = checkpoint.load()
            if state is not None:
                seed = checkpoint.seed  # same validation split and init as the saved run
            checkpoint.seed = seed
        train_split = self._make_train_split(y_enc, seed)
        generator = torch.Generator()
        generator.manual_seed(seed)
        if checkpoint is not None:
            checkpoint.generator = generator
        net = self._build_net(
            arch, len(classes), shapes, train_split, generator, checkpoint=checkpoint
        )

        with _torch_threads(self.n_threads), _seeded_torch(seed, self.device):
            net.initialize()
            n_before = 0
            if previous is not None:
                net.module_.load_state_dict(previous.module_.state_dict())
                net.optimizer_.load_state_dict(previous.optimizer_.state_dict())
                for group in net.optimizer_.param_groups:
                    group["lr"] = float(self.lr)
                net.history = copy.deepcopy(previous.history)
                n_before = len(net.history)
            resumed, finished = 0, False
            if checkpoint is not None:
                checkpoint.n_before = n_before
                if state is not None:
                    resumed, finished = checkpoint.restore(net, state)
            if not finished:
                net.partial_fit(inputs, y_enc, epochs=max(int(self.max_epochs) - resumed, 0))

        self.net_ = net
        self.classes_ = classes
        self.input_shapes_ = shapes
        self.n_iter_ = len(net.history) - n_before
        self.resumed_epochs_ = resumed
        self._fit_arch_ = arch
        return self

    def _training_params(self):
        """Parameters that define a training run (the checkpoint fingerprint)."""
        ignored = {
            "checkpoint_dir",
            "device",
            "max_epochs",
            "n_threads",
            "verbose",
            "warm_start",
        }
        return {k: v for k, v in self.get_params(deep=False).items() if k not in ignored}

    def _restore_fitted(self, classes, input_shapes, arch, state_dict, history=None, n_iter=None):
        """Rebuild the fitted network from saved state, without training.

        Used by :func:`skmmat.load_model`. The network is built from the
        current parameters and ``arch`` (the normalised architecture of the
        saved fit), initialised without touching the global torch random
        state, and ``state_dict`` is loaded into its module.

        Parameters
        ----------
        classes : ndarray of shape (n_classes,)
            The saved ``classes_``.
        input_shapes : dict of str -> tuple of int
            The saved ``input_shapes_``.
        arch : dict
            The saved normalised architecture (``_fit_arch_``).
        state_dict : mapping of str -> torch.Tensor
            Weights of the :class:`~skmmat.models.MultiModalCNN` module.
        history : list of dict, optional
            The skorch history to restore.
        n_iter : int, optional
            The saved ``n_iter_``; defaults to the length of ``history``.

        Returns
        -------
        self : MultiModalCNNClassifier

        Raises
        ------
        ValueError
            If the weights do not fit the architecture.
        """
        self._validate_params()
        classes = np.asarray(classes)
        shapes = {m: tuple(int(s) for s in shape) for m, shape in input_shapes.items()}
        arch = dict(arch)
        arch["modalities"] = _normalize_modalities(arch["modalities"])
        arch["image_filters"] = tuple(int(f) for f in arch["image_filters"])
        if set(shapes) != set(arch["modalities"]):
            raise ValueError(
                f"{_CALLER}: the input shapes {sorted(shapes)} do not match the modalities "
                f"{list(arch['modalities'])}."
            )
        net = self._build_net(arch, len(classes), shapes, None, torch.Generator())
        with _torch_threads(self.n_threads), _seeded_torch(0, self.device):
            net.initialize()
        try:
            net.module_.load_state_dict(dict(state_dict), strict=True)
        except RuntimeError as exc:
            raise ValueError(
                f"{_CALLER}: the saved weights do not fit the saved architecture: {exc}"
            ) from exc
        if history is not None:
            net.history = History(list(history))
        self.net_ = net
        self.classes_ = classes
        self.input_shapes_ = shapes
        self._fit_arch_ = arch
        self.n_iter_ = int(n_iter) if n_iter is not None else len(net.history)
        self.resumed_epochs_ = 0
        return self

    # ------------------------------------------------------------------
    # inference
    # ------------------------------------------------------------------
    def forward_logits(self, inputs):
        """Differentiable logits of the fitted network in evaluation mode.

        Parameters
        ----------
        inputs : dict of str -> ndarray or torch.Tensor
            Model-layout inputs as returned by :meth:`_to_dict`: ``"image"``
            of shape ``(n, 3, height, width)`` and/or ``"text"`` of shape
            ``(n, n_words, embedding_dim)``. Tensors keep their autograd
            graph, so gradients with respect to them can be taken.

        Returns
        -------
        logits : torch.Tensor of shape (n, n_classes)
            Computed with dropout disabled; the module's training flag is
            restored afterwards. Gradient tracking follows the caller's
            ``torch.no_grad`` / ``torch.enable_grad`` context.
        """
        check_is_fitted(self)
        module = self.net_.module_
        tensors = {
            m: (v if isinstance(v, torch.Tensor) else self._as_tensor(v))
            for m, v in inputs.items()
            if m in self.input_shapes_
        }
        missing = [m for m in self.input_shapes_ if m not in tensors]
        if missing:
            raise ValueError(f"{_CALLER}.forward_logits: missing input(s) {missing}.")
        was_training = module.training
        module.eval()
        try:
            with _torch_threads(self.n_threads):
                return module(**tensors)
        finally:
            module.train(was_training)

    def predict_proba(self, X):
        """Class probabilities (softmax of the logits).

        Parameters
        ----------
        X : pandas.DataFrame
            Frame with the modality columns used at fit time, with the same
            per-row array shapes.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``; rows sum to one.
        """
        inputs = self._to_dict(X)
        n = len(X)
        out = []
        with _torch_threads(self.n_threads), torch.no_grad():
            for start in range(0, n, _PASS_BATCH):
                batch = {m: a[start : start + _PASS_BATCH] for m, a in inputs.items()}
                logits = self.forward_logits(batch)
                out.append(torch.softmax(logits, dim=1).cpu().numpy())
        return np.concatenate(out).astype(np.float64)

    def predict(self, X):
        """Predicted class labels (of the same kind as the training labels).

        Parameters
        ----------
        X : pandas.DataFrame
            Frame with the modality columns used at fit time.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def loss_gradient(self, X, y=None):
        """Gradient of each sample's cross-entropy loss w.r.t. its inputs.

        This is :math:`\\nabla_x J(\\theta, x, y)` of Equation (1) of the
        paper, per sample, for every modality in use. The network is run in
        evaluation mode (dropout off); its parameters, their ``.grad`` and
        its training flag are left unchanged.

        Parameters
        ----------
        X : pandas.DataFrame
            Frame with the modality columns used at fit time.
        y : array-like of shape (n_samples,), default=None
            True labels (same kind as in :meth:`fit`). When None, the
            model's own predicted labels (argmax of the same forward pass)
            are used, so no labels are needed.

        Returns
        -------
        gradients : dict of str -> ndarray of float32
            In the layout of the input columns: ``"image"`` of shape
            ``(n, height, width, 3)`` and/or ``"text"`` of shape
            ``(n, n_words, embedding_dim)``.
        """
        inputs = self._to_dict(X)
        n = len(X)
        y_enc = None if y is None else self._encode_labels(y, n)
        modalities = list(inputs)
        # written batch by batch into arrays in the columns' layout (channels last)
        grads = {
            m: np.empty(
                (n, *(a.shape[2:] + a.shape[1:2] if m == "image" else a.shape[1:])), np.float32
            )
            for m, a in inputs.items()
        }
        for start in range(0, n, _PASS_BATCH):
            stop = start + _PASS_BATCH
            batch = {
                m: self._as_tensor(a[start:stop]).requires_grad_(True) for m, a in inputs.items()
            }
            with _torch_threads(self.n_threads), torch.enable_grad():
                logits = self.forward_logits(batch)
                if y_enc is None:
                    target = logits.detach().argmax(dim=1)
                else:
                    target = torch.as_tensor(y_enc[start:stop], device=logits.device)
                # Samples are independent in eval mode, so the gradient of the
                # summed loss w.r.t. each row is that row's own loss gradient.
                loss = F.cross_entropy(logits, target, reduction="sum")
                batch_grads = torch.autograd.grad(loss, [batch[m] for m in modalities])
            for m, g in zip(modalities, batch_grads):
                g = g.detach().cpu().numpy()
                grads[m][start:stop] = g.transpose(0, 2, 3, 1) if m == "image" else g
        return grads


class _EpochProgress(Callback):
    """A tqdm bar over the epochs of one fit (``verbose >= 2``)."""

    def on_train_begin(self, net, **kwargs):
        self.bar_ = tqdm(total=net.max_epochs, desc="epochs", unit="epoch", leave=False)

    def on_epoch_end(self, net, **kwargs):
        last = net.history[-1]
        losses = {k: f"{last[k]:.3f}" for k in ("train_loss", "valid_loss") if k in last}
        self.bar_.set_postfix(losses, refresh=False)
        self.bar_.update()

    def on_train_end(self, net, **kwargs):
        self.bar_.close()
        del self.bar_  # a fitted model stays picklable
