"""What every perturber shares: the attacked estimator and the transform protocol."""

from __future__ import annotations

import math
import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from .._validation import check_dataframe

__all__ = ["estimator_modalities"]


def estimator_modalities(estimator):
    """Modalities a fitted estimator reads, e.g. ``("image", "text")``.

    Looks through meta-estimators (anything with an ``estimator_``) down to
    the classifier, whose ``input_shapes_`` name the columns it was fitted on.

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


def as_cells(array):
    """One-dimensional object array whose cells are the rows of ``array``."""
    cells = np.empty(len(array), dtype=object)
    cells[:] = list(array)
    return cells


def replace_column(X, column, values):
    """Copy of ``X`` with ``column`` set to the rows of ``values``."""
    out = X.copy()
    out[column] = as_cells(values)
    return out


class BasePerturber(TransformerMixin, BaseEstimator):
    """Base class of the adversarial perturbers.

    A perturber attacks one modality of an already fitted estimator that
    offers ``loss_gradient(X, y)`` (such as
    :class:`~skmmat.MultiModalCNNClassifier`). The estimator is used as
    given: never cloned, never refitted.

    ``fit_transform(X, y)`` crafts adversarial examples with the true labels
    (the paper's setting, used for training); ``transform(X)`` has no labels
    and uses the estimator's own predictions instead, so no label leaks into
    an evaluation.
    """

    #: the modality attacked ("image" or "text"); set by subclasses
    modality = None

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
        self._validate_params()
        name = type(self).__name__
        check_dataframe(X, [self.column], caller=name)
        estimator = self.estimator
        if estimator is None:
            raise ValueError(
                f"{name}: parameter 'estimator' is None. Pass the fitted model to attack, "
                "or use the perturber inside AdversarialAugmentationWrapper, which sets it."
            )
        if not callable(getattr(estimator, "loss_gradient", None)):
            raise ValueError(
                f"{name}: the estimator {type(estimator).__name__} has no loss_gradient(X, y) "
                "method; attack a MultiModalCNNClassifier or a wrapper around one."
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
        self._fit_resources()
        return self

    def fit_transform(self, X, y=None, **fit_params):
        """Craft adversarial examples with the true labels ``y``.

        Parameters
        ----------
        X : pandas.DataFrame
            Preprocessed frame holding the attacked column.
        y : array-like of shape (n_samples,), optional
            True labels. When None, the estimator's predictions are used.

        Returns
        -------
        X_adv : pandas.DataFrame
            A copy of ``X`` with the attacked column perturbed.
        """
        return self.fit(X, y).craft(X, y)

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
        """Adversarial copy of ``X``.

        Parameters
        ----------
        X : pandas.DataFrame
            Preprocessed frame holding the attacked column.
        y : array-like of shape (n_samples,), optional
            Labels the loss is taken against; None uses the predictions.
        gradient : dict, optional
            A result of ``estimator_.loss_gradient(X, y)`` computed by the
            caller, used instead of a new gradient pass where the attack is
            single-step. This is how one gradient serves both modalities.

        Returns
        -------
        X_adv : pandas.DataFrame
        """
        check_is_fitted(self, "estimator_")
        check_dataframe(X, [self.column], caller=type(self).__name__)
        out = X.copy()
        for column, values in self._craft_columns(X, y, gradient).items():
            out[column] = values
        return out

    @property
    def single_step(self):
        """bool: whether one gradient at the clean input is all the attack needs."""
        return True

    # subclasses --------------------------------------------------------
    def _fit_resources(self):
        """Load what crafting needs (tables, indices); called at the end of fit."""

    def _craft_columns(self, X, y, gradient):  # pragma: no cover - abstract
        raise NotImplementedError

    def _gradient(self, X, y, gradient):
        if gradient is not None and self.modality in gradient:
            grad = np.asarray(gradient[self.modality])
            if len(grad) != len(X):
                raise ValueError(
                    f"{type(self).__name__}: the gradient has {len(grad)} rows for {len(X)} rows."
                )
            return grad
        return self.estimator_.loss_gradient(X, y)[self.modality]

    def _check_eps(self):
        eps = self.eps
        if (
            not isinstance(eps, numbers.Real)
            or isinstance(eps, bool)
            or not (eps >= 0 and math.isfinite(eps))
        ):
            raise ValueError(f"Parameter 'eps' must be a finite number >= 0, got {eps!r}.")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.requires_fit = True
        return tags
