"""Stochastic trace estimators of a symmetric operator, with a confidence interval from their samples.

- ``hutchinson_trace``: tr(A) ~ (1/N) sum_i z_i^T A z_i with Rademacher (or Gaussian) z_i
  (Hutchinson 1989). Unbiased; variance 2 (||A||_F^2 - sum_i A_ii^2) / N for Rademacher probes.
- ``hutchpp_trace``: Hutch++ (Meyer, Musco, Musco and Woodruff, SOSA 2021). With m products:
  a sketch Q = orth(A S) of k = m // 3 random columns, the exact tr(Q^T A Q) (k products), and
  Hutchinson with m - 2k probes on the deflated (I - QQ^T) A (I - QQ^T). For matrices whose
  spectrum decays, its error falls like 1/m instead of 1/sqrt(m).

Both return a :class:`TraceEstimate`: the value, the i.i.d. samples it averages, and a Student-t
confidence interval from those samples (for Hutch++, conditional on the sketch Q, which enters
the value exactly). Every probe is drawn on the CPU in float64 from a torch.Generator seeded with
``seed`` (one stream per call), then cast, so a device and the CPU see the same probes. Products are counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from scipy import stats
from torch import Tensor

from rscbench.errors import InvalidArgumentError, require_integer
from rscbench.measure.curvature_operators import LinearOperator
from rscbench.measure.krylov import inner_product

__all__ = [
    "PROBE_DISTRIBUTIONS",
    "TraceEstimate",
    "check_distribution",
    "hutchinson_trace",
    "hutchpp_trace",
    "operator_probes",
    "probe_vectors",
]

PROBE_DISTRIBUTIONS = ("rademacher", "gaussian")


@dataclass(frozen=True)
class TraceEstimate:
    """An estimate of tr(A) with a confidence interval from its samples.

    ``value`` = ``exact_part`` + mean(``samples``); ``std_error`` = std(samples) / sqrt(N) (the
    unbiased sample standard deviation); [``ci_low``, ``ci_high``] = value -+ t_{(1+confidence)/2,
    N-1} std_error. ``exact_part`` is tr(Q^T A Q) for Hutch++ (0 for Hutchinson): the interval is
    conditional on that sketch. ``n_products`` counts the operator products taken. Units: those
    of the operator's entries (for a loss Hessian, loss units per squared parameter unit).
    """

    value: float
    std_error: float
    ci_low: float
    ci_high: float
    confidence: float
    method: str
    exact_part: float
    n_products: int
    samples: tuple[float, ...] = field(repr=False)


def check_distribution(distribution: str) -> None:
    """Raise InvalidArgumentError unless ``distribution`` is one of PROBE_DISTRIBUTIONS."""
    if distribution not in PROBE_DISTRIBUTIONS:
        raise InvalidArgumentError("distribution", distribution, "one of " + ", ".join(PROBE_DISTRIBUTIONS))


def probe_vectors(
    count: int,
    dim: int,
    *,
    generator: torch.Generator,
    distribution: str,
    dtype: torch.dtype,
    device: torch.device | str,
) -> Tensor:
    """(count, dim) probes, Rademacher (+-1) or standard Gaussian, drawn on the CPU from ``generator``."""
    check_distribution(distribution)
    if distribution == "gaussian":
        probes = torch.randn(count, dim, generator=generator, dtype=torch.float64)
    else:
        probes = torch.randint(0, 2, (count, dim), generator=generator).to(torch.float64) * 2 - 1
    return probes.to(dtype=dtype, device=device)


def operator_probes(
    operator: LinearOperator, count: int, generator: torch.Generator, distribution: str
) -> Tensor:
    """(count, operator.dim) probes in the operator's dtype and on its device (see probe_vectors)."""
    return probe_vectors(
        count,
        operator.dim,
        generator=generator,
        distribution=distribution,
        dtype=operator.dtype,
        device=operator.device,
    )


def _check_confidence(confidence: float) -> None:
    if isinstance(confidence, bool) or not (isinstance(confidence, (int, float)) and 0 < confidence < 1):
        raise InvalidArgumentError("confidence", confidence, "a number in (0, 1)")


def _estimate(
    method: str, exact_part: float, samples: list[float], confidence: float, n_products: int
) -> TraceEstimate:
    values = torch.tensor(samples, dtype=torch.float64)
    std_error = float(values.std(correction=1)) / math.sqrt(len(samples))
    half_width = float(stats.t.ppf((1 + confidence) / 2, len(samples) - 1)) * std_error
    value = exact_part + float(values.mean())
    return TraceEstimate(
        value=value,
        std_error=std_error,
        ci_low=value - half_width,
        ci_high=value + half_width,
        confidence=confidence,
        method=method,
        exact_part=exact_part,
        samples=tuple(samples),
        n_products=n_products,
    )


def hutchinson_trace(
    operator: LinearOperator,
    *,
    n_samples: int = 100,
    seed: int = 0,
    distribution: str = "rademacher",
    confidence: float = 0.95,
) -> TraceEstimate:
    """Hutchinson's estimate of tr(A) from ``n_samples`` (>= 2) probes z^T A z, one product each.

    Memory: two vectors of length dim besides the operator's own (the probe and its image).
    """
    require_integer("n_samples", n_samples, 2)
    _check_confidence(confidence)
    check_distribution(distribution)
    start = operator.n_products
    generator = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(n_samples):
        probe = operator_probes(operator, 1, generator, distribution)[0]
        samples.append(float(inner_product(probe, operator.matvec(probe))))
    return _estimate("hutchinson", 0.0, samples, confidence, operator.n_products - start)


def hutchpp_trace(
    operator: LinearOperator,
    *,
    n_products: int = 99,
    seed: int = 0,
    distribution: str = "rademacher",
    confidence: float = 0.95,
) -> TraceEstimate:
    """Hutch++ estimate of tr(A) with ``n_products`` (>= 5) operator products.

    k = n_products // 3 sketch columns S (random), Q = orth(A S) by a reduced QR (k products);
    exact_part = sum_j q_j^T A q_j (k products); then Hutchinson on the deflated operator with
    the remaining n_products - 2k (>= 2) probes g - Q Q^T g. Memory: 2k + 2 vectors of length dim
    at the peak (A S and its QR factor), k + 2 after the QR, besides the operator's own.
    """
    require_integer("n_products", n_products, 5)
    _check_confidence(confidence)
    check_distribution(distribution)
    start = operator.n_products
    k = n_products // 3
    residual_probes = n_products - 2 * k
    generator = torch.Generator().manual_seed(seed)
    sketch = operator_probes(operator, k, generator, distribution)
    images = torch.stack([operator.matvec(column) for column in sketch], dim=1)
    del sketch
    basis, _ = torch.linalg.qr(images, mode="reduced")
    del images
    exact_part = sum(float(inner_product(q, operator.matvec(q))) for q in basis.T)
    samples = []
    for _ in range(residual_probes):
        probe = operator_probes(operator, 1, generator, distribution)[0]
        probe = probe - basis @ (basis.T @ probe)
        samples.append(float(inner_product(probe, operator.matvec(probe))))
    return _estimate("hutch++", exact_part, samples, confidence, operator.n_products - start)
