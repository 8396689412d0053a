"""The threat model as a box of inputs: what interval bound propagation starts from.

* Images: the L-infinity ball of radius ``eps`` around each pixel, clipped to
  the valid range as :class:`~skmmat.FGSMPerturber` clips its examples:
  ``[clip(x - eps), clip(x + eps)]``.
* Texts: each in-vocabulary word position ranges over the smallest box that
  holds its word's vector and the vectors of its allowed candidates (the
  interval relaxation of Jia et al., 2019); padding and out-of-vocabulary
  positions, which no attack touches, are fixed. The box of a tweet holds
  every tweet the word substitutions can make, with any number of words
  substituted, so it covers any ``max_substitutions`` budget.

A ``share`` below 1 shrinks the text boxes towards the words (certified
training grows them over the first epochs).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["WordBoxes", "image_box"]


def image_box(image, eps, clip):
    """The box of the clipped ``eps``-ball around a batch of images.

    Parameters
    ----------
    image : torch.Tensor
        The clean images, any layout.
    eps : float
        Radius of the L-infinity ball, >= 0.
    clip : tuple of float or None
        The valid range ``(low, high)``; None for none.

    Returns
    -------
    lower, upper : torch.Tensor
        ``clip(image - eps)`` and ``clip(image + eps)``: every image an attack
        that moves each pixel by at most ``eps`` and then clips can reach.
    """
    lower, upper = image - eps, image + eps
    if clip is not None:
        lower, upper = lower.clamp(*clip), upper.clamp(*clip)
    return lower, upper


class WordBoxes:
    """The box of each word of a vocabulary: its vector and its allowed candidates'.

    Parameters
    ----------
    sets : CandidateSets
        The words (sorted rows of ``vectors``) and their candidate sets.
    vectors : ndarray of shape (n_rows, dim)
        The word vectors, indexed by the rows of ``sets``.

    Attributes
    ----------
    words : ndarray of int
        The words, as in ``sets``.
    lower, upper : ndarray of shape (len(words), dim)
        Element-wise minimum and maximum over each word's vector and its
        allowed candidates' vectors (the word's own vector is always inside).
    """

    def __init__(self, sets, vectors):
        own = vectors[sets.words]
        candidates = np.where(sets.allowed[:, :, None], vectors[sets.indices], own[:, None, :])
        self.words = sets.words
        self.lower = np.minimum(own, candidates.min(axis=1))
        self.upper = np.maximum(own, candidates.max(axis=1))

    def bounds(self, text, rows, share=1.0):
        """The box of a batch of texts.

        Parameters
        ----------
        text : torch.Tensor of shape (n, n_words, dim)
            The clean texts.
        rows : ndarray of int of shape (n, n_words)
            The word of each position (a row of ``words``' table), -1 where
            the position is fixed (padding, unknown words).
        share : float in [0, 1], default=1.0
            Each box is shrunk towards its word: ``word + share * (box -
            word)`` at both ends; 1 is the whole box, 0 the point.

        Returns
        -------
        lower, upper : torch.Tensor, like ``text``
        """
        lower, upper = text.clone(), text.clone()
        known = rows >= 0
        if not known.any():
            return lower, upper
        words = rows[known]
        at = np.minimum(np.searchsorted(self.words, words), max(len(self.words) - 1, 0))
        if not len(self.words) or not np.array_equal(self.words[at], words):
            raise ValueError("Some positions hold words that have no box in this vocabulary.")
        mask = torch.as_tensor(known, device=text.device)
        for out, box in ((lower, self.lower), (upper, self.upper)):
            end = torch.as_tensor(box[at], dtype=text.dtype, device=text.device)
            out[mask] = torch.lerp(text[mask], end, float(share))
        return lower, upper
