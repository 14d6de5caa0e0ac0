"""Loss registry: values, per-sample derivatives against autograd, and target checks."""

import pytest
import torch

from rscbench.errors import InvalidArgumentError
from rscbench.measure.losses import LOSSES, get_loss, loss_function
from rscbench.models import paper_mlp


@pytest.mark.parametrize("name", [name for name, loss in LOSSES.items() if loss.scalar_output])
def test_first_and_second_derivatives_match_autograd(name: str) -> None:
    loss = LOSSES[name]
    f = torch.linspace(-3, 3, 13, dtype=torch.float64, requires_grad=True)
    y = torch.where(torch.arange(13) % 2 == 0, 1.0, -1.0).double()
    (first,) = torch.autograd.grad(loss.per_sample(f, y).sum(), f, create_graph=True)
    (second,) = torch.autograd.grad(first.sum(), f)
    torch.testing.assert_close(loss.first(f.detach(), y), first.detach(), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(loss.second(f.detach(), y), second, rtol=1e-12, atol=1e-14)


def test_square_loss_has_no_half() -> None:
    assert LOSSES["square"].mean(torch.tensor([3.0]), torch.tensor([1.0])).item() == 4.0


@pytest.mark.parametrize(
    ("loss", "y", "out_dim", "argument"),
    [
        ("square", torch.zeros(4), 1, "y.shape"),
        ("square", torch.tensor([0.0, float("nan"), 0.0, 0.0, 0.0]), 1, "y"),
        ("logistic", torch.tensor([0.0, 1.0, -1.0, 1.0, 1.0]), 1, "y"),
        ("cross_entropy", torch.tensor([0, 1, 2, 3, 0]), 3, "y"),
        ("cross_entropy", torch.zeros(5), 3, "y"),
        ("hinge", torch.zeros(5), 1, "loss"),
    ],
    ids=["length", "nan", "logistic-labels", "class-out-of-range", "float-labels", "unknown-loss"],
)
def test_bad_targets_name_the_argument(loss: str, y: torch.Tensor, out_dim: int, argument: str) -> None:
    model = paper_mlp(3, 4, 1, "tanh", 1.0, out_dim=out_dim)
    with pytest.raises(InvalidArgumentError) as error:
        loss_function(model, torch.randn(5, 3), y, loss)
    assert error.value.argument == argument


def test_unknown_loss_lists_the_choices() -> None:
    with pytest.raises(InvalidArgumentError, match="square, logistic, cross_entropy"):
        get_loss("l1")
