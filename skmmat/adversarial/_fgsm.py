"""FGSMPerturber: Equation (1) of the paper on the image column."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval

from .._validation import check_array_column
from ._base import BasePerturber, as_cells, replace_column

__all__ = ["FGSMPerturber"]


class FGSMPerturber(BasePerturber):
    """Fast Gradient Sign Method on tweet images (the paper's Equation 1).

    ``x' = clip(x + eps * sign(grad_x J(theta, x, y)), 0, 1)``, with the
    gradient from ``estimator.loss_gradient``. With ``n_iter > 1`` it is the
    iterative, projected variant (PGD, Madry et al. 2018): ``n_iter`` steps
    of ``step_size``, each projected back onto the ``eps``-ball around the
    clean image and the valid range. Single-step adversarial training is
    known to mask gradients, so robustness should also be measured against
    the iterative attack.

    Parameters
    ----------
    estimator : fitted estimator with ``loss_gradient``, optional
        The model attacked, used as given (never refitted). Inside
        :class:`AdversarialAugmentationWrapper` it is set for you.
    eps : float, default=0.1
        Size of the perturbation (the L-infinity radius), in the [0, 1]
        pixel scale; the paper uses 0.1.
    n_iter : int, default=1
        Number of gradient steps; 1 is FGSM.
    step_size : float, optional
        Size of each step of the iterative attack; defaults to
        ``2.5 * eps / n_iter`` (and to ``eps`` when ``n_iter=1``).
    random_start : bool, default=False
        Start from a uniformly random point of the ``eps``-ball.
    clip : tuple of float or None, default=(0.0, 1.0)
        Valid pixel range; None leaves values unclipped.
    random_state : int, RandomState instance or None, default=None
        Seed of the random start.

    Attributes
    ----------
    estimator_ : estimator
        The attacked estimator (the very object passed as ``estimator``).

    See Also
    --------
    WordSubstitutionPerturber : the text attack (Equation 2).
    AdversarialAugmentationWrapper : adversarial training with both.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skmmat import (FGSMPerturber, GloveSequencer, ImageResizer,
    ...                     MultiModalCNNClassifier, make_crisis_tweets)
    >>> df = make_crisis_tweets(200, random_state=0)
    >>> prep = make_pipeline(ImageResizer(), GloveSequencer())
    >>> Xp = prep.fit_transform(df[["image", "text"]])
    >>> clf = MultiModalCNNClassifier(max_epochs=3, random_state=0).fit(Xp, df["label"])
    >>> X_adv = FGSMPerturber(clf, eps=0.1).fit_transform(Xp, df["label"])
    >>> delta = abs(X_adv["image"].iloc[0] - Xp["image"].iloc[0]).max()
    >>> bool(delta <= 0.1 + 1e-6)
    True
    """

    modality = "image"

    _parameter_constraints: dict = {
        **BasePerturber._parameter_constraints,
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "step_size": [Interval(Real, 0, None, closed="neither"), None],
        "random_start": ["boolean"],
        "clip": [tuple, list, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        eps=0.1,
        n_iter=1,
        step_size=None,
        random_start=False,
        clip=(0.0, 1.0),
        random_state=None,
    ):
        self.estimator = estimator
        self.eps = eps
        self.n_iter = n_iter
        self.step_size = step_size
        self.random_start = random_start
        self.clip = clip
        self.random_state = random_state

    @property
    def single_step(self):
        return self.n_iter == 1 and not self.random_start

    @property
    def step(self):
        """float: the size of each step, ``step_size`` or its default for ``n_iter``."""
        if self.step_size is not None:
            return self.step_size
        return self.eps if self.n_iter == 1 else 2.5 * self.eps / self.n_iter

    def _check_params(self):
        super()._check_params()
        clip = self.clip
        if clip is not None and not (
            len(clip) == 2 and all(isinstance(c, Real) for c in clip) and clip[0] < clip[1]
        ):
            raise ValueError(
                "The 'clip' parameter of FGSMPerturber must be a (low, high) pair with "
                f"low < high, or None. Got {clip!r} instead."
            )

    def _craft_columns(self, X, y, gradient, rng):
        x0 = check_array_column(X, "image", ndim=3, last_dim=3, caller=type(self).__name__)
        eps = np.float32(self.eps)
        low, high = (-np.inf, np.inf) if self.clip is None else self.clip
        if self.single_step:
            # x0 + eps * sign(grad), clipped, in one new array
            x = np.sign(self._gradient(X, y, gradient))
            x *= eps
            x += x0
            np.clip(x, low, high, out=x)
        else:
            if y is None:  # fix the targets once: the clean input's predictions
                y = self.estimator_.predict(X)
            step = self.step
            x = x0.copy()
            if self.random_start:
                noise = rng.uniform(-self.eps, self.eps, size=x0.shape).astype(np.float32)
                x = np.clip(x + noise, low, high)
            for _ in range(self.n_iter):
                grad = self.estimator_.loss_gradient(replace_column(X, "image", x), y)
                x = x + np.float32(step) * np.sign(grad[self.modality])
                x = np.clip(np.clip(x, x0 - eps, x0 + eps), low, high)
        return {"image": as_cells(x.astype(np.float32, copy=False))}
