"""Tests for skmmat.datasets.load_crisismmd."""

import os
import time
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from skmmat.datasets import CRISISMMD_EVENTS, load_crisismmd
from skmmat.datasets._crisismmd import HUMANITARIAN_CLASSES

COLUMNS = ["tweet_id", "image_id", "event", "text", "image", "label"]
COUNTS = {
    "california_wildfires": 1589,
    "hurricane_harvey": 4434,
    "mexico_earthquake": 1380,
    "srilanka_floods": 1022,
}
INFORMATIVE_SHARE = {
    "california_wildfires": 0.823,
    "hurricane_harvey": 0.796,
    "mexico_earthquake": 0.772,
    "srilanka_floods": 0.382,
}


# --------------------------------------------------------------------------
# Real CrisisMMD files (skipped when the annotations are not available)
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crisis(crisismmd_root):
    return load_crisismmd(crisismmd_root)


def _informative_share(df):
    return (df["label"] == "informative").groupby(df["event"]).mean().round(3).to_dict()


def test_real_row_counts(crisis):
    assert len(crisis) == 8425
    assert crisis["event"].value_counts().to_dict() == COUNTS
    assert list(crisis["event"].unique()) == sorted(COUNTS)  # sorted event order
    assert crisis.index.equals(pd.RangeIndex(8425))
    assert not crisis["image_id"].duplicated().any()


def test_real_columns_and_dtypes(crisis):
    assert list(crisis.columns) == COLUMNS
    for col in COLUMNS:
        assert pd.api.types.is_string_dtype(crisis[col]), col
        assert crisis[col].map(type).eq(str).all(), col
    assert crisis["tweet_id"].iloc[0] == "917791044158185473"
    assert crisis["image_id"].iloc[0] == "917791044158185473_0"
    assert crisis["tweet_id"].str.fullmatch(r"\d{18}").all()
    assert crisis["image_id"].str.fullmatch(r"\d{18}_\d+").all()
    # image_id is "<tweet_id>_<k>" except for one pair in the official Harvey file.
    prefix = crisis["image_id"].str.split("_").str[0]
    assert (prefix != crisis["tweet_id"]).sum() == 1
    assert crisis["text"].iloc[0].startswith("RT @Gizmodo: Wildfires raging")
    assert set(crisis["label"]) == {"informative", "not_informative"}
    # Raw text is kept: the mojibake of the original files is still there.
    assert crisis["text"].str.contains("\u00e2\u20ac\u2122").any()
    assert crisis.attrs["crisismmd"]["task"] == "informative"


def test_real_informative_share(crisis):
    assert _informative_share(crisis) == INFORMATIVE_SHARE


def test_real_label_sources(crisismmd_root, crisis):
    text = load_crisismmd(crisismmd_root, label_source="text")
    image = load_crisismmd(crisismmd_root, label_source="image")
    either = crisis["label"] == "informative"
    t, i = text["label"] == "informative", image["label"] == "informative"
    assert (either == (t | i)).all()
    assert not t.equals(either) and not i.equals(either)
    for event in COUNTS:
        mask = crisis["event"] == event
        assert either[mask].mean() >= t[mask].mean()
        assert either[mask].mean() >= i[mask].mean()
    assert (t.sum(), i.sum(), either.sum()) == (5971, 4535, 6290)
    # Everything but the label is identical.
    pd.testing.assert_frame_equal(text.drop(columns="label"), crisis.drop(columns="label"))


def test_real_humanitarian(crisismmd_root, crisis):
    frames = {
        src: load_crisismmd(crisismmd_root, task="humanitarian", label_source=src)
        for src in ("either", "text", "image")
    }
    for df in frames.values():
        classes = set(df["label"])
        assert 2 < len(classes) <= 8
        assert classes <= set(HUMANITARIAN_CLASSES)
    assert set(frames["either"]["label"]) == set(HUMANITARIAN_CLASSES)
    either, text, image = (frames[s]["label"] for s in ("either", "text", "image"))
    # The documented rule: text category unless it is not_humanitarian.
    expected = text.where(text != "not_humanitarian", image)
    assert (either == expected).all()
    # Binarised, it reproduces the informative "either" labels.
    binary = either.map(lambda c: "not_informative" if c == "not_humanitarian" else "informative")
    assert (binary == crisis["label"]).all()


