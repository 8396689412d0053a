"""Interval bound propagation: exact at a point, sound inside the box, equal to a naive reference.

The networks here are tiny MultiModalCNNs with every option on (batch
normalisation with negative scales, input standardisation), so that each layer
kind is exercised; the bounds are compared in float64.
"""

import copy

import numpy as np
import pytest
import torch
from torch import nn

from skmmat.adversarial import check_boundable, margin_bounds
from skmmat.adversarial._bounds import hidden_bounds
from skmmat.adversarial._boxes import WordBoxes, image_box
from skmmat.adversarial._word_search import CandidateSets
from skmmat.models import MultiModalCNN

N_CLASSES = 3


@pytest.fixture(scope="module")
def net():
    """A tiny MMN (8x8 images, 4 words of 3 dimensions) in float64, evaluation mode."""
    torch.manual_seed(0)
    module = MultiModalCNN(
        N_CLASSES,
        image_size=(8, 8),
        embedding_dim=3,
        hidden_units=5,
        image_filters=(3, 2),
        text_filters=4,
        image_batch_norm=True,
    ).double()
    with torch.no_grad():
        module.visual.image_mean.copy_(torch.tensor([0.2, 0.5, 0.7]).view(1, 3, 1, 1))
        module.visual.image_std.copy_(torch.tensor([0.3, 0.1, 0.6]).view(1, 3, 1, 1))
        for layer in module.modules():
            if isinstance(layer, nn.BatchNorm2d):
                layer.running_mean.uniform_(-0.5, 0.5)
                layer.running_var.uniform_(0.2, 2.0)
                layer.weight.copy_(torch.linspace(-1.5, 1.0, layer.num_features))  # scale < 0
                layer.bias.uniform_(-0.3, 0.3)
    return module.eval()


def _point(n=6, seed=1):
    gen = torch.Generator().manual_seed(seed)
    image = torch.rand(n, 3, 8, 8, generator=gen, dtype=torch.float64)
    text = torch.randn(n, 4, 3, generator=gen, dtype=torch.float64)
    text[:, -1] = 0  # a padding position
    y = torch.randint(0, N_CLASSES, (n,), generator=gen)
    return {"image": image, "text": text}, y


def _margins(net, inputs, y):
    logits = net(**inputs)
    return logits.gather(1, y[:, None]) - logits


def _hidden(net, inputs):
    return net.head[:-1](net.representation(**inputs))


def _box(inputs, eps_image, eps_text):
    lower, upper = {}, {}
    lower["image"], upper["image"] = image_box(inputs["image"], eps_image, (0.0, 1.0))
    lower["text"], upper["text"] = inputs["text"] - eps_text, inputs["text"] + eps_text
    return lower, upper


def test_a_point_box_gives_the_exact_margins(net):
    inputs, y = _point()
    with torch.no_grad():
        low, high = margin_bounds(net, inputs, inputs, y)
        exact = _margins(net, inputs, y)
    torch.testing.assert_close(low, high, rtol=0, atol=1e-12)
    torch.testing.assert_close(low, exact, rtol=0, atol=1e-12)
    assert (low[torch.arange(len(y)), y] == 0).all()


def test_random_points_and_corners_of_the_box_stay_inside_the_bounds(net):
    inputs, y = _point()
    lower, upper = _box(inputs, 0.05, 0.1)
    with torch.no_grad():
        low, high = margin_bounds(net, lower, upper, y)
        h_low, h_high = hidden_bounds(net, lower, upper)
        gen = torch.Generator().manual_seed(2)
        for k in range(200):
            if k % 2:  # a corner: each input at one end of its interval
                pick = {m: torch.rand(lower[m].shape, generator=gen) < 0.5 for m in lower}
                sample = {m: torch.where(pick[m], lower[m], upper[m]) for m in lower}
            else:
                sample = {
                    m: lower[m] + torch.rand(lower[m].shape, generator=gen) * (upper[m] - lower[m])
                    for m in lower
                }
            margins = _margins(net, sample, y)
            assert (margins >= low - 1e-12).all() and (margins <= high + 1e-12).all()
            hidden = _hidden(net, sample)
            assert (hidden >= h_low - 1e-12).all() and (hidden <= h_high + 1e-12).all()
    assert (high - low).max() > 0


