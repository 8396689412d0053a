"""One training run of the classifier: the skorch net, its validation split, warm start, resume."""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import torch
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight
from skorch import NeuralNetClassifier
from skorch.callbacks import EarlyStopping, EpochScoring
from skorch.dataset import ValidSplit, unpack_data
from skorch.history import History

from .._allocator import release_freed_memory
from .._torch_state import seeded_torch, torch_threads
from ..callbacks import EpochProgress, TrainingCheckpoint, training_fingerprint
from ._encoder import is_visual_cnn
from ._features import caches_frozen_features, with_frozen_features
from ._inputs import normalize_filters, normalize_modalities
from ._modules import MultiModalCNN
from ._passes import eval_batch_size

__all__ = ["MONITORS", "build_net", "make_train_split", "rebuild_net", "train_net"]

#: what early stopping may monitor, and the scikit-learn scoring behind each score
_MONITOR_SCORING = {"valid_balanced_accuracy": "balanced_accuracy", "valid_macro_f1": "f1_macro"}
MONITORS = ("valid_loss", *_MONITOR_SCORING)


def make_train_split(params, y_enc, seed, caller, groups=None):
    """The skorch validation split of early stopping, or None when it is off.

    Stratified by class when every class can be on both sides; otherwise a
    warning and an unstratified split. With ``groups``, rows of one group
    stay on one side (a :class:`~sklearn.model_selection.StratifiedGroupKFold`
    fold of about ``validation_fraction`` of the rows is the validation part).
    """
    if params["patience"] is None:
        return None
    fraction = params["validation_fraction"]
    n = len(y_enc)
    n_valid = math.ceil(fraction * n)
    n_train = n - n_valid
    if n_valid < 1 or n_train < 1:
        raise ValueError(
            f"{caller}: cannot hold out validation_fraction={fraction} of {n} rows for "
            "early stopping; pass more data or patience=None."
        )
    if groups is not None:
        return GroupValidSplit(fraction, groups, y_enc, seed, caller)
    counts = np.bincount(y_enc)
    n_classes = len(counts)
    stratified = counts.min() >= 2 and n_valid >= n_classes and n_train >= n_classes
    if not stratified:
        warnings.warn(
            f"{caller}: a stratified validation split of {n_valid} rows is impossible "
            f"(smallest class has {counts.min()} rows, {n_classes} classes); using an "
            "unstratified split.",
            UserWarning,
            stacklevel=4,
        )
    return ValidSplit(float(fraction), stratified=bool(stratified), random_state=seed)


class GroupValidSplit:
    """A skorch ``train_split`` that keeps each group on one side of the validation split.

    Parameters
    ----------
    fraction : float
        Approximate share of the rows held out.
    groups : ndarray of shape (n_samples,)
        Group codes; rows of one group are never on both sides.
    y_enc : ndarray of shape (n_samples,)
        Encoded labels, for stratification.
    seed : int
        Seed of the shuffling.
    caller : str
        Name used in messages.
    """

    def __init__(self, fraction, groups, y_enc, seed, caller):
        n_groups = len(np.unique(groups))
        n_splits = max(2, round(1 / fraction))
        if n_groups < n_splits:
            raise ValueError(
                f"{caller}: {n_groups} validation groups cannot hold out a "
                f"validation_fraction={fraction} by group; pass more groups or patience=None."
            )
        cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        self.train_indices_, self.valid_indices_ = next(cv.split(groups, y_enc, groups))

    def __call__(self, dataset, y=None, **kwargs):
        return (
            torch.utils.data.Subset(dataset, self.train_indices_),
            torch.utils.data.Subset(dataset, self.valid_indices_),
        )


def class_weights(class_weight, classes, y_enc, caller):
    """Per-class loss weights as a float32 tensor, or None for unweighted.

    ``"balanced"`` weighs class ``c`` by ``n_samples / (n_classes * n_c)``, as
    scikit-learn does; a dict maps labels to weights (missing labels weigh 1).
    """
    if class_weight is None:
        return None
    labels = np.asarray(classes).tolist()
    if isinstance(class_weight, dict):
        known = set(labels)
        unknown = sorted(repr(k) for k in class_weight if k not in known)
        if unknown:
            raise ValueError(
                f"The 'class_weight' parameter of {caller} names labels that are not in y: "
                f"{', '.join(unknown)}; the classes are {labels}."
            )
        weights = [float(class_weight.get(c, 1.0)) for c in labels]
    else:
        weights = compute_class_weight(class_weight, classes=np.arange(len(classes)), y=y_enc)
    return torch.as_tensor(weights, dtype=torch.float32)