def test_real_events_filter(crisismmd_root):
    one = load_crisismmd(crisismmd_root, events="srilanka_floods")
    assert len(one) == COUNTS["srilanka_floods"]
    assert set(one["event"]) == {"srilanka_floods"}
    two = load_crisismmd(crisismmd_root, events=["mexico_earthquake", "california_wildfires"])
    assert list(two["event"].unique()) == ["mexico_earthquake", "california_wildfires"]
    assert len(two) == COUNTS["mexico_earthquake"] + COUNTS["california_wildfires"]
    again = load_crisismmd(crisismmd_root, events=["srilanka_floods", "srilanka_floods"])
    assert len(again) == COUNTS["srilanka_floods"]


def test_real_unknown_event(crisismmd_root):
    with pytest.raises(ValueError, match="Unknown CrisisMMD event 'atlantis_flood'") as info:
        load_crisismmd(crisismmd_root, events=["atlantis_flood"])
    for event in COUNTS:
        assert event in str(info.value)


def test_real_image_paths(crisismmd_root, crisis):
    root = Path(crisismmd_root).resolve()
    paths = crisis["image"].map(Path)
    assert paths.map(Path.is_absolute).all()
    assert paths.map(lambda p: p.is_relative_to(root)).all()
    first = paths.iloc[0]
    assert first == root / "data_image/california_wildfires/10_10_2017/917791044158185473_0.jpg"


def test_real_check_images_missing(crisismmd_root):
    if (Path(crisismmd_root) / "data_image").is_dir():
        pytest.skip("the images are present in this copy of CrisisMMD")
    with pytest.raises(FileNotFoundError, match="1022 of 1022") as info:
        load_crisismmd(crisismmd_root, events="srilanka_floods", check_images=True)
    first = load_crisismmd(crisismmd_root, events="srilanka_floods")["image"].iloc[0]
    assert first.endswith(".jpg") and repr(first) in str(info.value)


def test_real_load_is_fast(crisismmd_root):
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        load_crisismmd(crisismmd_root)
        best = min(best, time.perf_counter() - start)
    assert best < 1.0, f"loading all events took {best:.2f} s"


# --------------------------------------------------------------------------
# Synthetic mini root (always runs)
# --------------------------------------------------------------------------

HEADER = [
    "tweet_id", "image_id", "text_info", "text_info_conf", "image_info", "image_info_conf",
    "text_human", "text_human_conf", "image_human", "image_human_conf", "image_damage",
    "image_damage_conf", "tweet_text", "image_url", "image_path",
]  # fmt: skip

MOJIBAKE = "Weâ€™re capturing wildfire info ðŸ”¥"


def _row(tid, k, t_info, i_info, t_hum, i_hum, text, event="california_wildfires"):
    rel = f"data_image/{event}/10_10_2017/{tid}_{k}.jpg"
    return [
        tid, f"{tid}_{k}", t_info, "1.0", i_info, "0.66", t_hum, "1.0", i_hum, "0.66",
        "nan", "nan", text, f"http://pbs.twimg.com/media/{tid}.jpg", rel,
    ]  # fmt: skip


ROWS = [
    _row("917791044158185473", 0, "informative", "not_informative",
         "other_relevant_information", "not_humanitarian",
         'RT @CityLab: "Diablo winds are sparking wildfires https://t.co/x'),
    _row("917791044158185473", 1, "not_informative", "informative",
         "not_humanitarian", "infrastructure_and_utility_damage", MOJIBAKE),
    _row("917791130590183424", 0, "not_informative", "not_informative",
         "not_humanitarian", "not_humanitarian", 'He said "minutes to get out'),
    _row("917791130590183425", 0, "informative", "informative",
         "injured_or_dead_people", "vehicle_damage", "nan"),
]  # fmt: skip


def _write_tsv(path, rows, header=HEADER, newline="\n"):
    lines = ["\t".join(header)] + ["\t".join(r) for r in rows]
    path.write_bytes((newline.join(lines) + newline).encode("utf-8"))


