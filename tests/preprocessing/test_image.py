"""Tests of ImageResizer on real image files written with Pillow."""

import copy
import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from skmmat.preprocessing import ImageResizer

RGB = (200, 30, 90)


def check_output(image, shape=(64, 64, 3)):
    assert isinstance(image, np.ndarray)
    assert image.shape == shape
    assert image.dtype == np.float32
    assert np.isfinite(image).all()
    assert image.min() >= 0.0 and image.max() <= 1.0


def resize_one(cell, **params):
    out = ImageResizer(**params).fit_transform(pd.DataFrame({"image": [cell]}))
    return out["image"].iloc[0]


def noise(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


# ---------------------------------------------------------------------------
# Files of every common kind
# ---------------------------------------------------------------------------


def _palette_image(size):
    img = Image.new("P", size, 0)
    img.putpalette(list(RGB) + [0, 0, 0] * 255)
    return img


# (name, writer, expected constant colour in [0, 1], tolerance)
_FILES = [
    ("rgb.jpg", lambda s: Image.new("RGB", s, RGB), np.array(RGB) / 255, 3 / 255),
    ("rgb.png", lambda s: Image.new("RGB", s, RGB), np.array(RGB) / 255, 1e-6),
    ("grey.png", lambda s: Image.new("L", s, 77), np.full(3, 77 / 255), 1e-6),
    ("grey.jpg", lambda s: Image.new("L", s, 77), np.full(3, 77 / 255), 2 / 255),
    ("rgba.png", lambda s: Image.new("RGBA", s, (*RGB, 100)), np.array(RGB) / 255, 1e-6),
    ("palette.png", _palette_image, np.array(RGB) / 255, 1e-6),
    ("palette.gif", _palette_image, np.array(RGB) / 255, 1e-6),
    ("bilevel.png", lambda s: Image.new("1", s, 1), np.ones(3), 1e-6),
    ("cmyk.jpg", lambda s: Image.new("CMYK", s, (0, 255, 255, 0)), np.array([1, 0, 0]), 3 / 255),
    (
        "grey16.png",
        lambda s: Image.fromarray(np.full(s[::-1], 30000, np.uint16)),
        np.full(3, 30000 / 65535),
        1e-6,
    ),
    ("rgb.bmp", lambda s: Image.new("RGB", s, RGB), np.array(RGB) / 255, 1e-6),
]


@pytest.mark.parametrize(("name", "make", "colour", "tol"), _FILES, ids=[f[0] for f in _FILES])
def test_files_keep_their_constant_colour(tmp_path, name, make, colour, tol):
    path = tmp_path / name
    make((120, 75)).save(path)
    if name == "grey16.png":
        with Image.open(path) as img:
            assert img.mode.startswith("I")  # really a 16-bit file
    for cell in (str(path), path):
        image = resize_one(cell)
        check_output(image)
        np.testing.assert_allclose(image, np.broadcast_to(colour, image.shape), atol=tol)


def test_sixteen_bit_gradient_is_scaled_not_clipped(tmp_path):
    ramp = np.linspace(0, 65535, 256).astype(np.uint16)
    Image.fromarray(np.tile(ramp, (32, 1))).save(tmp_path / "ramp16.png")
    image = resize_one(str(tmp_path / "ramp16.png"), size=(8, 256))
    check_output(image, (8, 256, 3))
    np.testing.assert_allclose(image[0, :, 0], ramp / 65535, atol=1e-4)


def test_file_image_matches_pillow_reference(tmp_path):
    pixels = noise((90, 40, 3))
    Image.fromarray(pixels).save(tmp_path / "noise.png")
    image = resize_one(str(tmp_path / "noise.png"), size=(32, 48))
    check_output(image, (32, 48, 3))
    ref = Image.fromarray(pixels).resize((48, 32), Image.Resampling.BILINEAR)
    np.testing.assert_allclose(image, np.asarray(ref) / 255, atol=1e-6)


def _photo(size, seed=0):
    """A smooth gradient with fine texture: a JPEG-like photograph."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    base = np.stack([xx, yy, 1 - xx * yy], axis=2) * 200
    texture = np.random.default_rng(seed).normal(0, 12, (h, w, 3))
    return np.clip(base + texture, 0, 255).astype(np.uint8)


def test_reduced_decoding_of_large_jpegs_stays_close_to_full(tmp_path, monkeypatch):
    from PIL import JpegImagePlugin

    path = tmp_path / "photo.jpg"
    Image.fromarray(_photo((600, 800))).save(path, quality=90)
    scales = []
    real_draft = JpegImagePlugin.JpegImageFile.draft

    def draft(self, mode, size):
        result = real_draft(self, mode, size)
        scales.append((size, self.size))
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", draft)
    full = resize_one(str(path), decode="full")
    assert scales == []  # the exact path decodes at full size
    reduced = resize_one(str(path))  # the default
    check_output(reduced)
    # decoded at 1/4 scale (200 x 150), the smallest that keeps twice the 64 x 64 output
    assert scales == [((128, 128), (200, 150))]
    diff = np.abs(reduced - full)
    assert 0 < diff.mean() < 1 / 255 and diff.max() < 12 / 255


def test_a_png_file_under_a_jpg_name_is_decoded_as_png(tmp_path):
    # some real CrisisMMD files are PNGs named .jpg: the format, not the name, decides
    pixels = _photo((600, 800))
    disguised, honest = tmp_path / "disguised.jpg", tmp_path / "honest.png"
    Image.fromarray(pixels).save(disguised, format="PNG")
    Image.fromarray(pixels).save(honest)
    reduced = resize_one(str(disguised))
    np.testing.assert_array_equal(reduced, resize_one(str(disguised), decode="full"))
    np.testing.assert_array_equal(reduced, resize_one(str(honest)))


def test_reduced_decoding_leaves_small_jpegs_and_other_formats_alone(tmp_path):
    small = tmp_path / "small.jpg"
    Image.fromarray(_photo((100, 90))).save(small, quality=90)
    png = tmp_path / "large.png"
    Image.fromarray(_photo((600, 800))).save(png)
    for path in (small, png):
        np.testing.assert_array_equal(resize_one(str(path)), resize_one(str(path), decode="full"))


def test_orientation_is_kept(tmp_path):
    pixels = np.zeros((90, 40, 3), np.uint8)
    pixels[:45] = 255  # top half white
    pixels[:, :20, 1] = 0  # left half of the top without green
    Image.fromarray(pixels).save(tmp_path / "halves.png")
    for cell in (str(tmp_path / "halves.png"), pixels, Image.fromarray(pixels)):
        image = resize_one(cell)
        assert image[:28].mean() > 0.6 and image[36:].max() < 0.05
        assert image[:28, :28, 1].max() < 0.05 and image[:28, 36:, 1].min() > 0.95


# ---------------------------------------------------------------------------
# In-memory PIL images and arrays
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("img", "colour"),
    [
        (Image.new("RGB", (30, 50), RGB), np.array(RGB) / 255),
        (Image.new("L", (30, 50), 77), np.full(3, 77 / 255)),
        (Image.new("RGBA", (30, 50), (*RGB, 0)), np.array(RGB) / 255),
        (_palette_image((30, 50)), np.array(RGB) / 255),
        (Image.new("LA", (30, 50), (77, 10)), np.full(3, 77 / 255)),
        (Image.fromarray(np.full((50, 30), 0.25, np.float32)), np.full(3, 0.25)),
        (Image.fromarray(np.full((50, 30), 13107, np.uint16)), np.full(3, 0.2)),
    ],
    ids=lambda v: getattr(v, "mode", ""),
)
def test_pil_images(img, colour):
    before = np.asarray(img).copy()
    image = resize_one(img)
    check_output(image)
    np.testing.assert_allclose(image, np.broadcast_to(colour, image.shape), atol=1e-6)
    assert np.array_equal(np.asarray(img), before)  # the input image is untouched
    assert img.size == (30, 50)


@pytest.mark.parametrize(
    "shape",
    [(50, 30), (50, 30, 1), (50, 30, 3), (50, 30, 4), (64, 64, 3), (1, 1), (3, 500, 3)],
)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_arrays_of_every_layout(shape, dtype):
    value = 0.6 if dtype != np.uint8 else 153
    arr = np.full(shape, value, dtype=dtype)
    if len(shape) == 3 and shape[2] in (3, 4):
        arr[..., 1] = value / 3 if dtype != np.uint8 else 51  # a colour, not grey
    image = resize_one(arr)
    check_output(image)
    expected = [0.6, 0.2, 0.6] if len(shape) == 3 and shape[2] in (3, 4) else [0.6] * 3
    np.testing.assert_allclose(image, np.broadcast_to(expected, image.shape), atol=1e-5)


def test_uint8_array_matches_pillow_reference():
    pixels = noise((90, 40, 3), seed=3)
    image = resize_one(pixels, size=(32, 48))
    check_output(image, (32, 48, 3))
    ref = np.asarray(Image.fromarray(pixels).resize((48, 32), Image.Resampling.BILINEAR))
    np.testing.assert_allclose(image, ref / 255, atol=1.5 / 255)


def test_alpha_channel_is_dropped():
    rgba = noise((40, 40, 4), seed=5)
    np.testing.assert_array_equal(resize_one(rgba), resize_one(rgba[..., :3]))


def test_grey_is_repeated_over_channels():
    grey = noise((40, 30), seed=6)
    image = resize_one(grey)
    np.testing.assert_array_equal(image[..., 0], image[..., 1])
    np.testing.assert_array_equal(image[..., 0], image[..., 2])
    np.testing.assert_array_equal(image, resize_one(grey[:, :, None]))


@pytest.mark.parametrize("resample", ["nearest", "bilinear", "bicubic", "lanczos", "box"])
def test_resample_filters(resample):
    pixels = noise((50, 70, 3), seed=7)
    image = resize_one(pixels, resample=resample)
    check_output(image)
    if resample == "nearest":  # nearest keeps original pixel values
        assert set(np.unique(np.round(image * 255))) <= set(np.unique(pixels).astype(float))


def test_custom_size_and_output_shape():
    resizer = ImageResizer(size=[20, 30]).fit(pd.DataFrame({"image": []}))
    assert resizer.output_shape_ == (20, 30, 3)
    out = resizer.transform(pd.DataFrame({"image": [noise((64, 64, 3))]}))
    check_output(out["image"].iloc[0], (20, 30, 3))


# ---------------------------------------------------------------------------
# DataFrame contract
# ---------------------------------------------------------------------------


@pytest.fixture
def mixed_frame(tmp_path):
    """Eight rows of files, PIL images and arrays, with a non-default index."""
    cells = []
    for i in range(3):
        path = tmp_path / f"img{i}.png"
        Image.fromarray(noise((40 + i, 60, 3), seed=i)).save(path)
        cells.append(str(path))
    jpg = tmp_path / "photo.jpg"
    Image.fromarray(noise((80, 80, 3), seed=9)).save(jpg, quality=90)
    cells.append(Path(jpg))
    cells.append(Image.fromarray(noise((30, 30), seed=10)))
    cells.append(noise((70, 20, 3), seed=11))
    cells.append(np.linspace(0, 1, 100 * 3, dtype=np.float64).reshape(10, 10, 3))
    cells.append(noise((64, 64, 4), seed=12))
    return pd.DataFrame(
        {"image": cells, "text": [f"tweet {i}" for i in range(8)], "label": list("abcdefgh")},
        index=pd.Index([f"id{i}" for i in range(8)], name="tweet_id"),
    )


def test_input_is_not_mutated_and_other_columns_pass_through(mixed_frame):
    before = copy.deepcopy(mixed_frame)
    out = ImageResizer().fit_transform(mixed_frame)
    for a, b in zip(mixed_frame["image"], before["image"], strict=True):
        if isinstance(a, np.ndarray):
            assert a.shape == b.shape and np.array_equal(a, b)
        elif isinstance(a, Image.Image):
            assert np.array_equal(np.asarray(a), np.asarray(b))
        else:
            assert a == b
    pd.testing.assert_frame_equal(mixed_frame.drop(columns="image"), before.drop(columns="image"))
    assert out is not mixed_frame
    pd.testing.assert_index_equal(out.index, mixed_frame.index)
    pd.testing.assert_frame_equal(out.drop(columns="image"), mixed_frame.drop(columns="image"))
    assert list(out.columns) == ["image", "text", "label"]
    for image in out["image"]:
        check_output(image)


def test_in_memory_images_are_resized_in_the_calling_thread(mixed_frame, monkeypatch):
    from skmmat.preprocessing import _image

    pools = []

    class Recording(_image.ThreadPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(_image, "ThreadPoolExecutor", Recording)
    arrays = pd.DataFrame({"image": [noise((40, 30, 3), seed=s) for s in range(6)]})
    ImageResizer(n_jobs=2).fit_transform(arrays)
    assert pools == []  # arrays: no thread pool
    ImageResizer(n_jobs=2).fit_transform(mixed_frame)  # holds file paths
    assert pools == [(2,)]


def test_n_jobs_1_and_2_give_identical_outputs(mixed_frame):
    one = ImageResizer(n_jobs=1).fit_transform(mixed_frame)
    two = ImageResizer(n_jobs=2).fit_transform(mixed_frame)
    # joblib's convention: -1 every core, -2 all but one (at least one thread)
    for n_jobs in (-1, -2, -1000):
        other = ImageResizer(n_jobs=n_jobs).fit_transform(mixed_frame)
        for a, b in zip(one["image"], other["image"], strict=True):
            np.testing.assert_array_equal(a, b)
    default = ImageResizer(verbose=1).fit_transform(mixed_frame)
    for a, b, c in zip(one["image"], two["image"], default["image"], strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_empty_frame():
    X = pd.DataFrame({"image": pd.Series([], dtype=object), "text": pd.Series([], dtype=str)})
    out = ImageResizer().fit_transform(X)
    assert len(out) == 0 and list(out.columns) == ["image", "text"]


def test_custom_column():
    X = pd.DataFrame({"photo": [noise((10, 10, 3))], "image": ["untouched"]})
    out = ImageResizer(column="photo").fit_transform(X)
    check_output(out["photo"].iloc[0])
    assert out["image"].iloc[0] == "untouched"


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def test_missing_file_raises_naming_the_path(tmp_path):
    missing = tmp_path / "gone" / "missing_photo.jpg"
    X = pd.DataFrame({"image": [noise((5, 5, 3)), str(missing)]}, index=["a", "b"])
    with pytest.raises(FileNotFoundError, match="missing_photo.jpg") as info:
        ImageResizer().fit_transform(X)
    assert str(missing) in str(info.value)
    assert "'b'" in str(info.value)  # the row


def test_corrupt_file_raises_value_error_naming_the_file(tmp_path):
    bad = tmp_path / "x.jpg"
    bad.write_bytes(b"\x00garbage, not a JPEG\xff" * 20)
    with pytest.raises(ValueError, match="x.jpg"):
        ImageResizer().fit_transform(pd.DataFrame({"image": [str(bad)]}))


def test_truncated_file_raises_value_error_naming_the_file(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(noise((64, 64, 3))).save(buffer, "JPEG")
    cut = tmp_path / "cut_short.jpg"
    cut.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ValueError, match="cut_short.jpg"):
        ImageResizer().fit_transform(pd.DataFrame({"image": [str(cut)]}))


def test_folder_instead_of_file_raises_naming_it(tmp_path):
    folder = tmp_path / "a_folder.png"
    folder.mkdir()
    with pytest.raises(ValueError, match="a_folder.png"):
        ImageResizer().fit_transform(pd.DataFrame({"image": [str(folder)]}))


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_on_error_blank_keeps_rows_and_warns_once(tmp_path, n_jobs):
    good = tmp_path / "good.png"
    Image.new("RGB", (20, 20), RGB).save(good)
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"not an image" * 10)
    missing = tmp_path / "missing.png"
    X = pd.DataFrame({"image": [str(good), str(corrupt), str(missing), str(good)]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = ImageResizer(on_error="blank", n_jobs=n_jobs).fit_transform(X)
    user = [w for w in caught if issubclass(w.category, UserWarning)]
    assert len(user) == 1
    message = str(user[0].message)
    assert "corrupt.jpg" in message and "missing.png" in message
    assert "2 image file(s)" in message
    assert "good.png" not in message
    assert len(out) == 4
    for i in (1, 2):
        check_output(out["image"].iloc[i])
        assert not out["image"].iloc[i].any()
    for i in (0, 3):
        np.testing.assert_allclose(out["image"].iloc[i][0, 0], np.array(RGB) / 255, atol=1e-6)


def test_on_error_blank_lists_at_most_five_files(tmp_path):
    X = pd.DataFrame({"image": [str(tmp_path / f"m{i}.png") for i in range(7)]})
    with pytest.warns(UserWarning, match=r"7 image file\(s\).* \.\.\.$"):
        ImageResizer(on_error="blank", n_jobs=1).fit_transform(X)


def test_on_error_blank_does_not_hide_bad_arrays():
    X = pd.DataFrame({"image": [np.zeros((5, 5, 2))]})
    with pytest.raises(ValueError, match="'image'"):
        ImageResizer(on_error="blank").fit_transform(X)


@pytest.mark.parametrize(
    "cell",
    [
        np.zeros((2, 2, 2, 2), np.uint8),
        np.zeros((5, 5, 2), np.uint8),
        np.zeros((5,), np.uint8),
        np.zeros((0, 5, 3), np.uint8),
        np.zeros((5, 5), bool),
        np.array([["a", "b"], ["c", "d"]]),
        42,
        None,
        [[0, 1], [1, 0]],
    ],
    ids=["4d", "2ch", "1d", "empty", "bool", "str", "int", "None", "list"],
)
def test_bad_cells_raise_naming_the_column(cell):
    X = pd.DataFrame({"photo": [noise((5, 5, 3)), cell]}, index=["ok", "bad"])
    with pytest.raises(ValueError, match="'photo'") as info:
        ImageResizer(column="photo").fit_transform(X)
    assert "'bad'" in str(info.value)


@pytest.mark.parametrize(
    "arr",
    [
        np.full((5, 5, 3), 1.5, np.float32),
        np.full((5, 5), -0.1),
        np.full((5, 5, 3), 255.0),
        np.full((5, 5, 3), 200, np.int64),
        np.full((5, 5, 3), 30000, np.uint16),
    ],
)
def test_values_outside_unit_range_raise(arr):
    with pytest.raises(ValueError, match=r"outside\s+\[0, 1\]"):
        resize_one(arr)


def test_nan_pixels_raise():
    arr = np.full((5, 5, 3), 0.5)
    arr[2, 2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        resize_one(arr)


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"size": (64,)}, "size"),
        ({"size": (0, 64)}, "size"),
        ({"size": (64.0, 64)}, "size"),
        ({"size": "64"}, "size"),
        ({"size": None}, "size"),
        ({"size": (True, 64)}, "size"),
        ({"column": 0}, "column"),
        ({"resample": "cubic"}, "resample"),
        ({"resample": None}, "resample"),
        ({"decode": "fast"}, "decode"),
        ({"on_error": "ignore"}, "on_error"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"n_jobs": 1.5}, "n_jobs"),
        ({"n_jobs": "2"}, "n_jobs"),
    ],
)
def test_bad_params_raise_naming_them(params, name):
    with pytest.raises(ValueError, match=f"'{name}'"):
        ImageResizer(**params).fit(pd.DataFrame({"image": [noise((5, 5, 3))]}))


def test_missing_column_and_bad_input():
    with pytest.raises(ValueError, match="'image'"):
        ImageResizer().fit(pd.DataFrame({"img": [noise((5, 5, 3))]}))
    resizer = ImageResizer().fit(pd.DataFrame({"image": [noise((5, 5, 3))]}))
    with pytest.raises(ValueError, match="'image'"):
        resizer.transform(pd.DataFrame({"img": [noise((5, 5, 3))]}))
    with pytest.raises(ValueError, match="DataFrame"):
        ImageResizer().fit(np.zeros((2, 5, 5, 3)))


def test_not_fitted_raises():
    with pytest.raises(NotFittedError):
        ImageResizer().transform(pd.DataFrame({"image": [noise((5, 5, 3))]}))


# ---------------------------------------------------------------------------
# scikit-learn compatibility
# ---------------------------------------------------------------------------


def test_clone_get_params_set_params_round_trip():
    resizer = ImageResizer(
        size=(32, 48), resample="lanczos", decode="full", on_error="blank", n_jobs=2
    )
    params = resizer.get_params()
    assert params == {
        "size": (32, 48),
        "column": "image",
        "resample": "lanczos",
        "decode": "full",
        "on_error": "blank",
        "n_jobs": 2,
        "verbose": 0,
    }
    twin = clone(resizer)
    assert twin is not resizer and twin.get_params() == params
    assert twin.set_params(size=(8, 8), n_jobs=1) is twin
    assert twin.size == (8, 8) and resizer.size == (32, 48)
    out = twin.fit_transform(pd.DataFrame({"image": [noise((20, 20, 3))]}))
    check_output(out["image"].iloc[0], (8, 8, 3))
    fitted = ImageResizer().fit(pd.DataFrame({"image": []}))
    with pytest.raises(NotFittedError):
        clone(fitted).transform(pd.DataFrame({"image": []}))
