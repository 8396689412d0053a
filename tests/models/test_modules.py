"""Tests of the torch modules behind MultiModalCNNClassifier."""

import pytest
import torch
from torch import nn

from skmmat.models import MultiModalCNN, TextCNN, VisualCNN


def test_visual_cnn_structure_and_output_shape():
    net = VisualCNN((32, 24), filters=(4, 8), hidden_units=16)
    convs = [m for m in net.features if isinstance(m, nn.Conv2d)]
    pools = [m for m in net.features if isinstance(m, nn.MaxPool2d)]
    assert [c.out_channels for c in convs] == [4, 8]
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs)
    assert len(pools) == 2
    # Two 2x2 poolings: 32x24 -> 8x6, flattened with 8 channels.
    assert net.fc.in_features == 8 * 8 * 6
    out = net(torch.rand(5, 3, 32, 24))
    assert out.shape == (5, 16)
    assert (out >= 0).all()  # ReLU after the fully-connected layer


def test_visual_cnn_pools_before_relu_with_the_papers_values_and_gradients():
    """Pooling then ReLU is the paper's ReLU then pooling, bit for bit, values and gradients."""
    torch.manual_seed(0)
    net = VisualCNN((16, 12), filters=(4, 8), hidden_units=6, batch_norm=True).eval()
    kinds = [type(layer).__name__ for layer in net.features]
    assert kinds == ["Conv2d", "BatchNorm2d", "MaxPool2d", "ReLU"] * 2
    # the paper's order: each block's ReLU before its pooling
    papers = []
    for layer in net.features:
        if isinstance(layer, nn.MaxPool2d):
            papers += [nn.ReLU(), layer]
        elif not isinstance(layer, nn.ReLU):
            papers.append(layer)
    papers = nn.Sequential(*papers)
    # ties and all-negative windows included: a quarter of the inputs are one value
    x = torch.randn(4, 3, 16, 12)
    x[:, :, ::2, ::2] = 0.25
    xa = x.clone().requires_grad_(True)
    xb = x.clone().requires_grad_(True)
    za = net.features(xa.contiguous(memory_format=torch.channels_last))
    zb = papers(xb.contiguous(memory_format=torch.channels_last))
    assert torch.equal(za, zb)
    weight = torch.randn_like(za)
    (ga,) = torch.autograd.grad((za * weight).sum(), xa)
    (gb,) = torch.autograd.grad((zb * weight).sum(), xb)
    assert torch.equal(ga, gb)
    assert (ga != 0).any()


def test_visual_cnn_runs_channels_last_with_channels_first_semantics():
    torch.manual_seed(0)
    net = VisualCNN((16, 12), filters=(4, 8), hidden_units=6).eval()
    net.image_mean.fill_(0.3)
    net.image_std.fill_(0.5)
    x = torch.rand(3, 3, 16, 12, requires_grad=True)
    out = net(x)
    # the reference: every layer on channels-first memory, flattened channel by channel
    z = x.detach()
    z = (z - 0.3) / 0.5
    for layer in net.features:
        z = layer(z)
        assert z.is_contiguous()  # channels-first all the way
    ref = torch.relu(net.fc(z.reshape(3, -1)))
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    (grad,) = torch.autograd.grad(out.sum(), x)
    assert grad.shape == x.shape


def test_visual_cnn_rejects_too_small_images():
    with pytest.raises(ValueError, match="too small"):
        VisualCNN((3, 3), filters=(4, 8))


def test_text_cnn_is_max_over_time_of_relu_conv():
    torch.manual_seed(0)
    net = TextCNN(embedding_dim=6, filters=5, window=3)
    text = torch.randn(4, 10, 6)
    out = net(text)
    assert out.shape == (4, 5)
    # Manual Kim-style computation: windows of 3 contiguous word vectors.
    w, b = net.conv.weight, net.conv.bias  # (filters, d, window)
    windows = torch.stack([text[:, t : t + 3, :] for t in range(10 - 3 + 1)], dim=1)
    feats = torch.relu(torch.einsum("ntkd,fdk->ntf", windows, w) + b)
    torch.testing.assert_close(out, feats.amax(dim=1))


@pytest.mark.parametrize(
    "modalities, kwargs",
    [
        (("image", "text"), {"image": (2, 3, 16, 16), "text": (2, 15, 8)}),
        (("image",), {"image": (2, 3, 16, 16)}),
        (("text",), {"text": (2, 15, 8)}),
    ],
)
def test_multimodal_cnn_forward_shapes(modalities, kwargs):
    net = MultiModalCNN(
        n_classes=3,
        modalities=modalities,
        image_size=(16, 16),
        embedding_dim=8,
        hidden_units=12,
        image_filters=(4, 8),
        text_filters=7,
    )
    out = net(**{k: torch.rand(*shape) for k, shape in kwargs.items()})
    assert out.shape == (2, 3)
    expected_width = 12 * ("image" in modalities) + 7 * ("text" in modalities)
    linears = [m for m in net.head if isinstance(m, nn.Linear)]
    assert linears[0].in_features == expected_width
    assert linears[0].out_features == 12 and linears[1].out_features == 3
    assert sum(isinstance(m, nn.Dropout) for m in net.head) == 2
    assert (net.visual is None) == ("image" not in modalities)
    assert (net.textual is None) == ("text" not in modalities)


def test_multimodal_cnn_concatenates_both_representations():
    net = MultiModalCNN(
        2, image_size=(8, 8), embedding_dim=4, hidden_units=6, text_filters=5, image_filters=(3, 3)
    )
    image, text = torch.rand(3, 3, 8, 8), torch.randn(3, 6, 4)
    rep = net.representation(image=image, text=text)
    torch.testing.assert_close(rep[:, :6], net.visual(image))
    torch.testing.assert_close(rep[:, 6:], net.textual(text))


def test_multimodal_cnn_missing_input_and_bad_modalities():
    net = MultiModalCNN(2, image_size=(8, 8), embedding_dim=4)
    with pytest.raises(ValueError, match="text"):
        net(image=torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError, match="modalities"):
        MultiModalCNN(2, modalities=("audio",), image_size=(8, 8))
    with pytest.raises(ValueError, match="image_size"):
        MultiModalCNN(2, modalities=("image",))


def test_dropout_only_active_in_training_mode():
    torch.manual_seed(0)
    net = MultiModalCNN(2, modalities=("text",), embedding_dim=4, dropout=0.5)
    text = torch.randn(8, 5, 4)
    net.eval()
    torch.testing.assert_close(net(text=text), net(text=text))
    net.train()
    assert not torch.equal(net(text=text), net(text=text))