@pytest.fixture
def mini_root(tmp_path):
    root = tmp_path / "CrisisMMD_v2.0"
    (root / "annotations").mkdir(parents=True)
    _write_tsv(root / "annotations" / "california_wildfires_final_data.tsv", ROWS)
    flood = [
        _row("880000000000000001", 0, "not_informative", "informative",
             "not_humanitarian", "affected_individuals", "Floods in Sri Lanka", "srilanka_floods"),
    ]  # fmt: skip
    _write_tsv(root / "annotations" / "srilanka_floods_final_data.tsv", flood)
    for row in [*ROWS, *flood]:
        image = root / row[-1]
        image.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 6), (200, 30, 10)).save(image, format="JPEG")
    return root


def test_mini_parsing(mini_root):
    df = load_crisismmd(mini_root, check_images=True)
    assert list(df.columns) == COLUMNS
    assert len(df) == 5
    assert list(df["event"]) == ["california_wildfires"] * 4 + ["srilanka_floods"]
    cal = df[df["event"] == "california_wildfires"]
    # Stray quotes do not swallow the following lines; text is kept verbatim.
    assert list(cal["text"]) == [r[12] for r in ROWS]
    assert cal["text"].iloc[1] == MOJIBAKE
    assert cal["text"].iloc[3] == "nan"  # a literal string, not a missing value
    assert list(cal["tweet_id"]) == [r[0] for r in ROWS]
    assert list(df["label"]) == [
        "informative", "informative", "not_informative", "informative", "informative",
    ]  # fmt: skip
    with Image.open(df["image"].iloc[0]) as img:
        assert img.format == "JPEG"
    assert all(Path(p).is_relative_to(mini_root.resolve()) for p in df["image"])
    assert df.attrs["crisismmd"]["events"] == ["california_wildfires", "srilanka_floods"]


def test_mini_label_sources(mini_root):
    text = load_crisismmd(mini_root, events="california_wildfires", label_source="text")
    image = load_crisismmd(mini_root, events="california_wildfires", label_source="image")
    assert list(text["label"]) == [r[2] for r in ROWS]
    assert list(image["label"]) == [r[4] for r in ROWS]


def test_mini_humanitarian_either_rule(mini_root):
    df = load_crisismmd(mini_root, task="humanitarian")
    assert list(df["label"]) == [
        "other_relevant_information",  # text wins when it is humanitarian
        "infrastructure_and_utility_damage",  # text not_humanitarian -> image
        "not_humanitarian",  # both not_humanitarian
        "injured_or_dead_people",  # text wins over a different image class
        "affected_individuals",
    ]
    text = load_crisismmd(mini_root, task="humanitarian", label_source="text")
    assert list(text["label"]) == [r[6] for r in ROWS] + ["not_humanitarian"]
    image = load_crisismmd(mini_root, task="humanitarian", label_source="image")
    assert list(image["label"]) == [r[8] for r in ROWS] + ["affected_individuals"]


def test_mini_crlf_and_str_root(mini_root):
    path = mini_root / "annotations" / "california_wildfires_final_data.tsv"
    _write_tsv(path, ROWS, newline="\r\n")
    df = load_crisismmd(str(mini_root), events="california_wildfires")
    assert list(df["text"]) == [r[12] for r in ROWS]
    assert list(df["tweet_id"]) == [r[0] for r in ROWS]


def test_mini_check_images_missing(mini_root):
    gone = mini_root / ROWS[2][-1]
    gone.unlink()
    (mini_root / ROWS[3][-1]).unlink()
    df = load_crisismmd(mini_root)  # missing images do not fail by default
    assert len(df) == 5
    with pytest.raises(FileNotFoundError, match="2 of 5") as info:
        load_crisismmd(mini_root, check_images=True)
    assert str(gone.resolve()) in str(info.value)


def test_missing_root(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_crisismmd(missing)


def test_missing_annotations_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="annotations"):
        load_crisismmd(tmp_path)


def test_empty_annotations_folder(tmp_path):
    (tmp_path / "annotations").mkdir()
    with pytest.raises(FileNotFoundError, match="_final_data.tsv"):
        load_crisismmd(tmp_path)


