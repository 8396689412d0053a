"""Train/test splits of CrisisMMD rows: by image-tweet pair, or by tweet."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

__all__ = ["SPLITS", "crisismmd_train_test_split"]

#: The two ways to split CrisisMMD rows (see :func:`crisismmd_train_test_split`).
SPLITS = ("rows", "tweets")


def crisismmd_train_test_split(
    X, y, *, test_size=0.1, split="tweets", groups="tweet_id", random_state=None
):
    """Split CrisisMMD rows into a stratified training and test part.

    CrisisMMD has one row per image-tweet pair, so a tweet with several
    images has several rows with the same text. A split by row puts 6-17 %
    of a disaster's test rows beside a training row of the same tweet; a
    split by tweet keeps every row of one tweet on one side.

    Parameters
    ----------
    X : pandas.DataFrame
        The rows, as :func:`load_crisismmd` returns them (with a
        ``tweet_id`` column for ``split="tweets"``).
    y : array-like of shape (n_samples,)
        Labels; both parts keep their class proportions (approximately, for
        ``split="tweets"``).
    test_size : float, default=0.1
        Share of the rows in the test part, in (0, 0.5]. With
        ``split="tweets"`` the rows are grouped into ``round(1 / test_size)``
        stratified folds of whole tweets and the first fold is the test
        part, so its share is close to ``1 / round(1 / test_size)``.
    split : {"tweets", "rows"}, default="tweets"
        ``"tweets"``: all rows of one tweet on one side
        (:class:`~sklearn.model_selection.StratifiedGroupKFold`). ``"rows"``:
        a stratified split of the pairs
        (:func:`~sklearn.model_selection.train_test_split`), as the MMAT
        paper's numbers most likely are.
    groups : str, default="tweet_id"
        The column that defines a tweet for ``split="tweets"``.
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffling.

    Returns
    -------
    X_train, X_test : pandas.DataFrame
    y_train, y_test : numpy.ndarray

    Raises
    ------
    ValueError
        If ``split``, ``test_size`` or ``groups`` is invalid, or ``X`` and
        ``y`` differ in length.

    Examples
    --------
    >>> import pandas as pd
    >>> from skmmat.datasets import crisismmd_train_test_split
    >>> X = pd.DataFrame({"tweet_id": [1, 1, 2, 3, 4, 4, 5, 6, 7, 8],
    ...                   "text": list("abcdefghij")})
    >>> y = [0, 0, 1, 0, 1, 1, 0, 1, 0, 1]
    >>> X_tr, X_te, y_tr, y_te = crisismmd_train_test_split(
    ...     X, y, test_size=0.25, random_state=0)
    >>> set(X_tr["tweet_id"]) & set(X_te["tweet_id"])
    set()
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}.")
    if (
        not isinstance(test_size, numbers.Real)
        or isinstance(test_size, bool)
        or not 0.0 < test_size <= 0.5
    ):
        raise ValueError(f"test_size must be a float in (0, 0.5], got {test_size!r}.")
    y = np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels.")
    if split == "rows":
        train, test = train_test_split(
            np.arange(len(y)), test_size=test_size, stratify=y, random_state=random_state
        )
    else:
        if groups not in getattr(X, "columns", ()):
            raise ValueError(
                f"split='tweets' needs a {groups!r} column in X (the groups parameter); "
                "load the rows with load_crisismmd, or use split='rows'."
            )
        folds = StratifiedGroupKFold(round(1 / test_size), shuffle=True, random_state=random_state)
        train, test = next(folds.split(X, y, groups=X[groups].to_numpy()))
    return X.iloc[train], X.iloc[test], y[train], y[test]
