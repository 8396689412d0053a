"""The loss of certified training: interval bounds of every training batch (Gowal et al., 2018).

:class:`IntervalBoundLoss` is what ``AdversarialAugmentationWrapper(method="ibp")``
hands the classifier's training step (its ``batch_attack`` parameter, the
hook ``method="in_loop"`` uses too). For each batch it returns

``(1 - kappa) * clean loss + kappa * robust loss``,

where the robust loss is the cross-entropy of the worst-case logits over the
batch's box: ``-lower(logit_y - logit_j)`` for every class ``j`` (0 for the
true class), the bound that a certificate reads. The box grows over the
first ``ramp_epochs`` epochs, and ``kappa`` with it, as Gowal et al. ramp
both:

* images: the clipped ``eps * s`` ball;
* texts: each word's box shrunk towards the word by ``s`` (the box of its
  candidate set in the :class:`~skmmat.adversarial.ThreatModel`);
* ``kappa = weight * s``,

with ``s = min(1, epoch / ramp_epochs)`` and ``epoch`` the net's epoch
number, from 1 (a resumed or warm-started fit goes on counting).
"""

from __future__ import annotations

from skorch.utils import to_tensor

from ._bounds import margin_bounds
from ._robust_loss import mixed_loss
from ._threat_model import ThreatModel

__all__ = ["IntervalBoundLoss", "make_interval_bound_loss"]


class IntervalBoundLoss:
    """Certified training's loss of a training batch, on the current weights.

    Parameters
    ----------
    weight : float
        The final weight ``kappa`` of the robust loss; 0 is plain training.
    ramp_epochs : int
        Epochs over which the box and ``kappa`` grow linearly from nothing;
        0 starts at full size.
    threat : ThreatModel
        The threat model; its ``eps`` (None holds images fixed) gives the
        image box.
    vocabulary : Vocabulary, optional
        The training words and their candidate sets, whose boxes bound the
        texts; None holds texts fixed.
    """

    def __init__(self, weight, ramp_epochs, threat, vocabulary=None):
        self.weight = float(weight)
        self.ramp_epochs = int(ramp_epochs)
        #: early stopping ignores the ramp's epochs (the box still grows)
        self.settle_epochs = self.ramp_epochs
        self.threat = threat
        self.vocabulary = vocabulary
        self.boxes = None if vocabulary is None else vocabulary.word_boxes()

    def __repr__(self):
        parts = [f"weight={self.weight}", f"ramp_epochs={self.ramp_epochs}"]
        if self.threat.eps is not None:
            parts.append(f"image={{'eps': {self.threat.eps!r}, 'clip': {self.threat.clip!r}}}")
        if self.vocabulary is not None:
            parts.append(f"text={{'vocabulary': {len(self.vocabulary)}}}")
        return f"IntervalBoundLoss({', '.join(parts)})"

    def schedule(self, epoch):
        """The share ``s`` of the box at an epoch (from 1): ``min(1, epoch / ramp_epochs)``."""
        if self.ramp_epochs == 0:
            return 1.0
        return min(1.0, epoch / self.ramp_epochs)

    def batch_loss(self, net, inputs, y, **fit_params):
        """The mixed loss of a batch and the clean predictions (the training hook's protocol).

        Parameters
        ----------
        net : skorch.NeuralNet
            The net being trained; its ``history`` gives the epoch.
        inputs : dict of str -> torch.Tensor
            The batch's model inputs.
        y : torch.Tensor
            Its class indices.
        **fit_params
            Passed to the clean forward pass.

        Returns
        -------
        loss, y_pred : torch.Tensor
        """
        share = self.schedule(max(len(net.history), 1))
        module = net.module_

        def robust():
            points = to_tensor(inputs, device=net.device)
            target = to_tensor(y, device=net.device)
            lower, upper = self.box(points, share)
            low, _ = margin_bounds(module, lower, upper, target)
            return net.get_loss(-low, target, X=inputs, training=True)

        return mixed_loss(net, inputs, y, self.weight * share, robust, **fit_params)

    def box(self, inputs, share=1.0):
        """The box of a batch at ``share`` of the threat model (lower and upper dicts)."""
        lower, upper = dict(inputs), dict(inputs)
        if self.threat.eps is not None and "image" in inputs:
            lower["image"], upper["image"] = self.threat.image_box(inputs["image"], share)
        if self.vocabulary is not None and "text" in inputs:
            rows = self.vocabulary.rows(inputs["text"])
            lower["text"], upper["text"] = self.boxes.bounds(inputs["text"], rows, share)
        return lower, upper


def make_interval_bound_loss(image_perturber, text_perturber, X, modalities, weight, ramp_epochs):
    """The :class:`IntervalBoundLoss` of fitted perturber templates for the training frame ``X``.

    The threat model is read from the perturbers as
    :func:`skmmat.metrics.certify` reads it: ``eps`` and ``clip`` of the
    image perturber; the candidate sets (``n_candidates``, ``max_distance``,
    ``metric``) of the text perturber, searched once for the words of ``X``.
    """
    image = text = vocabulary = None
    if image_perturber is not None and "image" in modalities:
        image = image_perturber.threat_model()
    if text_perturber is not None and "text" in modalities:
        text = text_perturber.threat_model()
        vocabulary = text.vocabulary(X, "certified training")
    threat = ThreatModel.combine(image, text)
    return IntervalBoundLoss(weight, ramp_epochs, threat, vocabulary)