class TrainingNet(NeuralNetClassifier):
    """skorch's classifier with the hook of robust training (the classifier's ``batch_attack``).

    The hook has a ``weight``; without a hook, or at weight 0, the step is
    skorch's own. Otherwise the step minimises the loss the hook's
    ``batch_loss(net, inputs, y, **fit_params)`` returns for the batch,
    with the clean predictions (:mod:`skmmat.adversarial._robust_loss`).
    """

    batch_attack = None

    def train_step_single(self, batch, **fit_params):
        hook = self.batch_attack
        if hook is None or hook.weight == 0:  # weight 0: the plain step, same draws
            return super().train_step_single(batch, **fit_params)
        # training mode, as skorch's own step sets it (validation left the net in eval)
        self.module_.train(True)
        self.criterion_.train(True)
        Xi, yi = unpack_data(batch)
        loss, y_pred = hook.batch_loss(self, Xi, yi, **fit_params)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}


class SettledEarlyStopping(EarlyStopping):
    """skorch's early stopping, blind to the first ``settle_epochs`` epochs.

    A training hook whose loss still changes over its first epochs (certified
    training grows its box over ``ramp_epochs``) sets ``settle_epochs``:
    those epochs neither count as misses nor can be the best epoch, so
    training never stops, nor keeps the weights of an epoch, before the loss
    reached its final form.
    """

    def __init__(
        self,
        monitor="valid_loss",
        patience=5,
        lower_is_better=True,
        load_best=False,
        settle_epochs=0,
    ):
        super().__init__(
            monitor=monitor,
            patience=patience,
            lower_is_better=lower_is_better,
            load_best=load_best,
        )
        self.settle_epochs = settle_epochs

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) <= self.settle_epochs:
            return
        super().on_epoch_end(net, **kwargs)


def build_net(
    params,
    arch,
    n_classes,
    shapes,
    train_split,
    generator,
    checkpoint=None,
    weights=None,
    pretrained=True,
):
    """The (uninitialised) skorch net of the classifier's parameters and architecture.

    ``pretrained=False`` builds a named image encoder without its ImageNet
    weights (a saved model's weights replace them).
    """
    callbacks = []
    monitor = params["monitor"]
    if params["patience"] is not None:
        if monitor != "valid_loss":  # scored on the validation forward pass (cached)
            scoring = _MONITOR_SCORING[monitor]
            score = EpochScoring(scoring, lower_is_better=False, on_train=False, name=monitor)
            callbacks.append((monitor, score))
        early = SettledEarlyStopping(
            monitor=monitor,
            patience=params["patience"],
            lower_is_better=monitor == "valid_loss",
            load_best=True,
            settle_epochs=int(getattr(params.get("batch_attack"), "settle_epochs", 0)),
        )
        callbacks.append(("early_stopping", early))
    verbose = params["verbose"] or 0
    if verbose >= 2:
        callbacks.append(("epoch_progress", EpochProgress()))
    if checkpoint is not None:
        # after early stopping, so that its state includes the epoch saved
        callbacks.append(("checkpoint", checkpoint))
    callbacks.extend(params["callbacks"] or [])
    module_kwargs = {f"module__{name}": value for name, value in arch.items()}
    if "image" in shapes:
        module_kwargs["module__image_size"] = tuple(shapes["image"][:2])
    if "text" in shapes:
        module_kwargs["module__embedding_dim"] = int(shapes["text"][1])
    if "image" in shapes and not is_visual_cnn(arch.get("image_encoder", "visual_cnn")):
        module_kwargs["module__pretrained"] = pretrained
        # the fine-tuned encoder's own learning rate (frozen parameters get no gradient)
        lr = {"lr": _encoder_lr(params)}
        module_kwargs["optimizer__param_groups"] = [("visual.encoder.*", lr)]
    net = TrainingNet(
        MultiModalCNN,
        criterion=torch.nn.CrossEntropyLoss,
        criterion__weight=weights,
        optimizer=torch.optim.Adam,
        lr=float(params["lr"]),
        batch_size=int(params["batch_size"]),
        max_epochs=int(params["max_epochs"]),
        train_split=train_split,
        callbacks=callbacks,
        classes=list(range(n_classes)),
        iterator_train__shuffle=True,
        iterator_train__generator=generator,
        iterator_valid__batch_size=eval_batch_size(params["eval_batch_size"], params["device"]),
        device=params["device"],
        verbose=1 if verbose == 1 else 0,
        module__n_classes=n_classes,
        **module_kwargs,
    )
    net.batch_attack = params.get("batch_attack")
    return net


