"""The loss of robust training: a clean and a robust term of one training batch, mixed.

The classifier's training hook (its ``batch_attack`` parameter) is any object
with a ``weight`` and a method ``batch_loss(net, inputs, y, **fit_params)``
that returns the batch's loss and its clean predictions; the training step
calls it on every batch, with the network in training mode. A hook whose
loss still changes over its first epochs (a ramp) may also set
``settle_epochs``: early stopping then ignores those epochs. In-loop
adversarial training (:class:`~skmmat.adversarial._in_loop.BatchAttack`) and
certified training (:class:`~skmmat.adversarial._ibp.IntervalBoundLoss`) are
such hooks, and both mix their robust term into the clean loss here.
"""

from __future__ import annotations

__all__ = ["mixed_loss"]


def mixed_loss(net, inputs, y, weight, robust, **fit_params):
    """``(1 - weight) * clean loss + weight * robust()`` of a training batch.

    The clean forward pass (training mode, so with dropout) runs first, then
    ``robust()``, a callable that returns the robust term.

    Parameters
    ----------
    net : skorch.NeuralNet
        The net being trained, in training mode.
    inputs : dict of str -> torch.Tensor
        The batch's model inputs.
    y : torch.Tensor
        Its class indices.
    weight : float
        The robust term's weight.
    robust : callable
        Returns the robust term (a scalar tensor).
    **fit_params
        Passed to the clean forward pass.

    Returns
    -------
    loss : torch.Tensor
    y_pred : torch.Tensor
        The clean forward pass's output.
    """
    y_pred = net.infer(inputs, **fit_params)
    clean = net.get_loss(y_pred, y, X=inputs, training=True)
    return (1.0 - weight) * clean + weight * robust(), y_pred
