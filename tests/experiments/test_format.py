"""skmmat.experiments.format_table: Table I as text."""

from skmmat.experiments import PAPER_TABLE1, Table1Result, format_table


def results():
    return {
        "text_cnn": Table1Result("text_cnn", 0.8, 0.5, 0.5, None, 12.3),
        "text_cnn_adv": Table1Result("text_cnn_adv", 0.825, 0.7, 0.75, None, 30.6),
    }


def test_one_row_per_model_in_percent():
    assert format_table(results()).splitlines() == [
        "model         original  adversarial  from plain model  fit s",
        "-" * 60,
        "Text-CNN          80.0         50.0                 -     12",
        "Text-CNN_adv      82.5         70.0              75.0     31",
    ]


def test_paper_numbers_and_pgd_column():
    assert format_table(results(), paper=PAPER_TABLE1["srilanka_floods"]).splitlines()[2:] == [
        "Text-CNN          80.0         50.0                 -     12     92.23/80.85",
        "Text-CNN_adv      82.5         70.0              75.0     31     92.23/89.32",
    ]
    res = results()
    res["text_cnn"].pgd_accuracy = 0.25
    assert format_table(res, paper={"text_cnn": (1.0, 2.0)}).splitlines() == [
        "model         original  adversarial  from plain model  PGD-10  fit s  paper orig/adv",
        "-" * 84,
        "Text-CNN          80.0         50.0                 -    25.0     12       1.00/2.00",
        "Text-CNN_adv      82.5         70.0              75.0       -     31               -",
    ]


def test_macro_f1_columns_and_one_class_footnote():
    res = {
        "mmn": Table1Result(
            "mmn",
            0.824,
            0.824,
            0.824,
            None,
            40.0,
            clean_macro_f1=0.452,
            adversarial_macro_f1=0.452,
            one_class=True,
        ),
        "mmat": Table1Result(
            "mmat",
            0.81,
            0.0,
            0.83,
            None,
            90.0,
            clean_macro_f1=0.571,
            adversarial_macro_f1=0.0,
            one_class=False,
        ),
    }
    lines = format_table(res).splitlines()
    assert lines[0].split() == [
        "model",
        "original",
        "adversarial",
        "from",
        "plain",
        "model",
        "macro-F1",
        "adv.",
        "macro-F1",
        "fit",
        "s",
    ]
    assert lines[2].split() == ["MMN*", "82.4", "82.4", "-", "45.2", "45.2", "40"]
    assert lines[3].split() == ["MMAT", "81.0", "0.0", "83.0", "57.1", "0.0", "90"]
    assert lines[-1] == "* predicted one class for every original test tweet"