def _encoder_lr(params):
    encoder_lr = params.get("encoder_lr")
    return float(params["lr"]) / 10 if encoder_lr is None else float(encoder_lr)


def train_net(
    params, run_params, arch, inputs, y_enc, classes, shapes, previous, caller, groups=None
):
    """Train a new skorch net, warm-started from ``previous`` and resumed from a checkpoint.

    Parameters
    ----------
    params : dict
        The classifier's parameters (``get_params(deep=False)``).
    run_params : dict
        The parameters that define the run (its checkpoint fingerprint).
    arch : dict
        Normalised architecture.
    inputs : dict of str -> ndarray
        Model inputs.
    y_enc : ndarray of int64
        Encoded labels.
    classes : ndarray
        Sorted class labels.
    shapes : dict
        Per-modality input shapes (channels last).
    previous : skorch.NeuralNetClassifier or None
        The net to continue training (warm start).
    caller : str
        Name used in messages.
    groups : ndarray of int, optional
        Group codes of the rows, kept on one side of the validation split.

    Returns
    -------
    net : skorch.NeuralNetClassifier
    n_before : int
        Epochs of history inherited from ``previous``.
    resumed : int
        Epochs restored from the checkpoint.
    """
    seed = _seed(params["random_state"])
    checkpoint, state = None, None
    if params["checkpoint_dir"] is not None:
        fingerprint = training_fingerprint(
            run_params,
            classes,
            shapes,
            inputs if groups is None else {**inputs, "validation_groups": groups},
            y_enc,
            start=None if previous is None else previous.module_.state_dict(),
            n_before=0 if previous is None else len(previous.history),
        )
        checkpoint = TrainingCheckpoint(params["checkpoint_dir"], fingerprint)
        state = checkpoint.load()
        if state is not None:
            seed = checkpoint.seed  # same validation split and init as the saved run
        checkpoint.seed = seed
    train_split = make_train_split(params, y_enc, seed, caller, groups)
    generator = torch.Generator()
    generator.manual_seed(seed)
    if checkpoint is not None:
        checkpoint.generator = generator
    weights = class_weights(params["class_weight"], classes, y_enc, caller)
    net = build_net(params, arch, len(classes), shapes, train_split, generator, checkpoint, weights)

    with torch_threads(params["n_threads"]), seeded_torch(seed, params["device"]):
        net.initialize()
        n_before = 0
        if previous is None and params["image_standardization"] and "image" in inputs:
            _set_image_statistics(net.module_, inputs["image"])
        if previous is not None:
            net.module_.load_state_dict(previous.module_.state_dict())
            net.optimizer_.load_state_dict(previous.optimizer_.state_dict())
            for group, lr in zip(net.optimizer_.param_groups, _group_lrs(net, params)):
                group["lr"] = lr
            net.history = copy.deepcopy(previous.history)
            n_before = len(net.history)
        resumed, finished = 0, False
        if checkpoint is not None:
            checkpoint.n_before = n_before
            if state is not None:
                resumed, finished = checkpoint.restore(net, state)
        if not finished:
            if caches_frozen_features(
                net.module_, params.get("batch_attack"), arch.get("image_augmentation")
            ):
                inputs = with_frozen_features(
                    net.module_,
                    inputs,
                    device=params["device"],
                    n_threads=params["n_threads"],
                    batch_size=eval_batch_size(params["eval_batch_size"], params["device"]),
                    cache_dir=params.get("feature_cache"),
                )
            net.partial_fit(
                RowDataset(inputs, y_enc),
                y_enc,
                epochs=max(int(params["max_epochs"]) - resumed, 0),
            )
    # the training batches' freed buffers go back to the system: after an MMN fit on
    # all 8,425 CrisisMMD rows glibc's heap held 0.2 image copies that nothing used,
    # which the crafting of MMAT's adversarial half then grew on
    release_freed_memory()
    return net, n_before, resumed


