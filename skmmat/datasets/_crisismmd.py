"""Loader for the CrisisMMD v2.0 multimodal crisis-tweet annotations.

CrisisMMD (Alam, Ofli and Imran, ICWSM 2018) ships one tab-separated
annotation file per disaster, ``annotations/<event>_final_data.tsv``, with one
row per image-tweet pair. The files contain unbalanced double quotes inside
tweet texts, so they are parsed with quoting disabled: every line is exactly
one record of 15 tab-separated fields.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path, PurePosixPath, PureWindowsPath

import pandas as pd

__all__ = ["CRISISMMD_EVENTS", "load_crisismmd"]

#: The seven disasters of CrisisMMD v2.0, in the order of the dataset paper.
CRISISMMD_EVENTS = (
    "california_wildfires",
    "hurricane_harvey",
    "hurricane_irma",
    "hurricane_maria",
    "iraq_iran_earthquake",
    "mexico_earthquake",
    "srilanka_floods",
)

#: The eight humanitarian categories used by CrisisMMD v2.0 (text and image).
HUMANITARIAN_CLASSES = (
    "affected_individuals",
    "infrastructure_and_utility_damage",
    "injured_or_dead_people",
    "missing_or_found_people",
    "not_humanitarian",
    "other_relevant_information",
    "rescue_volunteering_or_donation_effort",
    "vehicle_damage",
)

INFORMATIVE_CLASSES = ("informative", "not_informative")

_TASKS = ("informative", "humanitarian")
_LABEL_SOURCES = ("either", "text", "image")
_SUFFIX = "_final_data.tsv"

# Columns of the official v2.0 files, in file order.
_FILE_COLUMNS = (
    "tweet_id",
    "image_id",
    "text_info",
    "text_info_conf",
    "image_info",
    "image_info_conf",
    "text_human",
    "text_human_conf",
    "image_human",
    "image_human_conf",
    "image_damage",
    "image_damage_conf",
    "tweet_text",
    "image_url",
    "image_path",
)
# Columns this loader reads; the others may be absent from a custom file.
_KEY_COLUMNS = ("tweet_id", "image_id", "tweet_text", "image_path")
_LABEL_COLUMNS = {
    ("informative", "text"): ("text_info",),
    ("informative", "image"): ("image_info",),
    ("informative", "either"): ("text_info", "image_info"),
    ("humanitarian", "text"): ("text_human",),
    ("humanitarian", "image"): ("image_human",),
    ("humanitarian", "either"): ("text_human", "image_human"),
}

OUTPUT_COLUMNS = ("tweet_id", "image_id", "event", "text", "image", "label")


def _check_choice(value, name, allowed):
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"Parameter {name!r} must be one of {list(allowed)}, got {value!r}.")
    return value


def _available_events(annotations):
    return sorted(
        p.name[: -len(_SUFFIX)]
        for p in annotations.iterdir()
        if p.is_file() and p.name.endswith(_SUFFIX) and len(p.name) > len(_SUFFIX)
    )


def _resolve_events(events, annotations):
    available = _available_events(annotations)
    if events is None:
        if not available:
            raise FileNotFoundError(
                f"No CrisisMMD annotation file (*{_SUFFIX}) found in {str(annotations)!r}."
            )
        return available
    if isinstance(events, str | os.PathLike):
        events = [os.fspath(events)]
    try:
        events = list(events)
    except TypeError:
        raise ValueError(
            f"Parameter 'events' must be None, an event name or a list of event names, "
            f"got {type(events).__name__}."
        ) from None
    if not events:
        raise ValueError("Parameter 'events' must name at least one event, got an empty list.")
    resolved = []
    for event in events:
        if not isinstance(event, str):
            raise ValueError(
                f"Parameter 'events' must hold event names (str), got {event!r} "
                f"of type {type(event).__name__}."
            )
        if event in resolved:  # a repeated name would duplicate rows
            continue
        if event not in available:
            if event in CRISISMMD_EVENTS:
                raise FileNotFoundError(
                    f"CrisisMMD event {event!r} has no annotation file: "
                    f"{str(annotations / (event + _SUFFIX))!r} does not exist. "
                    f"Available events under this root: {available}."
                )
            raise ValueError(
                f"Unknown CrisisMMD event {event!r}. Available events under "
                f"{str(annotations)!r}: {available}; CrisisMMD v2.0 events: "
                f"{list(CRISISMMD_EVENTS)}."
            )
        resolved.append(event)
    return resolved


def _is_unsafe_relative(path):
    """True when ``path`` is absolute or climbs out of the root."""
    if not path:
        return True
    for pure in (PurePosixPath(path), PureWindowsPath(path)):
        if pure.is_absolute() or pure.drive or pure.root or ".." in pure.parts:
            return True
    return False


def _read_event(path, event, root, task, label_source):
    """Parse one annotation file into column lists."""
    needed = _KEY_COLUMNS + _LABEL_COLUMNS[task, label_source]
    allowed = INFORMATIVE_CLASSES if task == "informative" else HUMANITARIAN_CLASSES
    allowed_set = frozenset(allowed)
    fname = str(path)
    out = {name: [] for name in OUTPUT_COLUMNS}
    root_str = str(root)

    try:
        # utf-8-sig tolerates a byte-order mark; newline="" keeps CRLF handling
        # to the csv module. The official files are valid UTF-8 throughout.
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE, strict=False)
            try:
                header = next(reader)
            except StopIteration:
                raise ValueError(f"CrisisMMD file {fname!r} is empty (no header line).") from None
            missing = [c for c in needed if c not in header]
            if missing:
                raise ValueError(
                    f"CrisisMMD file {fname!r}: header lacks column(s) {missing} needed for "
                    f"task={task!r}, label_source={label_source!r}; found {header}."
                )
            n_fields = len(header)
            pos = {c: header.index(c) for c in needed}
            i_tid, i_iid = pos["tweet_id"], pos["image_id"]
            i_text, i_path = pos["tweet_text"], pos["image_path"]
            label_idx = [pos[c] for c in _LABEL_COLUMNS[task, label_source]]

            for record in reader:
                line = reader.line_num
                if not record:  # blank line: not a record
                    continue
                if len(record) != n_fields:
                    raise ValueError(
                        f"CrisisMMD file {fname!r}, line {line}: expected {n_fields} "
                        f"tab-separated fields, found {len(record)}."
                    )
                labels = [record[i] for i in label_idx]
                for col, value in zip(_LABEL_COLUMNS[task, label_source], labels):
                    if value not in allowed_set:
                        raise ValueError(
                            f"CrisisMMD file {fname!r}, line {line}: column {col!r} holds "
                            f"{value!r}, expected one of {list(allowed)}."
                        )
                tweet_id, image_id, rel = record[i_tid], record[i_iid], record[i_path]
                if not tweet_id or not image_id:
                    raise ValueError(
                        f"CrisisMMD file {fname!r}, line {line}: empty tweet_id or image_id."
                    )
                if _is_unsafe_relative(rel):
                    raise ValueError(
                        f"CrisisMMD file {fname!r}, line {line}: image_path {rel!r} must be a "
                        f"non-empty path relative to the dataset root."
                    )
                out["tweet_id"].append(tweet_id)
                out["image_id"].append(image_id)
                out["text"].append(record[i_text])
                out["image"].append(os.path.join(root_str, *rel.split("/")))
                out["label"].append(_combine(labels, task, label_source))
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"CrisisMMD file {fname!r} is not valid UTF-8 (byte {exc.start}): {exc.reason}."
        ) from exc
    out["event"] = [event] * len(out["tweet_id"])
    return out


def _combine(labels, task, label_source):
    if label_source != "either":
        return labels[0]
    text_label, image_label = labels
    if task == "informative":
        if "informative" in (text_label, image_label):
            return "informative"
        return "not_informative"
    # humanitarian: the text category wins unless the text is not humanitarian,
    # in which case the image category is used.
    return image_label if text_label == "not_humanitarian" else text_label


def load_crisismmd(
    root, events=None, task="informative", label_source="either", *, check_images=False
):
    """Load CrisisMMD v2.0 image-tweet pairs with their labels.

    Reads the official per-event annotation files
    ``<root>/annotations/<event>_final_data.tsv`` (tab-separated, quoting
    disabled, UTF-8) and returns one row per image-tweet pair. Tweet texts are
    returned exactly as stored, mojibake included (for example ``"Weâ€™re"``);
    the text preprocessing of :mod:`skmmat` repairs it. Image files are not
    opened; the ``image`` column holds their absolute paths.

    Parameters
    ----------
    root : str or os.PathLike
        Root folder of CrisisMMD v2.0, the one holding ``annotations/`` and
        ``data_image/``.
    events : str, list of str or None, default=None
        Events to load, such as ``"california_wildfires"`` (see
        :data:`CRISISMMD_EVENTS`). ``None`` loads every
        ``*_final_data.tsv`` file found in ``annotations/``, in sorted order.
        Otherwise rows follow the order of ``events``; repeated names are
        loaded once.
    task : {"informative", "humanitarian"}, default="informative"
        ``"informative"``: binary labels ``"informative"`` /
        ``"not_informative"`` (the task of the MMAT paper).
        ``"humanitarian"``: up to eight humanitarian categories
        (``affected_individuals``, ``infrastructure_and_utility_damage``,
        ``injured_or_dead_people``, ``missing_or_found_people``,
        ``not_humanitarian``, ``other_relevant_information``,
        ``rescue_volunteering_or_donation_effort``, ``vehicle_damage``).
    label_source : {"either", "text", "image"}, default="either"
        Which annotation gives the label. ``"text"`` and ``"image"`` use the
        tweet-text or the image annotation alone. ``"either"`` combines both:

        - ``task="informative"``: ``"informative"`` when the text *or* the
          image is informative, else ``"not_informative"`` (the rule of the
          MMAT paper, Section IV-A);
        - ``task="humanitarian"``: the text category, unless it is
          ``"not_humanitarian"``, in which case the image category. A pair is
          thus ``"not_humanitarian"`` only when both modalities are, so that
          mapping every other category to ``"informative"`` gives back the
          ``"either"`` informative labels (in CrisisMMD ``not_humanitarian``
          coincides with ``not_informative`` for each modality).
    check_images : bool, default=False
        If True, check that every image file exists. By default missing
        images do not fail the load (the annotations are usable alone).

    Returns
    -------
    data : pandas.DataFrame
        One row per image-tweet pair with a fresh ``RangeIndex`` and the
        string columns, in this order:

        - ``tweet_id`` : tweet id (18-digit string, never a float);
        - ``image_id`` : image id, ``"<tweet_id>_<k>"``;
        - ``event`` : event name, usable as ``groups``;
        - ``text`` : raw tweet text;
        - ``image`` : absolute path of the image, ``<root>/<image_path>``;
        - ``label`` : the target.

        ``data.attrs["crisismmd"]`` records the root, events, task and
        label source used.

    Raises
    ------
    FileNotFoundError
        If ``root``, ``root/annotations`` or a requested CrisisMMD event file
        does not exist, or, with ``check_images=True``, an image is missing.
    ValueError
        If ``task``, ``label_source`` or ``events`` is invalid, or a file
        row is malformed (wrong number of fields, missing or unrecognised
        label); the message names the file and line.

    Notes
    -----
    CrisisMMD is distributed by its authors under the Creative Commons
    Attribution-NonCommercial-ShareAlike 4.0 licence (CC BY-NC-SA 4.0) for
    research use; it is not bundled with skmmat. If you use it, cite:

        Firoj Alam, Ferda Ofli and Muhammad Imran. "CrisisMMD: Multimodal
        Twitter Datasets from Natural Disasters". Proceedings of the 12th
        International AAAI Conference on Web and Social Media (ICWSM), 2018.

    With the ``"either"`` rule the informative share is 0.823 (California
    wildfires), 0.796 (Hurricane Harvey), 0.772 (Mexico earthquake) and
    0.382 (Sri Lanka floods).

    Examples
    --------
    >>> from skmmat.datasets import load_crisismmd
    >>> df = load_crisismmd("CrisisMMD_v2.0")  # doctest: +SKIP
    >>> X, y, groups = df[["image", "text"]], df["label"], df["event"]  # doctest: +SKIP
    >>> df.groupby("event")["label"].value_counts(normalize=True)  # doctest: +SKIP
    >>> fires = load_crisismmd(
    ...     "CrisisMMD_v2.0", events="california_wildfires", task="humanitarian"
    ... )  # doctest: +SKIP
    """
    task = _check_choice(task, "task", _TASKS)
    label_source = _check_choice(label_source, "label_source", _LABEL_SOURCES)
    if not isinstance(root, str | os.PathLike):
        raise ValueError(
            f"Parameter 'root' must be a str or os.PathLike, got {type(root).__name__}."
        )
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"CrisisMMD root folder {str(root)!r} does not exist.")
    root = root.resolve()
    annotations = root / "annotations"
    if not annotations.is_dir():
        raise FileNotFoundError(
            f"CrisisMMD annotations folder {str(annotations)!r} does not exist; 'root' must "
            f"be the CrisisMMD v2.0 folder holding 'annotations/' and 'data_image/'."
        )
    selected = _resolve_events(events, annotations)

    columns = {name: [] for name in OUTPUT_COLUMNS}
    for event in selected:
        part = _read_event(annotations / (event + _SUFFIX), event, root, task, label_source)
        for name in OUTPUT_COLUMNS:
            columns[name].extend(part[name])

    if check_images:
        missing = [p for p in columns["image"] if not os.path.isfile(p)]
        if missing:
            raise FileNotFoundError(
                f"{len(missing)} of {len(columns['image'])} CrisisMMD image file(s) are "
                f"missing under {str(root)!r}; the first is {missing[0]!r}."
            )

    data = pd.DataFrame({name: pd.Series(columns[name], dtype=str) for name in OUTPUT_COLUMNS})
    data.attrs["crisismmd"] = {
        "root": str(root),
        "events": list(selected),
        "task": task,
        "label_source": label_source,
    }
    return data
