"""A progress bar over the epochs of one fit."""

from __future__ import annotations

from skorch.callbacks import Callback
from tqdm.auto import tqdm

__all__ = ["EpochProgress"]


class EpochProgress(Callback):
    """skorch callback: a tqdm bar over the epochs of one fit, with the latest losses.

    Used by :class:`~skmmat.MultiModalCNNClassifier` with ``verbose >= 2``.
    The bar is dropped at the end of training, so a fitted model stays
    picklable.
    """

    def on_train_begin(self, net, **kwargs):
        self.bar_ = tqdm(total=net.max_epochs, desc="epochs", unit="epoch", leave=False)

    def on_epoch_end(self, net, **kwargs):
        last = net.history[-1]
        losses = {k: f"{last[k]:.3f}" for k in ("train_loss", "valid_loss") if k in last}
        self.bar_.set_postfix(losses, refresh=False)
        self.bar_.update()

    def on_train_end(self, net, **kwargs):
        self.bar_.close()
        del self.bar_