def _group_lrs(net, params):
    """Learning rates of the optimizer's groups: the encoder's group first where there is one."""
    lrs = [float(params["lr"])] * len(net.optimizer_.param_groups)
    if len(lrs) > 1:
        lrs[0] = _encoder_lr(params)
    return lrs


def _seed(random_state):
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def rebuild_net(params, state, caller):
    """The fitted skorch net of a saved state, initialised without training.

    The net is built from the classifier's parameters and the saved
    architecture, initialised without touching the global torch random state,
    and the saved weights are loaded into its module.

    Returns
    -------
    net, arch, shapes, classes
    """
    arch = dict(state["architecture_"])
    # model files written before these options
    arch.setdefault("image_augmentation", False)
    arch.setdefault("image_batch_norm", False)
    arch.setdefault("image_encoder", "visual_cnn")
    arch.setdefault("fine_tune", "none")
    arch["modalities"] = normalize_modalities(arch["modalities"], caller)
    arch["image_filters"] = normalize_filters(arch["image_filters"], caller)
    shapes = {m: tuple(int(s) for s in shape) for m, shape in state["input_shapes_"].items()}
    if set(shapes) != set(arch["modalities"]):
        raise ValueError(
            f"{caller}: the input shapes {sorted(shapes)} do not match the modalities "
            f"{list(arch['modalities'])}."
        )
    classes = np.asarray(state["classes_"])
    net = build_net(params, arch, len(classes), shapes, None, torch.Generator(), pretrained=False)
    with torch_threads(params["n_threads"]), seeded_torch(0, params["device"]):
        net.initialize()
    try:
        net.module_.load_state_dict(dict(state["module"]), strict=True)
    except RuntimeError as exc:
        raise ValueError(
            f"{caller}: the saved weights do not fit the saved architecture: {exc}"
        ) from exc
    net.history = History(list(state.get("history") or []))
    return net, arch, shapes, classes


class RowDataset(torch.utils.data.Dataset):
    """The training rows, read from the frame's cells one row at a time.

    skorch batches them with torch's default collation, as it does its own
    dataset's rows, so no copy of the whole image column is ever made. ``X``
    (the row numbers) and ``y`` are what skorch's scoring callbacks read.
    """

    def __init__(self, inputs, y):
        self.inputs = inputs
        self.y = y
        self.X = np.arange(len(y))

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return {m: torch.as_tensor(column[i]) for m, column in self.inputs.items()}, self.y[i]


#: rows per block of the image statistics' pass (25 MB of float64 deviations)
_STATISTICS_BLOCK = 256


def _set_image_statistics(module, images):
    """Per-channel mean and standard deviation of the training images, into the module.

    One pass over blocks of rows, each block's mean and sum of squared
    deviations combined in float64 (Chan et al.'s pairwise update).
    """
    count, mean, m2 = 0, np.zeros(images.shape[1]), np.zeros(images.shape[1])
    for start in range(0, len(images), _STATISTICS_BLOCK):
        block = images[start : start + _STATISTICS_BLOCK]
        n = block.shape[0] * block.shape[2] * block.shape[3]
        block_mean = block.mean(axis=(0, 2, 3), dtype=np.float64)
        block_m2 = ((block - block_mean[None, :, None, None]) ** 2).sum(axis=(0, 2, 3))
        delta = block_mean - mean
        total = count + n
        mean = mean + delta * (n / total)
        m2 = m2 + block_m2 + delta**2 * (count * n / total)
        count = total
    std = np.sqrt(m2 / count)
    std = np.where(std > 1e-6, std, 1.0)  # a constant channel is only centred
    visual = module.visual
    visual.image_mean.copy_(torch.as_tensor(mean, dtype=torch.float32).view_as(visual.image_mean))
    visual.image_std.copy_(torch.as_tensor(std, dtype=torch.float32).view_as(visual.image_std))
