"""The registered activation constants match sup |phi'| and sup |phi''| measured on a dense grid."""

import math

import pytest
import torch

from rscbench.errors import InvalidArgumentError
from rscbench.models.activations import ACTIVATIONS, get_activation

SMOOTH = [name for name, act in ACTIVATIONS.items() if act.covered_by_theory]


def derivatives(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.linspace(-40, 40, 1_600_001, dtype=torch.float64, requires_grad=True)
    y = ACTIVATIONS[name].fn(x)
    (d1,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), x)
    return d1.detach(), d2


@pytest.mark.parametrize("name", SMOOTH)
def test_constants_match_grid_extremes(name: str) -> None:
    d1, d2 = derivatives(name)
    # The grid step is 5e-5, so grid maxima sit within ~1e-8 relative of the true suprema.
    assert d1.abs().max().item() == pytest.approx(ACTIVATIONS[name].lipschitz, rel=1e-7)
    assert d2.abs().max().item() == pytest.approx(ACTIVATIONS[name].smoothness, rel=1e-7)


def test_relu_is_the_uncovered_control() -> None:
    relu = get_activation("relu")
    assert not relu.covered_by_theory and math.isinf(relu.smoothness)
    assert all(ACTIVATIONS[name].covered_by_theory for name in SMOOTH) and len(SMOOTH) == 5


def test_unknown_activation_names_the_argument() -> None:
    with pytest.raises(InvalidArgumentError) as error:
        get_activation("swishy")
    assert error.value.argument == "activation" and "tanh" in str(error.value)
