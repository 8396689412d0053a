"""What every perturber shares: the attacked estimator and the transform protocol."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

from .._validation import as_label_array, check_dataframe

__all__ = ["BasePerturber", "class_indices", "estimator_modalities"]


def estimator_modalities(estimator):
    """Modalities a fitted estimator reads, e.g. ``("image", "text")``.

    Looks through meta-estimators (anything with an ``estimator_``; a
    :class:`~sklearn.frozen.FrozenEstimator` passes attributes through) down
    to the classifier, whose ``input_shapes_`` name the columns it was
    fitted on.

    Parameters
    ----------
    estimator : fitted estimator

    Returns
    -------
    modalities : tuple of str
    """
    est = estimator
    for _ in range(16):
        shapes = getattr(est, "input_shapes_", None)
        if shapes is not None:
            return tuple(shapes)
        inner = getattr(est, "estimator_", None)
        if inner is None:
            break
        est = inner
    modalities = getattr(estimator, "modalities", None)
    if modalities is None:
        raise ValueError(
            f"Cannot tell which modalities {type(estimator).__name__} reads: it has neither "
            "'input_shapes_' nor 'modalities'."
        )
    return (modalities,) if isinstance(modalities, str) else tuple(modalities)


#: rows crafted at a time: a block's gradient and stacked column (50 MB each for 1,024
#: rows of 64x64 images) are all an attack holds beside its result, never whole copies
CRAFT_BLOCK = 1024


def row_blocks(n):
    """Slices of at most :data:`CRAFT_BLOCK` consecutive rows covering ``range(n)``."""
    return [slice(start, start + CRAFT_BLOCK) for start in range(0, n, CRAFT_BLOCK)]


def join_blocks(parts):
    """One column of cells from the per-block columns ``parts`` (arrays or lists)."""
    cells = np.empty(sum(len(p) for p in parts), dtype=object)
    start = 0
    for part in parts:
        for value in part:
            cells[start] = value
            start += 1
    return cells


def class_indices(estimator, labels):
    """Position of each label in ``estimator.classes_`` (the columns of ``predict_proba``)."""
    classes = list(np.asarray(estimator.classes_).tolist())
    return np.array([classes.index(v) for v in np.asarray(labels).tolist()], dtype=np.int64)


def as_cells(array):
    """One-dimensional object array whose cells are the rows of ``array``."""
    cells = np.empty(len(array), dtype=object)
    cells[:] = list(array)
    return cells


class BasePerturber(TransformerMixin, BaseEstimator):
    """Base class of the adversarial perturbers.

    A perturber attacks one modality of an already fitted estimator that
    offers ``loss_gradient(X, y)`` (such as
    :class:`~skmmat.MultiModalCNNClassifier`). The estimator is the attack's
    target, not a hyper-parameter: it is used as given, never refitted, and
    :func:`~sklearn.base.clone` keeps it (the other parameters are cloned),
    so a perturber can sit in a :class:`~sklearn.model_selection.GridSearchCV`.
    A :class:`~sklearn.frozen.FrozenEstimator` works too.

    Two ways to craft:

    * :meth:`transform` (and so ``fit_transform``, which equals
      ``fit(X, y).transform(X)``) takes the loss at the estimator's own
      predictions. It needs no labels, so no label leaks into an evaluation,
      and it is what a perturber does inside a
      :class:`~sklearn.pipeline.Pipeline`, at fit time and at predict time
      alike.
    * :meth:`craft` ``(X, y)`` takes the loss at given labels (the paper's
      Equation 1 with the true labels); adversarial training and the robust
      metrics use it.
    """

    #: the modality attacked ("image" or "text"); set by subclasses
    modality = None

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["loss_gradient"]), None],
        "eps": [Interval(Real, 0, None, closed="left")],
    }

    def __sklearn_clone__(self):
        params = self.get_params(deep=False)
        estimator = params.pop("estimator")
        cloned = {k: clone(v, safe=False) for k, v in params.items()}
        return type(self)(estimator=estimator, **cloned)

    def fit(self, X, y=None):
        """Check the parameters, the estimator and ``X``.

        Parameters
        ----------
        X : pandas.DataFrame
            Preprocessed frame holding the attacked column.
        y : ignored
            Accepted for the pipeline protocol.

        Returns
        -------
        self
        """
        self._check_params()
        name = type(self).__name__
        check_dataframe(X, [self.modality], caller=name)
        estimator = self.estimator
        if estimator is None:
            raise ValueError(
                f"{name}: parameter 'estimator' is None. Pass the fitted model to attack, "
                "or use the perturber inside AdversarialAugmentationWrapper, which sets it."
            )
        try:
            check_is_fitted(estimator)
        except NotFittedError as exc:
            raise NotFittedError(
                f"{name}: parameter 'estimator' ({type(estimator).__name__}) is not fitted; "
                "fit it before attacking it."
            ) from exc
        modalities = estimator_modalities(estimator)
        if self.modality not in modalities:
            raise ValueError(
                f"{name}: the estimator reads the modalities {list(modalities)}, not "
                f"{self.modality!r}; there is nothing to attack."
            )
        self.estimator_ = estimator
        self.threat_model_ = self.threat_model()
        return self

    def transform(self, X):
        """Craft adversarial examples against the estimator's own predictions.

        Parameters
        ----------
        X : pandas.DataFrame
            Preprocessed frame holding the attacked column.

        Returns
        -------
        X_adv : pandas.DataFrame
            A copy of ``X`` with the attacked column perturbed.
        """
        return self.craft(X, None)

    def craft(self, X, y=None, *, gradient=None):
        """Adversarial copy of ``X``, with the loss taken at the labels ``y``.

        Parameters
        ----------
        X : pandas.DataFrame
            Preprocessed frame holding the attacked column.
        y : array-like of shape (n_samples,), optional
            Labels the loss is taken against (the true labels, as in the
            paper); None uses the estimator's predictions, as
            :meth:`transform` does.
        gradient : dict, optional
            A result of ``estimator_.loss_gradient(X, y)`` computed by the
            caller, used instead of a new gradient pass where the attack is
            single-step. This is how one gradient serves both modalities
            (:func:`~skmmat.adversarial.craft_adversarial`).

        Returns
        -------
        X_adv : pandas.DataFrame
            A copy of ``X`` whose :attr:`written_columns` are perturbed.
        """
        check_is_fitted(self, "estimator_")
        check_dataframe(X, [self.modality], caller=type(self).__name__)
        y = as_label_array(y)
        if gradient is not None:
            gradient = {m: np.asarray(g) for m, g in gradient.items()}
            if any(len(g) != len(X) for g in gradient.values()):
                raise ValueError(
                    f"{type(self).__name__}: the gradient has "
                    f"{[len(g) for g in gradient.values()]} rows for {len(X)} rows."
                )
        # rows are attacked independently: a block at a time bounds the memory
        # (one random stream per start for all of them, so the blocks change nothing)
        rng = self.random_streams()
        parts = {}
        for block in row_blocks(len(X)):
            columns = self._craft_columns(
                X.iloc[block],
                None if y is None else y[block],
                None if gradient is None else {m: g[block] for m, g in gradient.items()},
                rng,
            )
            for column, values in columns.items():
                parts.setdefault(column, []).append(values)
        out = X.copy()
        for column, values in parts.items():
            out[column] = values[0] if len(values) == 1 else join_blocks(values)
        return out

    @property
    def written_columns(self):
        """tuple of str: the columns :meth:`craft` and :meth:`transform` rewrite."""
        return (self.modality,)

    @property
    def single_step(self):
        """bool: whether one gradient at the clean input is all the attack needs."""
        return True

    # subclasses --------------------------------------------------------
    def _check_params(self):
        """Validate the parameters (the constraints, then what they cannot express)."""
        self._validate_params()

    def threat_model(self):  # pragma: no cover - abstract
        """The :class:`~skmmat.adversarial.ThreatModel` of the parameters, validated.

        What this attack may change, as every attack, robust training and
        certificate reads it; ``fit`` stores it as ``threat_model_``.
        """
        raise NotImplementedError

    def steps(self, X):  # pragma: no cover - abstract
        """The step state of an iterative attack on a block of rows of ``X``.

        An object with ``modality``, ``n_iter``, ``random_start``,
        ``is_open``, ``start(rng)``, ``step(grad)``, ``result()``,
        ``load(result)`` and ``columns()``, which
        :func:`~skmmat.adversarial.craft_adversarial` runs in step with
        another modality's (see the module ``_iterative``).
        """
        raise NotImplementedError

    def random_streams(self):
        """The random state of one :meth:`craft` call, handed to every block.

        A RandomState from ``random_state`` (when the perturber has one);
        :class:`~skmmat.FGSMPerturber` returns one stream per restart.
        """
        return check_random_state(getattr(self, "random_state", None))

    def _craft_columns(self, X, y, gradient, rng):  # pragma: no cover - abstract
        """The attacked columns of a block of rows of ``X``, as ``{column: cells}``.

        ``y`` and ``gradient`` (or None) hold the block's rows; ``rng`` is
        :meth:`random_streams` of the whole :meth:`craft` call.
        """
        raise NotImplementedError

    def _gradient(self, X, y, gradient):
        if gradient is not None and self.modality in gradient:
            return gradient[self.modality]  # rows checked by craft
        return self.estimator_.loss_gradient(X, y)[self.modality]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.requires_fit = True
        tags.non_deterministic = False
        return tags
