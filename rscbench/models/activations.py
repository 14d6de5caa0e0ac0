"""Registry of activation functions with the constants the theory needs.

The theory covers activations phi that are Lipschitz with a bounded second derivative
(beta_phi-smooth). ReLU is registered as the control the theory does not cover (its second
derivative is a Dirac mass, so ``smoothness`` is infinite).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from rscbench.errors import InvalidArgumentError


@dataclass(frozen=True)
class Activation:
    """An activation phi with its constants.

    ``lipschitz`` is sup |phi'| and ``smoothness`` is sup |phi''| (beta_phi), both over the real
    line; ``covered_by_theory`` is True iff phi is smooth (finite beta_phi).
    """

    name: str
    fn: Callable[[Tensor], Tensor]
    lipschitz: float
    smoothness: float

    @property
    def covered_by_theory(self) -> bool:
        """Whether the paper's smoothness assumption holds for this activation."""
        return math.isfinite(self.smoothness)


# Constants in closed form (derivations in tests/test_activations.py, which checks them on a grid):
# tanh'' = -2 tanh sech^2, extreme 4/(3 sqrt 3) at tanh(x) = 1/sqrt 3;
# sigmoid'' = s(1-s)(1-2s), extreme 1/(6 sqrt 3); softplus'' = sigmoid', at most 1/4;
# gelu' = Phi + x phi peaks at x = sqrt 2; gelu'' = phi(x)(2 - x^2), extreme 2 phi(0) at x = 0;
# silu'' = s(1-s)(2 + x(1-2s)), extreme 1/2 at x = 0; silu' = s(1 + x(1-s)) peaks at x = 2.39936
# (a root found numerically), where it equals 1.09984.
_SQRT2 = math.sqrt(2.0)
_GELU_LIPSCHITZ = 0.5 * (1.0 + math.erf(1.0)) + _SQRT2 * math.exp(-1.0) / math.sqrt(2.0 * math.pi)
_SILU_LIPSCHITZ = 1.0998393201

ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("tanh", torch.tanh, 1.0, 4.0 / (3.0 * math.sqrt(3.0))),
        Activation("sigmoid", torch.sigmoid, 0.25, 1.0 / (6.0 * math.sqrt(3.0))),
        Activation("softplus", torch.nn.functional.softplus, 1.0, 0.25),
        Activation("gelu", torch.nn.functional.gelu, _GELU_LIPSCHITZ, 2.0 / math.sqrt(2.0 * math.pi)),
        Activation("silu", torch.nn.functional.silu, _SILU_LIPSCHITZ, 0.5),
        Activation("relu", torch.relu, 1.0, math.inf),
    )
}


def get_activation(name: str) -> Activation:
    """Return the registered activation called ``name``; raise InvalidArgumentError otherwise."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise InvalidArgumentError("activation", name, "one of " + ", ".join(ACTIVATIONS)) from None
