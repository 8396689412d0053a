"""The attack of in-loop adversarial training: every training batch, the current weights.

:class:`BatchAttack` is what ``AdversarialAugmentationWrapper(method="in_loop")``
hands the classifier's training step (its ``batch_attack`` parameter, the
training hook): :meth:`BatchAttack.batch_loss` crafts the batch's adversarial
inputs against the weights of that very step (Madry et al., 2018) and returns
the mixed loss of the clean and the adversarial batch. The attacks are the
perturbers' own, in tensors, over the perturbers' :class:`ThreatModel`:

* images: FGSM, from a random start when asked (Wong et al., 2020), or PGD;
* texts: Eq. 2 (once or ``n_iter`` times) over the candidate sets of the
  training vocabulary, within ``max_substitutions``;
* both: one gradient for both modalities per step.

The steps exist twice, here on torch tensors and in the perturbers on numpy
arrays, because crafting works block by block on frames of any size on the
CPU while a training step stays on the training device; both take the
projection onto the ball from :meth:`ThreatModel.project_image` and the Eq. 2
choice from :func:`~skmmat.adversarial._word_search.best_substitutions`, so
each step is written once.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ._fgsm import FGSMPerturber
from ._robust_loss import mixed_loss
from ._threat_model import ThreatModel
from ._word_search import best_substitutions

__all__ = ["BatchAttack", "in_loop_image_perturber", "make_batch_attack"]


def in_loop_image_perturber(eps=0.1):
    """In-loop training's default image attack: one FGSM step of 1.25 ``eps`` from a
    random start in the ``eps`` ball (Wong et al., 2020)."""
    return FGSMPerturber(eps=eps, random_start=True, step_size=1.25 * eps)


class BatchAttack:
    """Adversarial inputs of a training batch against the current weights.

    Parameters
    ----------
    weight : float
        Weight of the adversarial loss; the step minimises
        ``(1 - weight) * clean + weight * adversarial``.
    image : dict, optional
        ``eps``, ``n_iter``, ``step``, ``random_start`` and ``clip`` of the
        image attack; None leaves images clean.
    text : dict, optional
        ``eps``, ``threshold``, ``n_iter``, ``max_substitutions``; None leaves
        texts clean.
    threat : ThreatModel, optional
        The ball the image steps are projected onto and the budget.
    vocabulary : Vocabulary, optional
        The training words and their candidate sets, for the text attack.
    """

    def __init__(self, weight, image=None, text=None, threat=None, vocabulary=None):
        self.weight = float(weight)
        self.image = image
        self.text = text
        self.threat = threat
        self.vocabulary = vocabulary

    def __repr__(self):
        parts = [f"weight={self.weight}"]
        if self.image is not None:
            keys = ("eps", "n_iter", "step", "random_start", "clip")
            parts.append("image=" + repr({k: self.image[k] for k in keys}))
        if self.text is not None:
            keys = ("eps", "threshold", "n_iter", "max_substitutions")
            desc = {k: self.text[k] for k in keys}
            desc["vocabulary"] = len(self.vocabulary)
            parts.append("text=" + repr(desc))
        return f"BatchAttack({', '.join(parts)})"

    def batch_loss(self, net, inputs, y, **fit_params):
        """The training hook: the mixed loss of a batch and its clean predictions.

        ``(1 - weight) * clean loss + weight * adversarial loss``, the
        adversarial batch crafted against the current weights.
        """
        X_adv = self(net.module_, inputs, y)

        def adversarial():
            return net.get_loss(net.infer(X_adv, **fit_params), y, X=X_adv, training=True)

        return mixed_loss(net, inputs, y, self.weight, adversarial, **fit_params)

    def __call__(self, module, inputs, y):
        """Adversarial copies of ``inputs`` (a dict of tensors) at the labels ``y``."""
        was_training = module.training
        module.eval()  # dropout off while crafting, as the perturbers craft
        try:
            with torch.enable_grad():
                return self._craft(module, inputs, y)
        finally:
            module.train(was_training)

    def _craft(self, module, inputs, y):
        adv = {m: t.detach() for m, t in inputs.items()}
        attack_image = self.image is not None and "image" in adv
        attack_text = self.text is not None and "text" in adv
        if attack_image:
            x0 = adv["image"]
            low, high = self.threat.pixel_range
            eps = self.image["eps"]
            if self.image["random_start"]:
                noise = torch.empty_like(x0).uniform_(-eps, eps)
                adv["image"] = (x0 + noise).clamp(low, high)
        rows = budget = None
        if attack_text:
            rows = self.vocabulary.rows(adv["text"])
            budget = self.threat.budget((rows >= 0).sum(axis=1))
        text0 = adv.get("text")
        steps = max(
            self.image["n_iter"] if attack_image else 1, self.text["n_iter"] if attack_text else 1
        )
        for step in range(steps):
            grads = self._gradient(module, adv, y, attack_image, attack_text)
            if attack_image and step < self.image["n_iter"]:
                moved = adv["image"] + self.image["step"] * grads["image"].sign()
                adv["image"] = self.threat.project_image(moved, x0)
            if attack_text and step < self.text["n_iter"]:
                adv["text"] = self._substitute(adv["text"], text0, rows, grads["text"], budget)
        return adv

    @staticmethod
    def _gradient(module, adv, y, attack_image, attack_text):
        wanted = [m for m, on in (("image", attack_image), ("text", attack_text)) if on]
        leaves = {m: t.detach().requires_grad_(m in wanted) for m, t in adv.items()}
        loss = F.cross_entropy(module(**leaves), y, reduction="sum")
        grads = torch.autograd.grad(loss, [leaves[m] for m in wanted])
        return dict(zip(wanted, grads, strict=True))

    def _substitute(self, text, text0, rows, grad, budget):
        """Eq. 2 at the positions that still hold their original word, within the budget."""
        vectors = self.vocabulary.vectors
        current = text.detach().cpu().numpy()
        original = text0.detach().cpu().numpy()
        open_ = (rows >= 0) & np.all(current == original, axis=2) & (budget > 0)[:, None]
        if not open_.any():
            return text
        eta = np.float32(self.text["eps"]) * np.sign(grad.detach().cpu().numpy())
        threshold = -np.inf if self.text["threshold"] is None else self.text["threshold"]
        sets = self.vocabulary.sets
        s, p, w = best_substitutions(rows, open_, eta, sets, vectors, threshold, budget)
        if not s.size:
            return text
        np.subtract.at(budget, s, 1)
        out = text.detach().clone()
        out[torch.as_tensor(s), torch.as_tensor(p)] = torch.as_tensor(
            vectors[w], dtype=out.dtype, device=out.device
        )
        return out


def make_batch_attack(image_perturber, text_perturber, X, modalities, weight):
    """The :class:`BatchAttack` of fitted perturber templates for the training frame ``X``.

    The text attack's vocabulary is the words of ``X``'s text column: their
    candidate sets are searched once here, so that a training step only
    looks them up.
    """
    image = text = vocabulary = None
    image_threat = text_threat = None
    if image_perturber is not None and "image" in modalities:
        p = image_perturber
        image_threat = p.threat_model()
        if p.n_restarts != 1:
            raise ValueError(
                "method='in_loop' attacks each training batch from one start; the image "
                f"perturber's n_restarts={p.n_restarts!r} is for evaluation only."
            )
        image = {
            "eps": float(p.eps),
            "n_iter": int(p.n_iter),
            "step": float(p.step),
            "random_start": bool(p.random_start),
            "clip": None if p.clip is None else tuple(float(c) for c in p.clip),
        }
    if text_perturber is not None and "text" in modalities:
        p = text_perturber
        if p.search != "gradient":
            raise ValueError(
                "method='in_loop' attacks each training batch with the gradient search "
                f"(Eq. 2); the text perturber's search={p.search!r} is for evaluation only."
            )
        text_threat = p.threat_model()
        text = {
            "eps": float(p.eps),
            "threshold": None if p.threshold is None else float(p.threshold),
            "n_iter": int(p.n_iter),
            "max_substitutions": p.max_substitutions,
        }
        vocabulary = text_threat.vocabulary(X, "in-loop attack")
    threat = ThreatModel.combine(image_threat, text_threat)
    return BatchAttack(weight, image=image, text=text, threat=threat, vocabulary=vocabulary)