def test_known_event_without_file(mini_root):
    with pytest.raises(FileNotFoundError, match="hurricane_irma_final_data.tsv"):
        load_crisismmd(mini_root, events=["hurricane_irma"])


def test_unknown_event_lists_available(mini_root):
    with pytest.raises(ValueError, match="california_wildfires.*srilanka_floods"):
        load_crisismmd(mini_root, events="atlantis")


@pytest.mark.parametrize("events", [[], [3], 3])
def test_invalid_events(mini_root, events):
    with pytest.raises(ValueError, match="events"):
        load_crisismmd(mini_root, events=events)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"task": "damage"}, "task"),
        ({"task": None}, "task"),
        ({"label_source": "both"}, "label_source"),
    ],
)
def test_invalid_parameters(mini_root, kwargs, name):
    with pytest.raises(ValueError, match=rf"'{name}' must be one of \[.*\]"):
        load_crisismmd(mini_root, **kwargs)


@pytest.mark.parametrize(
    "column, value, task",
    [
        (2, "", "informative"),
        (4, "Informative", "informative"),
        (6, "nan", "humanitarian"),
        (8, "damage", "humanitarian"),
    ],
)
def test_bad_label_names_file_and_line(mini_root, column, value, task):
    rows = [list(r) for r in ROWS]
    rows[2][column] = value
    path = mini_root / "annotations" / "california_wildfires_final_data.tsv"
    _write_tsv(path, rows)
    with pytest.raises(ValueError, match=r"california_wildfires_final_data\.tsv.*line 4") as info:
        load_crisismmd(mini_root, task=task)
    assert HEADER[column] in str(info.value)
    # A label column the chosen source does not use is not checked.
    source = "image" if column in (2, 6) else "text"
    assert len(load_crisismmd(mini_root, task=task, label_source=source)) == 5


@pytest.mark.parametrize("n_fields", [14, 16])
def test_wrong_field_count_names_line(mini_root, n_fields):
    rows = [list(r) for r in ROWS]
    rows[1] = rows[1][:n_fields] if n_fields < 15 else rows[1] + ["extra"]
    _write_tsv(mini_root / "annotations" / "california_wildfires_final_data.tsv", rows)
    with pytest.raises(ValueError, match=rf"line 3: expected 15 .* found {n_fields}"):
        load_crisismmd(mini_root)


@pytest.mark.parametrize("rel", ["", "/etc/passwd", "../outside.jpg", "C:/x.jpg"])
def test_unsafe_image_path(mini_root, rel):
    rows = [list(r) for r in ROWS]
    rows[0][-1] = rel
    _write_tsv(mini_root / "annotations" / "california_wildfires_final_data.tsv", rows)
    with pytest.raises(ValueError, match="line 2: image_path"):
        load_crisismmd(mini_root)


def test_missing_header_column(mini_root):
    header = [h if h != "text_info" else "txt_info" for h in HEADER]
    _write_tsv(mini_root / "annotations" / "srilanka_floods_final_data.tsv", [], header=header)
    with pytest.raises(ValueError, match="srilanka_floods_final_data.tsv.*text_info"):
        load_crisismmd(mini_root)


def test_invalid_utf8_names_file(mini_root):
    path = mini_root / "annotations" / "srilanka_floods_final_data.tsv"
    path.write_bytes(path.read_bytes().replace(b"Floods", b"Fl\xffods"))
    with pytest.raises(ValueError, match="srilanka_floods_final_data.tsv.*UTF-8"):
        load_crisismmd(mini_root)


def test_events_constant():
    assert len(CRISISMMD_EVENTS) == 7
    assert set(COUNTS) <= set(CRISISMMD_EVENTS)
    assert {"hurricane_irma", "hurricane_maria", "iraq_iran_earthquake"} <= set(CRISISMMD_EVENTS)


def test_pathlike_root(mini_root):
    class Root(os.PathLike):
        def __fspath__(self):
            return str(mini_root)

    assert len(load_crisismmd(Root(), events="srilanka_floods")) == 1
