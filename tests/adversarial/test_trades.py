"""TRADES training: the clean loss plus the divergence between clean and adversarial answers."""

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skmmat import AdversarialAugmentationWrapper, WordSubstitutionPerturber
from skmmat.adversarial._trades import TradesLoss
from skmmat.experiments import make_table1_model

from .conftest import model_batch


def test_the_loss_is_the_clean_loss_plus_beta_times_the_divergence(prepared, small_cnn):
    X, y = prepared
    clf = small_cnn(dropout=0.0, max_epochs=1).fit(X, y)
    net = clf.net_
    net.module_.train()
    inputs, target = model_batch(clf, X, y, np.arange(16))

    def shifted(module, batch, labels):
        return {m: t + 0.05 for m, t in batch.items()}

    def same(module, batch, labels):
        return dict(batch)

    with torch.no_grad():
        clean = net.get_loss(net.infer(inputs), target, X=inputs, training=True)
        loss, y_pred = TradesLoss(same, beta=6.0).batch_loss(net, inputs, target)
        torch.testing.assert_close(loss, clean)  # the same answers: no divergence
        loss, _ = TradesLoss(shifted, beta=6.0).batch_loss(net, inputs, target)
        adv = net.infer(shifted(None, inputs, None))
        kl = torch.sum(
            torch.softmax(y_pred, 1) * (torch.log_softmax(y_pred, 1) - torch.log_softmax(adv, 1))
        ) / len(target)
        torch.testing.assert_close(loss, clean + 6.0 * kl)
        assert kl > 0
    assert TradesLoss(same, beta=0.0).weight == 0.0  # the plain step


def test_trades_training_is_seeded_and_differs_from_plain_and_in_loop(prepared, small_cnn):
    X, y = prepared
    text = WordSubstitutionPerturber(n_iter=2, max_substitutions=3)
    trades = AdversarialAugmentationWrapper(
        small_cnn(max_epochs=2), text_perturber=text, method="trades", random_state=0
    ).fit(X, y)
    again = clone(trades).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), trades.predict_proba(X))
    history = trades.estimator_.net_.history
    assert len(history) == 2 and all(np.isfinite(h["train_loss"]) for h in history)
    assert trades.estimator_.batch_attack is None and trades.initial_estimator_ is None
    in_loop = AdversarialAugmentationWrapper(
        small_cnn(max_epochs=2), text_perturber=text, method="in_loop", random_state=0
    ).fit(X, y)
    plain = small_cnn(max_epochs=2).fit(X, y)
    for other in (in_loop.predict_proba(X), plain.predict_proba(X)):
        assert not np.array_equal(other, trades.predict_proba(X))


def test_beta_zero_trains_the_plain_model(prepared, small_cnn):
    X, y = prepared
    plain = small_cnn(max_epochs=2).fit(X, y)
    wrapper = AdversarialAugmentationWrapper(
        small_cnn(max_epochs=2), method="trades", trades_beta=0.0
    ).fit(X, y)
    np.testing.assert_array_equal(wrapper.predict_proba(X), plain.predict_proba(X))


def test_trades_beta_belongs_to_trades(prepared, small_cnn):
    X, y = prepared
    wrapper = AdversarialAugmentationWrapper(small_cnn(max_epochs=1), trades_beta=1.0)
    with pytest.raises(ValueError, match="trades_beta=1.0 belongs to method='trades'"):
        wrapper.fit(X, y)
    assert make_table1_model("text_cnn_adv", method="trades").steps[-1][1].method == "trades"
