"""The NTK Gram's spectrum in float64 with its noise floor, the relative drift between two Grams, and
the PL constant they imply (Q10)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor

from rscbench.errors import InvalidArgumentError

__all__ = ["NtkSpectrum", "as_square_float64", "check_symmetric", "ntk_drift", "ntk_spectrum", "pl_constant"]


@dataclass(frozen=True)
class NtkSpectrum:
    """Extreme eigenvalues of an NTK Gram matrix K (n x n), computed in float64.

    ``lambda_min`` and ``lambda_max`` have the units of K. ``noise_floor`` = n * eps(source_dtype) *
    lambda_max is the level under which ``lambda_min`` cannot be told from zero given the precision K was
    computed in (see :func:`ntk_spectrum`). ``lambda_min_resolved`` is False when lambda_min is not above
    the floor: then report ``lambda_min_text`` ("below floor ..."), never ``lambda_min`` as a number.
    """

    lambda_min: float
    lambda_max: float
    noise_floor: float
    n: int
    source_dtype: str
    lambda_min_resolved: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lambda_min_resolved", bool(self.lambda_min > self.noise_floor))

    @property
    def resolved_lambda_min(self) -> float | None:
        """lambda_min when it is above the noise floor, else None."""
        return self.lambda_min if self.lambda_min_resolved else None

    @property
    def lambda_min_text(self) -> str:
        """lambda_min for a report: the number, or 'below floor (< noise_floor)'."""
        if self.lambda_min_resolved:
            return f"{self.lambda_min:.6g}"
        return f"below floor (< {self.noise_floor:.3g})"

    @property
    def condition_number(self) -> float:
        """lambda_max / lambda_min when lambda_min is resolved, else inf."""
        return self.lambda_max / self.lambda_min if self.lambda_min_resolved else math.inf


def ntk_spectrum(K: Tensor, *, source_dtype: torch.dtype | None = None) -> NtkSpectrum:
    """lambda_min(K), lambda_max(K) and the float noise floor under which lambda_min is not resolved.

    The eigenvalues come from ``torch.linalg.eigvalsh`` on (K + K^T)/2 in float64, whatever K's dtype.
    ``source_dtype`` is the dtype K was computed in (default: K's dtype; pass it when K was cast up).

    Noise floor = n * eps(source_dtype) * lambda_max. Why: a K formed in a precision with unit roundoff
    eps carries entry errors E_ij of order eps * max|K_kl| <= eps * lambda_max (a PSD matrix has
    |K_ij| <= sqrt(K_ii K_jj) <= lambda_max), so ||E||_2 <= ||E||_F <= n * eps * lambda_max; by Weyl's
    inequality every computed eigenvalue is within ||E||_2 of the exact one, so a lambda_min below that
    level is indistinguishable from 0 (a rank-deficient K gives values of either sign there). The same
    bound covers the float64 eigensolver's own backward error (of order n * eps64 * ||K||_2). It counts
    one rounding per entry; long sums can add more, so values within a small factor of the floor deserve
    caution. Units of K.
    """
    K64 = as_square_float64(K, "K")
    dtype = K.dtype if source_dtype is None else source_dtype
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise InvalidArgumentError("source_dtype", source_dtype, "None or a floating torch.dtype")
    check_symmetric(K64, "K", dtype)
    eigenvalues = torch.linalg.eigvalsh(K64)
    n = K64.shape[0]
    lambda_min, lambda_max = float(eigenvalues[0]), float(eigenvalues[-1])
    floor = n * torch.finfo(dtype).eps * max(lambda_max, 0.0)
    return NtkSpectrum(lambda_min, lambda_max, floor, n, str(dtype).removeprefix("torch."))


def ntk_drift(K0: Tensor, K1: Tensor) -> float:
    """Relative drift ||K1 - K0||_F / ||K0||_F of the NTK between two points (e.g. theta_0 and theta_T).

    Dimensionless; 0 means the kernel did not move (lazy training), lower = lazier. Computed in float64.
    K0 must be nonzero; both must be square of the same size.
    """
    A = as_square_float64(K0, "K0")
    B = as_square_float64(K1, "K1")
    if A.shape != B.shape:
        raise InvalidArgumentError("K1.shape", tuple(K1.shape), f"{tuple(K0.shape)} (the shape of K0)")
    base = torch.linalg.matrix_norm(A)
    if base == 0:
        raise InvalidArgumentError("K0", "the zero matrix", "a matrix with nonzero Frobenius norm")
    return float(torch.linalg.matrix_norm(B - A) / base)


def pl_constant(K: Tensor) -> float:
    """The PL constant mu = (4 / n) lambda_min(K) the NTK implies for the square loss (docs/science.md, Q10).

    With L = (1/n) sum_i (f_i - y_i)^2 (no 1/2), grad L = (2/n) J^T r with r = f - y, so
    ||grad L||^2 = (4/n^2) r^T K r >= (4/n^2) lambda_min(K) ||r||^2 = mu * L, with equality when r is a
    bottom eigenvector of K. Units of K. lambda_min comes from eigvalsh in float64 and is returned as is,
    not clamped: a rank-deficient K can give a tiny negative value. Whether lambda_min is above float
    noise is for :func:`ntk_spectrum` (``lambda_min_resolved``) to say.
    """
    K64 = as_square_float64(K, "K")
    check_symmetric(K64, "K", K.dtype)
    return 4.0 / K64.shape[0] * float(torch.linalg.eigvalsh(K64)[0])


def as_square_float64(K: object, name: str) -> Tensor:
    if not isinstance(K, Tensor):
        raise InvalidArgumentError(name, type(K).__name__, "a torch.Tensor of shape (n, n)")
    if K.dim() != 2 or K.shape[0] != K.shape[1] or K.shape[0] < 1:
        raise InvalidArgumentError(f"{name}.shape", tuple(K.shape), "(n, n) with n >= 1")
    if not (K.dtype.is_floating_point):
        raise InvalidArgumentError(f"{name}.dtype", K.dtype, "a floating dtype")
    K64 = K.detach().to(torch.float64)
    if not bool(torch.isfinite(K64).all()):
        raise InvalidArgumentError(name, "a matrix with non-finite entries", "finite entries")
    return K64


def check_symmetric(K64: Tensor, name: str, dtype: torch.dtype) -> None:
    """Refuse a matrix whose asymmetry is far beyond rounding in ``dtype`` (sqrt(eps) relative)."""
    scale = float(torch.linalg.matrix_norm(K64))
    asym = float(torch.linalg.matrix_norm(K64 - K64.T))
    if asym > math.sqrt(torch.finfo(dtype).eps) * scale:
        raise InvalidArgumentError(
            name,
            f"a non-symmetric matrix (||K - K^T||_F / ||K||_F = {asym / scale:.3g})",
            "a symmetric matrix",
        )
