"""The classifier's fitted state for :func:`skmmat.save_model` and :func:`skmmat.load_model`."""

from __future__ import annotations

from sklearn.utils.validation import check_is_fitted

from ._training import rebuild_net

__all__ = ["FittedStateMixin"]


class FittedStateMixin:
    """The persistence protocol of :class:`~skmmat.MultiModalCNNClassifier`.

    ``save_model`` stores what ``__skmmat_getstate__`` returns and
    ``load_model`` hands it back to ``__skmmat_setstate__`` of an estimator
    built with the saved parameters, so persistence names no private
    attribute.
    """

    def __skmmat_getstate__(self):
        """The fitted state :func:`skmmat.save_model` stores.

        Returns
        -------
        state : dict
            ``classes_``, ``input_shapes_``, ``architecture_``, ``n_iter_``,
            the training ``history`` (JSON-able) and the ``module`` weights
            (name -> tensor). The Adam state is not part of it.
        """
        check_is_fitted(self)
        weights = self.net_.module_.state_dict()
        return {
            "classes_": self.classes_,
            "input_shapes_": dict(self.input_shapes_),
            "architecture_": dict(self.architecture_),
            "n_iter_": int(self.n_iter_),
            "history": self.net_.history.to_list(),
            "module": {k: t.detach().cpu().contiguous().clone() for k, t in weights.items()},
        }

    def __skmmat_setstate__(self, state):
        """Rebuild the fitted network from a saved state, without training.

        The network is built from the current parameters and the saved
        architecture, initialised without touching the global torch random
        state, and the saved weights are loaded into it.

        Parameters
        ----------
        state : dict
            As returned by :meth:`__skmmat_getstate__`.

        Returns
        -------
        self : MultiModalCNNClassifier

        Raises
        ------
        ValueError
            If the parameters are invalid or the weights do not fit the
            architecture.
        """
        self._validate_params()
        net, arch, shapes, classes = rebuild_net(
            self.get_params(deep=False), state, type(self).__name__
        )
        self.net_ = net
        self.classes_ = classes
        self.input_shapes_ = shapes
        self.architecture_ = arch
        self.n_iter_ = int(state.get("n_iter_", len(net.history)))
        self.resumed_epochs_ = 0
        return self
