"""FGSMPerturber: Equation (1) of the paper on the image column."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from .._validation import check_array_column
from ._base import BasePerturber, as_cells
from ._iterative import restart_streams, run_steps
from ._threat_model import ThreatModel

__all__ = ["FGSMPerturber"]


class FGSMPerturber(BasePerturber):
    """Fast Gradient Sign Method on tweet images (the paper's Equation 1).

    ``x' = clip(x + eps * sign(grad_x J(theta, x, y)), 0, 1)``, with the
    gradient from ``estimator.loss_gradient``. With ``n_iter > 1`` it is the
    iterative, projected variant (PGD, Madry et al. 2018): ``n_iter`` steps
    of ``step_size``, each projected back onto the ``eps``-ball around the
    clean image and the valid range. Single-step adversarial training is
    known to mask gradients, so robustness should also be measured against
    the iterative attack, and from several random starts: with
    ``n_restarts > 1`` each row is attacked from ``n_restarts`` random points
    of the ball and keeps the result the model misclassifies, else the one
    with the highest loss.

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
    n_restarts : int, default=1
        Random starts per row (PGD with restarts). Each start runs the whole
        attack; each row keeps the start whose result the model
        misclassifies, else the one with the highest loss at the attack's
        labels (one ``predict_proba`` pass per start). Needs
        ``random_start=True``: restarts from the clean image would repeat the
        same attack. The first start is the single-start attack of the same
        ``random_state``, so restarts are never weaker than one start. With
        :func:`~skmmat.adversarial.craft_adversarial` ``(joint=True)`` each
        start runs the joint attack of both modalities. In-loop adversarial
        training attacks each batch from one start and rejects
        ``n_restarts > 1``.
    clip : tuple of float or None, default=(0.0, 1.0)
        Valid pixel range; None leaves values unclipped.
    random_state : int, RandomState instance or None, default=None
        Seed of the random starts.

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
        "n_restarts": [Interval(Integral, 1, None, closed="left")],
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
        n_restarts=1,
        clip=(0.0, 1.0),
        random_state=None,
    ):
        self.estimator = estimator
        self.eps = eps
        self.n_iter = n_iter
        self.step_size = step_size
        self.random_start = random_start
        self.n_restarts = n_restarts
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
        if self.n_restarts > 1 and not self.random_start:
            raise ValueError(
                "The 'n_restarts' parameter of FGSMPerturber must be 1 unless "
                "random_start=True: restarts from the clean image repeat the same attack. "
                f"Got n_restarts={self.n_restarts!r} with random_start=False."
            )

    def threat_model(self):
        """The :class:`~skmmat.adversarial.ThreatModel` of ``eps`` and ``clip``, validated."""
        self._check_params()
        return ThreatModel(eps=self.eps, clip=self.clip)

    def random_streams(self):
        """One random stream per restart, for every block of one :meth:`craft` call."""
        return restart_streams(check_random_state(self.random_state), self.n_restarts)

    def steps(self, X):
        """The :class:`ImageSteps` of a block of rows of ``X``."""
        x0 = check_array_column(X, "image", ndim=3, last_dim=3, caller=type(self).__name__)
        return ImageSteps(self, x0)

    def _craft_columns(self, X, y, gradient, rng):
        if not self.single_step:
            steps = self.steps(X)
            run_steps(self.estimator_, X, y, [steps], rng)
            return steps.columns()
        x0 = check_array_column(X, "image", ndim=3, last_dim=3, caller=type(self).__name__)
        # x0 + eps * sign(grad), clipped, in one new array
        x = np.sign(self._gradient(X, y, gradient))
        x *= np.float32(self.eps)
        x += x0
        np.clip(x, *self.threat_model_.pixel_range, out=x)
        return {"image": as_cells(x.astype(np.float32, copy=False))}


class ImageSteps:
    """The projected steps of :class:`FGSMPerturber` on a block of images.

    A step state of :func:`~skmmat.adversarial._iterative.run_steps`: from
    the clean images ``x0`` (or a uniformly random point of the
    ``eps``-ball), each step moves ``step`` along the gradient's sign and
    projects back onto the ball and the clip range.

    Parameters
    ----------
    perturber : FGSMPerturber
    x0 : ndarray of shape (n, height, width, 3)
        The block's clean images.
    """

    modality = "image"
    is_open = True

    def __init__(self, perturber, x0):
        self.x0 = x0
        self.threat = perturber.threat_model_
        self.eps = perturber.eps
        self.step_size = np.float32(perturber.step)
        self.n_iter = perturber.n_iter
        self.random_start = perturber.random_start
        self.low, self.high = self.threat.pixel_range
        self.current = None

    def start(self, rng):
        x = self.x0.copy()
        if self.random_start:
            noise = rng.uniform(-self.eps, self.eps, size=x.shape).astype(np.float32)
            x = np.clip(x + noise, self.low, self.high)
        self.current = x

    def step(self, grad):
        x = self.current + self.step_size * np.sign(grad)
        self.current = self.threat.project_image(x, self.x0)
        return True

    def result(self):
        return {"x": self.current.copy()}

    def load(self, result):
        self.current = result["x"]

    def columns(self):
        return {"image": as_cells(self.current.astype(np.float32, copy=False))}
