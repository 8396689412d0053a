"""scikit-learn's common checks for the public estimators, and their DataFrame versions.

scikit-learn's :func:`~sklearn.utils.estimator_checks.parametrize_with_checks`
yields no check at all for an estimator whose tags say it does not take a
2-D numeric array, and every skmmat estimator reads a pandas DataFrame
(per-row image and word-vector arrays, or raw tweets). So the checks run on
test-only subclasses whose only change is that tag: the API checks (cloning,
``get_params``/``set_params``, ``__init__`` storing parameters untouched,
unfitted errors, tags, repr) then run and must pass, and the checks that feed
a numpy array are listed in :data:`EXPECTED_FAILED_CHECKS` with their reason,
as imbalanced-learn does. The second half of this file runs the DataFrame
version of each of those data checks, with the small data each class takes.
"""

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted

from skmmat import (
    AdversarialAugmentationWrapper,
    FGSMPerturber,
    GloveSequencer,
    ImageResizer,
    MultiModalCNNClassifier,
    WordSubstitutionPerturber,
    make_crisis_tweets,
)
from skmmat.adversarial import RandomizedSmoothingClassifier

TINY = {
    "hidden_units": 8,
    "image_filters": (4,),
    "text_filters": 8,
    "max_epochs": 2,
    "patience": None,
    "random_state": 0,
}

_ARRAY = (
    "it feeds a numpy array, and {name} reads a pandas DataFrame of per-row arrays or raw "
    "tweets (a ValueError names the DataFrame it expects); test_common.py runs the "
    "DataFrame version"
)
_REASONS = {
    "check_estimators_nan_inf": "NaN inside a 2-D array; on frames a NaN cell is refused "
    "naming its column and row (each class's own tests)",
    "check_estimator_sparse_array": "a sparse matrix cannot hold per-row arrays",
    "check_estimator_sparse_matrix": "a sparse matrix cannot hold per-row arrays",
    "check_estimator_sparse_tag": "a sparse matrix cannot hold per-row arrays",
    "check_n_features_in": "columns are read by name and other columns ignored, so there "
    "is no n_features_in_",
    "check_n_features_in_after_fitting": "columns are read by name and other columns "
    "ignored, so there is no n_features_in_",
    "check_positive_only_tag_during_fit": "feeds a numpy array; images must lie in [0, 1] "
    "and are checked in the DataFrame",
}
_DATA_CHECKS = (
    "check_array_api_input check_class_weight_classifiers check_classifier_data_not_an_array "
    "check_classifiers_classes "
    "check_classifiers_one_label check_classifiers_regression_target check_classifiers_train "
    "check_complex_data check_dict_unchanged check_dont_overwrite_parameters check_dtype_object "
    "check_estimators_dtypes check_estimators_empty_data_messages "
    "check_estimators_fit_returns_self "
    "check_estimators_overwrite_params check_estimators_pickle check_f_contiguous_array_estimator "
    "check_fit2d_1feature check_fit2d_1sample check_fit2d_predict1d check_fit_check_is_fitted "
    "check_fit_idempotent check_fit_score_takes_y check_methods_sample_order_invariance "
    "check_methods_subset_invariance check_pipeline_consistency check_readonly_memmap_input "
    "check_requires_y_none check_supervised_y_2d check_transformer_data_not_an_array "
    "check_transformer_general check_transformer_preserve_dtypes"
).split()


def expected_failed_checks(estimator):
    """The checks that cannot apply to DataFrame input, each with its reason."""
    name = type(estimator).__name__
    table = {check: _ARRAY.format(name=name) for check in _DATA_CHECKS}
    return {**table, **_REASONS}


def _with_array_tag(cls):
    """Test-only subclass that lets scikit-learn yield its checks (see the module doc)."""

    def __sklearn_tags__(self):
        tags = cls.__sklearn_tags__(self)
        tags.input_tags.two_d_array = True
        return tags

    return type(cls.__name__, (cls,), {"__sklearn_tags__": __sklearn_tags__})


