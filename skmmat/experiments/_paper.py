"""The numbers the paper reports in its Table I."""

__all__ = ["PAPER_TABLE1"]

#: The paper's Table I: event -> model -> (original %, adversarial %).
PAPER_TABLE1 = {
    "california_wildfires": {
        "visual_cnn": (86.16, 45.91),
        "visual_cnn_adv": (85.53, 82.39),
        "text_cnn": (86.79, 76.73),
        "text_cnn_adv": (87.42, 84.28),
        "mmn": (88.68, 67.30),
        "mmat": (88.05, 88.05),
    },
    "hurricane_harvey": {
        "visual_cnn": (80.67, 35.51),
        "visual_cnn_adv": (80.22, 78.43),
        "text_cnn": (88.09, 73.26),
        "text_cnn_adv": (88.09, 86.07),
        "mmn": (89.21, 73.26),
        "mmat": (87.42, 84.04),
    },
    "mexico_earthquake": {
        "visual_cnn": (72.66, 30.94),
        "visual_cnn_adv": (75.54, 71.94),
        "text_cnn": (82.73, 71.94),
        "text_cnn_adv": (84.89, 78.42),
        "mmn": (84.89, 58.71),
        "mmat": (86.33, 79.86),
    },
    "srilanka_floods": {
        "visual_cnn": (67.96, 36.89),
        "visual_cnn_adv": (66.02, 66.02),
        "text_cnn": (92.23, 80.85),
        "text_cnn_adv": (92.23, 89.32),
        "mmn": (93.20, 79.61),
        "mmat": (93.20, 89.32),
    },
}
