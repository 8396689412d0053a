"""TRADES training: the clean loss plus the divergence between clean and adversarial predictions.

:class:`TradesLoss` is the training hook of
``AdversarialAugmentationWrapper(method="trades")`` (Zhang et al., 2019). For
each training batch it crafts adversarial inputs against the current weights
with the in-loop attack (:class:`~skmmat.adversarial._in_loop.BatchAttack`)
and minimises

``CE(f(x), y) + beta * KL(softmax f(x) || softmax f(x_adv))``.

Unlike the mixed loss of in-loop training, the robust term asks the model to
answer the same on both inputs, not to answer ``y`` on the adversarial one.
A model that answers the same everywhere makes it zero, so only the clean
term keeps the classes apart: a large ``beta`` on an imbalanced set pushes
towards the majority class (see the documentation's results page). The
attack maximises the loss at the true label, as the attacks that score the
model do (the original maximises the divergence itself).
"""

from __future__ import annotations

import torch.nn.functional as F

__all__ = ["TradesLoss"]


class TradesLoss:
    """The TRADES loss of a training batch, the adversarial inputs crafted in the loop.

    Parameters
    ----------
    attack : BatchAttack
        Crafts each batch's adversarial inputs against the current weights.
    beta : float
        Weight of the divergence; 0 is plain training.
    """

    def __init__(self, attack, beta):
        self.attack = attack
        self.beta = float(beta)
        #: the hook's weight: 0 (plain training) exactly when beta is 0
        self.weight = 1.0 if self.beta > 0 else 0.0

    def __repr__(self):
        return f"TradesLoss(beta={self.beta}, attack={self.attack!r})"

    def batch_loss(self, net, inputs, y, **fit_params):
        """The training hook: ``CE(clean) + beta * KL(clean || adversarial)`` and the clean
        predictions."""
        X_adv = self.attack(net.module_, inputs, y)
        y_pred = net.infer(inputs, **fit_params)
        clean = net.get_loss(y_pred, y, X=inputs, training=True)
        adversarial = net.infer(X_adv, **fit_params)
        divergence = F.kl_div(
            F.log_softmax(adversarial, dim=1), F.softmax(y_pred, dim=1), reduction="batchmean"
        )
        return clean + self.beta * divergence, y_pred