@parametrize_with_checks(
    [
        _with_array_tag(MultiModalCNNClassifier)(**TINY),
        _with_array_tag(AdversarialAugmentationWrapper)(MultiModalCNNClassifier(**TINY)),
        _with_array_tag(ImageResizer)(size=(8, 8)),
        _with_array_tag(GloveSequencer)(),
        _with_array_tag(FGSMPerturber)(),
        _with_array_tag(WordSubstitutionPerturber)(algorithm="exact"),
        _with_array_tag(RandomizedSmoothingClassifier)(MultiModalCNNClassifier(**TINY)),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_common_checks(estimator, check):
    check(estimator)


# ----------------------------------------------------------------------
# the data checks on DataFrames: each class with the small data it takes
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def tweets():
    """48 raw demo tweets and the same tweets preprocessed at 16x16."""
    raw = make_crisis_tweets(48, random_state=1)
    prep = GloveSequencer().fit_transform(ImageResizer(size=(16, 16)).fit_transform(raw))
    return raw[["image", "text"]], prep[["image", "text", "tokens"]], raw["label"].to_numpy()


@pytest.fixture(scope="module")
def target(tweets):
    """The fitted model the perturbers attack."""
    _, X, y = tweets
    return MultiModalCNNClassifier(**TINY).fit(X, y)


CASES = {
    "MultiModalCNNClassifier": lambda target: MultiModalCNNClassifier(**TINY),
    "AdversarialAugmentationWrapper": lambda target: AdversarialAugmentationWrapper(
        MultiModalCNNClassifier(**TINY),
        text_perturber=WordSubstitutionPerturber(algorithm="exact"),
        random_state=0,
    ),
    "ImageResizer": lambda target: ImageResizer(size=(8, 8)),
    "GloveSequencer": lambda target: GloveSequencer(max_len=10),
    "FGSMPerturber": lambda target: FGSMPerturber(target),
    "WordSubstitutionPerturber": lambda target: WordSubstitutionPerturber(
        target, algorithm="exact"
    ),
    "RandomizedSmoothingClassifier": lambda target: RandomizedSmoothingClassifier(
        MultiModalCNNClassifier(**TINY),
        WordSubstitutionPerturber(algorithm="exact", max_substitutions=1),
        n_samples=5,
        n_samples_certify=10,
        n_copies=1,
        random_state=0,
    ),
}


@pytest.fixture(params=list(CASES))
def case(request, tweets, target):
    """(unfitted estimator, its input frame, labels)."""
    raw, prep, y = tweets
    estimator = CASES[request.param](target)
    X = raw if isinstance(estimator, ImageResizer | GloveSequencer) else prep
    return estimator, X, y


def output(estimator, X):
    """What the estimator computes: probabilities, or the columns it writes, stacked."""
    if is_classifier(estimator):
        return estimator.predict_proba(X)
    column = "image" if isinstance(estimator, ImageResizer | FGSMPerturber) else "text"
    return np.stack(list(estimator.transform(X)[column]))


def test_fit_returns_self_and_leaves_parameters_alone(case):
    """check_estimators_fit_returns_self, _overwrite_params, _dont_overwrite_parameters."""
    estimator, X, y = case
    params = estimator.get_params(deep=False)
    target = params.pop("estimator", None)  # a perturber's fitted model: kept as is
    before = joblib.hash(params)
    public_before = {k for k in vars(estimator) if not k.startswith("_")}
    assert estimator.fit(X, y) is estimator
    after = estimator.get_params(deep=False)
    assert after.pop("estimator", None) is target
    assert joblib.hash(after) == before
    added = {k for k in vars(estimator) if not k.startswith("_")} - public_before
    assert added and all(k.endswith("_") for k in added), added


def test_fit_check_is_fitted(case):
    estimator, X, y = case
    with pytest.raises(NotFittedError):
        check_is_fitted(estimator)
    with pytest.raises(NotFittedError):
        output(estimator, X)
    check_is_fitted(estimator.fit(X, y))


def test_fit_is_idempotent_and_outputs_do_not_change_the_estimator(case):
    """check_fit_idempotent and check_dict_unchanged."""
    estimator, X, y = case
    first = output(clone(estimator).fit(X, y), X)
    estimator.fit(X, y)
    state = dict(vars(estimator))
    np.testing.assert_allclose(output(estimator, X), first, rtol=1e-5, atol=1e-6)
    assert vars(estimator).keys() == state.keys()
    assert all(vars(estimator)[k] is v for k, v in state.items())


def test_outputs_are_per_row(case):
    """check_methods_subset_invariance and check_methods_sample_order_invariance."""
    estimator, X, y = case
    estimator.fit(X, y)
    full = output(estimator, X)
    np.testing.assert_allclose(output(estimator, X.iloc[:7]), full[:7], rtol=1e-5, atol=1e-6)
    order = np.random.default_rng(0).permutation(len(X))
    np.testing.assert_allclose(output(estimator, X.iloc[order]), full[order], rtol=1e-5, atol=1e-6)


def test_pickle_round_trip(case):
    """check_estimators_pickle."""
    estimator, X, y = case
    estimator.fit(X, y)
    again = pickle.loads(pickle.dumps(estimator))
    np.testing.assert_array_equal(output(again, X), output(estimator, X))


def test_bad_input_names_the_problem(case):
    """check_fit2d_predict1d, check_estimators_empty_data_messages, check_requires_y_none."""
    estimator, X, y = case
    with pytest.raises(ValueError, match="DataFrame"):
        clone(estimator).fit(np.zeros((len(X), 3)), y)
    if is_classifier(estimator):
        with pytest.raises(ValueError, match="0 rows"):
            clone(estimator).fit(X.iloc[:0], y[:0])
        with pytest.raises(ValueError, match="y"):
            clone(estimator).fit(X, None)
        with pytest.raises(ValueError, match="one class"):
            clone(estimator).fit(X, np.full(len(X), y[0]))
    estimator.fit(X, y)
    with pytest.raises(ValueError, match="DataFrame"):
        output(estimator, np.zeros((len(X), 3)))
    with pytest.raises(ValueError, match="column"):
        output(estimator, pd.DataFrame({"other": np.arange(len(X))}))
