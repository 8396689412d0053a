"""Inference of the fitted classifier: model inputs, logits, probabilities, input gradients."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._encoder import EncoderBranch
from ._features import with_frozen_features
from ._inputs import encode_labels, frame_to_inputs, min_image_side
from ._passes import batched_input_gradient, batched_proba, eval_batch_size, eval_logits

__all__ = ["InferenceMixin"]


class InferenceMixin:
    """The inference methods of :class:`~skmmat.MultiModalCNNClassifier`.

    Every pass runs the fitted network in evaluation mode, ``eval_batch_size``
    rows at a time, with ``n_threads`` torch threads.
    """

    def model_inputs(self, X):
        """Validate ``X`` against the fitted model and stack it into model inputs.

        Parameters
        ----------
        X : pandas.DataFrame
            Frame with the modality columns used at fit time, with the same
            per-row array shapes.

        Returns
        -------
        inputs : dict of str -> ndarray of float32
            ``"image"``: ``(n, 3, height, width)`` (channels first) and/or
            ``"text"``: ``(n, n_words, embedding_dim)``, for the modalities in
            use; the input of :meth:`forward_logits`.
        """
        return {m: np.asarray(column) for m, column in self._row_inputs(X).items()}

    def _row_inputs(self, X):
        """Validated model inputs that the passes read a batch of rows at a time."""
        check_is_fitted(self)
        arch = self.architecture_
        inputs, _ = frame_to_inputs(
            X,
            arch["modalities"],
            text_window=arch["text_window"],
            min_side=min_image_side(arch),
            caller=type(self).__name__,
            reference=self.input_shapes_,
        )
        return inputs

    def forward_logits(self, inputs):
        """Differentiable logits of the fitted network in evaluation mode.

        Parameters
        ----------
        inputs : dict of str -> ndarray or torch.Tensor
            Model-layout inputs as returned by :meth:`model_inputs`:
            ``"image"`` of shape ``(n, 3, height, width)`` and/or ``"text"``
            of shape ``(n, n_words, embedding_dim)``. Tensors keep their
            autograd graph, so gradients with respect to them can be taken.

        Returns
        -------
        logits : torch.Tensor of shape (n, n_classes)
            Computed with dropout disabled; the module's training flag is
            restored afterwards. Gradient tracking follows the caller's
            ``torch.no_grad`` / ``torch.enable_grad`` context.
        """
        check_is_fitted(self)
        missing = [m for m in self.input_shapes_ if m not in inputs]
        if missing:
            raise ValueError(f"{type(self).__name__}.forward_logits: missing input(s) {missing}.")
        used = {m: inputs[m] for m in self.input_shapes_}
        return eval_logits(self.net_.module_, used, self.net_.device, self.n_threads)

    def predict_proba(self, X):
        """Class probabilities (softmax of the logits).

        Parameters
        ----------
        X : pandas.DataFrame
            Frame with the modality columns used at fit time, with the same
            per-row array shapes.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``; rows sum to one.
        """
        inputs = self._row_inputs(X)
        module = self.net_.module_
        batch_size = eval_batch_size(self.eval_batch_size, self.net_.device)
        if isinstance(getattr(module, "visual", None), EncoderBranch) and module.visual.split:
            # a pretrained encoder's frozen part: each distinct image once
            inputs = with_frozen_features(
                module,
                inputs,
                device=self.net_.device,
                n_threads=self.n_threads,
                batch_size=batch_size,
            )
        return batched_proba(
            module,
            inputs,
            device=self.net_.device,
            n_threads=self.n_threads,
            batch_size=batch_size,
        )

    def predict(self, X):
        """Predicted class labels (of the same kind as the training labels).

        Parameters
        ----------
        X : pandas.DataFrame
            Frame with the modality columns used at fit time.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def loss_gradient(self, X, y=None):
        """Gradient of each sample's cross-entropy loss w.r.t. its inputs.

        This is :math:`\\nabla_x J(\\theta, x, y)` of Equation (1) of the
        paper, per sample, for every modality in use. The network is run in
        evaluation mode (dropout off); its parameters, their ``.grad`` and
        its training flag are left unchanged.

        Parameters
        ----------
        X : pandas.DataFrame
            Frame with the modality columns used at fit time.
        y : array-like of shape (n_samples,), default=None
            True labels (same kind as in :meth:`fit`). When None, the
            model's own predicted labels (argmax of the same forward pass)
            are used, so no labels are needed.

        Returns
        -------
        gradients : dict of str -> ndarray of float32
            In the layout of the input columns: ``"image"`` of shape
            ``(n, height, width, 3)`` and/or ``"text"`` of shape
            ``(n, n_words, embedding_dim)``.
        """
        inputs = self._row_inputs(X)
        y_enc = None if y is None else encode_labels(y, self.classes_, len(X), type(self).__name__)
        return batched_input_gradient(
            self.net_.module_,
            inputs,
            y_enc,
            device=self.net_.device,
            n_threads=self.n_threads,
            batch_size=eval_batch_size(self.eval_batch_size, self.net_.device),
        )