def test_bounds_grow_with_the_box(net):
    inputs, y = _point()
    with torch.no_grad():
        small = margin_bounds(net, *_box(inputs, 0.01, 0.01), y)
        large = margin_bounds(net, *_box(inputs, 0.05, 0.1), y)
    assert (large[0] <= small[0] + 1e-12).all() and (large[1] >= small[1] - 1e-12).all()


# ----------------------------------------------------------------------------------
# an independent reference: interval arithmetic one unit at a time, in numpy
# ----------------------------------------------------------------------------------
def _dot(w, lo, hi):
    """Interval of sum(w * x) over lo <= x <= hi, one product at a time."""
    a, b = w * lo, w * hi
    return np.minimum(a, b).sum(), np.maximum(a, b).sum()


def _ref_dense(weight, bias, lo, hi):
    out = np.array([_dot(weight[u], lo, hi) for u in range(weight.shape[0])])
    return out[:, 0] + bias, out[:, 1] + bias


def _ref_visual(visual, lo, hi):
    mean = visual.image_mean.numpy().reshape(3, 1, 1)
    std = visual.image_std.numpy().reshape(3, 1, 1)
    lo, hi = (lo - mean) / std, (hi - mean) / std  # std > 0
    layers = list(visual.features)
    for layer in layers:
        if isinstance(layer, nn.Conv2d):
            w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
            lo_p, hi_p = np.pad(lo, ((0, 0), (1, 1), (1, 1))), np.pad(hi, ((0, 0), (1, 1), (1, 1)))
            c_out, (h, wd) = w.shape[0], lo.shape[1:]
            new_lo, new_hi = np.empty((c_out, h, wd)), np.empty((c_out, h, wd))
            for o in range(c_out):
                for i in range(h):
                    for j in range(wd):
                        a, z = _dot(
                            w[o], lo_p[:, i : i + 3, j : j + 3], hi_p[:, i : i + 3, j : j + 3]
                        )
                        new_lo[o, i, j], new_hi[o, i, j] = a + b[o], z + b[o]
            lo, hi = new_lo, new_hi
        elif isinstance(layer, nn.BatchNorm2d):
            for c in range(lo.shape[0]):
                s = layer.weight[c].item() / np.sqrt(layer.running_var[c].item() + layer.eps)
                t = layer.bias[c].item() - layer.running_mean[c].item() * s
                ends = (s * lo[c] + t, s * hi[c] + t)
                lo[c], hi[c] = np.minimum(*ends), np.maximum(*ends)
        elif isinstance(layer, nn.ReLU):
            lo, hi = np.maximum(lo, 0), np.maximum(hi, 0)
        else:  # MaxPool2d(2)
            c, h, wd = lo.shape
            lo = lo.reshape(c, h // 2, 2, wd // 2, 2).max(axis=(2, 4))
            hi = hi.reshape(c, h // 2, 2, wd // 2, 2).max(axis=(2, 4))
    lo, hi = _ref_dense(
        visual.fc.weight.detach().numpy(), visual.fc.bias.detach().numpy(), lo.ravel(), hi.ravel()
    )
    return np.maximum(lo, 0), np.maximum(hi, 0)


def _ref_text(textual, lo, hi):
    w, b = textual.conv.weight.detach().numpy(), textual.conv.bias.detach().numpy()
    window = w.shape[2]
    n_out = lo.shape[0] - window + 1
    out = np.array(
        [
            [_dot(w[f], lo[t : t + window].T, hi[t : t + window].T) for t in range(n_out)]
            for f in range(w.shape[0])
        ]
    )  # (filters, positions, 2)
    out = np.maximum(out + b[:, None, None], 0)
    return out[:, :, 0].max(axis=1), out[:, :, 1].max(axis=1)


def _ref_margins(net, image_lo, image_hi, text_lo, text_hi, y):
    v = _ref_visual(net.visual, image_lo, image_hi)
    t = _ref_text(net.textual, text_lo, text_hi)
    lo, hi = np.concatenate([v[0], t[0]]), np.concatenate([v[1], t[1]])
    hidden = net.head[1]
    lo, hi = _ref_dense(hidden.weight.detach().numpy(), hidden.bias.detach().numpy(), lo, hi)
    lo, hi = np.maximum(lo, 0), np.maximum(hi, 0)
    w, b = net.head[-1].weight.detach().numpy(), net.head[-1].bias.detach().numpy()
    out = np.array([_dot(w[y] - w[j], lo, hi) for j in range(len(b))])
    return out[:, 0] + b[y] - b, out[:, 1] + b[y] - b


def test_the_bounds_equal_naive_interval_arithmetic(net):
    inputs, y = _point(n=3)
    lower, upper = _box(inputs, 0.05, 0.1)
    with torch.no_grad():
        low, high = margin_bounds(net, lower, upper, y)
    for i in range(len(y)):
        ref_low, ref_high = _ref_margins(
            net,
            lower["image"][i].numpy(),
            upper["image"][i].numpy(),
            lower["text"][i].numpy(),
            upper["text"][i].numpy(),
            int(y[i]),
        )
        np.testing.assert_allclose(low[i].numpy(), ref_low, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(high[i].numpy(), ref_high, rtol=1e-9, atol=1e-9)


# ----------------------------------------------------------------------------------
# the input boxes
# ----------------------------------------------------------------------------------
def test_the_image_box_is_the_clipped_ball():
    image = torch.tensor([0.0, 0.05, 0.5, 0.98, 1.0])
    lower, upper = image_box(image, 0.1, (0.0, 1.0))
    torch.testing.assert_close(lower, torch.tensor([0.0, 0.0, 0.4, 0.88, 0.9]))
    torch.testing.assert_close(upper, torch.tensor([0.1, 0.15, 0.6, 1.0, 1.0]))
    lower, upper = image_box(image, 0.1, None)
    assert lower[0] == -0.1 and upper[-1] == pytest.approx(1.1)


def test_word_boxes_span_the_word_and_its_allowed_candidates():
    vectors = np.array([[0.0, 0.0], [1.0, -1.0], [-2.0, 0.5], [5.0, 5.0]])
    sets = CandidateSets(
        np.array([0, 1]), np.array([[1, 3], [2, 0]]), np.array([[True, False], [True, True]])
    )
    boxes = WordBoxes(sets, vectors)
    np.testing.assert_array_equal(boxes.lower, [[0.0, -1.0], [-2.0, -1.0]])  # 3 is not allowed
    np.testing.assert_array_equal(boxes.upper, [[1.0, 0.0], [1.0, 0.5]])
    text = torch.tensor([[[0.0, 0.0], [1.0, -1.0], [7.0, 7.0]]])
    rows = np.array([[0, 1, -1]])  # the last position is fixed
    lower, upper = boxes.bounds(text, rows)
    torch.testing.assert_close(lower[0], torch.tensor([[0.0, -1.0], [-2.0, -1.0], [7.0, 7.0]]))
    torch.testing.assert_close(upper[0], torch.tensor([[1.0, 0.0], [1.0, 0.5], [7.0, 7.0]]))
    half_lower, half_upper = boxes.bounds(text, rows, share=0.5)
    torch.testing.assert_close(half_lower[0, 1], torch.tensor([-0.5, -1.0]))
    torch.testing.assert_close(half_upper[0, 0], torch.tensor([0.5, 0.0]))
    point = boxes.bounds(text, rows, share=0.0)
    assert torch.equal(point[0], text) and torch.equal(point[1], text)
    with pytest.raises(ValueError, match="no box"):
        boxes.bounds(text, np.array([[0, 2, -1]]))


# ----------------------------------------------------------------------------------
# what cannot be bounded
# ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda m: m.head.insert(2, nn.Tanh()), r"'head.2' \(Tanh\)"),
        (lambda m: setattr(m.visual, "features", nn.Sequential(nn.LeakyReLU())), "LeakyReLU"),
    ],
)
def test_unknown_layers_are_refused(net, change, match):
    module = copy.deepcopy(net)
    change(module)
    with pytest.raises(ValueError, match=match):
        check_boundable(module)
    inputs, y = _point(n=1)
    with pytest.raises(ValueError, match=match):
        margin_bounds(module, inputs, inputs, y)


def test_a_network_must_end_with_its_logits_layer(net):
    module = copy.deepcopy(net)
    module.head.append(nn.ReLU())
    inputs, y = _point(n=1)
    with pytest.raises(ValueError, match="must end with a Linear"):
        margin_bounds(module, inputs, inputs, y)


class _Gated(nn.Module):
    """A layer whose forward calls an operation without interval bounds."""

    def forward(self, x):
        return x * torch.sigmoid(x)


class _Scaled(nn.Module):
    """A layer made of bounded operations: a product with a constant and a residual sum."""

    def __init__(self):
        super().__init__()
        self.register_buffer("scale", torch.tensor(-0.5, dtype=torch.float64))

    def forward(self, x):
        return torch.relu(x * self.scale + 0.1) + x


def test_an_operation_without_bounds_is_refused_naming_its_module(net):
    module = copy.deepcopy(net)
    module.head.insert(2, _Gated())
    inputs, y = _point(n=1)
    check_boundable(module)  # a container of no layer: followed operation by operation
    with pytest.raises(ValueError, match=r"'sigmoid' in the module 'head.2'"):
        margin_bounds(module, inputs, inputs, y)


def test_a_new_module_of_bounded_operations_is_bounded_through_its_own_forward(net):
    """No change to the bounds code: the module's forward pass carries the box."""
    module = copy.deepcopy(net)
    module.head.insert(2, _Scaled())

    class Subclass(MultiModalCNN):  # a subclass is bounded through its own forward too
        pass

    module.__class__ = Subclass
    inputs, y = _point()
    lower, upper = _box(inputs, 0.05, 0.1)
    with torch.no_grad():
        exact = margin_bounds(module, inputs, inputs, y)
        torch.testing.assert_close(exact[0], _margins(module, inputs, y), rtol=0, atol=1e-12)
        low, high = margin_bounds(module, lower, upper, y)
        gen = torch.Generator().manual_seed(3)
        for _ in range(50):
            sample = {
                m: lower[m] + torch.rand(lower[m].shape, generator=gen) * (upper[m] - lower[m])
                for m in lower
            }
            margins = _margins(module, sample, y)
            assert (margins >= low - 1e-12).all() and (margins <= high + 1e-12).all()


def test_the_pretrained_encoder_is_bounded_through_its_blocks():
    """EfficientNet-Lite0: depthwise convolutions, batch norm, ReLU6, residual sums, pooling."""
    torch.manual_seed(0)
    module = MultiModalCNN(
        N_CLASSES,
        modalities=("image",),
        image_size=(32, 32),
        hidden_units=4,
        image_encoder="efficientnet_lite0",
        pretrained=False,
    ).double()
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, nn.BatchNorm2d):
                layer.running_var.uniform_(0.5, 2.0)
    module.train()  # the bounds are those of evaluation mode, whatever the flag
    gen = torch.Generator().manual_seed(4)
    image = torch.rand(2, 3, 32, 32, generator=gen, dtype=torch.float64)
    y = torch.tensor([0, 2])
    lower, upper = image_box(image, 1e-4, (0.0, 1.0))
    with torch.no_grad():
        point = margin_bounds(module, {"image": image}, {"image": image}, y)
        assert module.training
        module.eval()
        torch.testing.assert_close(
            point[0], _margins(module, {"image": image}, y), atol=1e-9, rtol=0
        )
        low, high = margin_bounds(module, {"image": lower}, {"image": upper}, y)
        for _ in range(10):
            sample = lower + torch.rand(lower.shape, generator=gen) * (upper - lower)
            margins = _margins(module, {"image": sample}, y)
            assert (margins >= low - 1e-9).all() and (margins <= high + 1e-9).all()
    assert (high - low).max() > 0


def test_a_missing_modality_or_an_inverted_box_is_refused(net):
    inputs, y = _point(n=2)
    with pytest.raises(ValueError, match="no 'image' bounds"):
        margin_bounds(net, {"text": inputs["text"]}, {"text": inputs["text"]}, y)
    lower, upper = _box(inputs, 0.1, 0.1)
    with pytest.raises(ValueError, match="'text' box has lower > upper"):
        margin_bounds(net, upper | {"image": lower["image"]}, lower | {"image": upper["image"]}, y)
