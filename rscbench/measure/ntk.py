"""The empirical neural tangent kernel: its Gram matrix, spectrum, drift and PL constant (DESIGN Q10).

Notation: n inputs x_1..x_n (the rows of X), theta the parameters (all of ``model.named_parameters()``,
as in :func:`rscbench.measure.params.detached_params`), p their count, J the n x p Jacobian of the
outputs, J_i = grad_theta f(theta; x_i). The Gram matrix is K = J J^T.

Three ways to build K:

* ``"structured"`` (the paper's network, :class:`rscbench.models.PaperMLP` with one output): one forward
  keeping the activations A_l (n x m) and one backward of sum_i f_i giving Delta_l = d f_i / d z_l, then
  K = sum_l (Delta_l Delta_l^T) * (A_{l-1} A_{l-1}^T) / c_l^2 + A_L A_L^T / m (``*`` elementwise).
  Holds O(n L m + n^2) numbers and no parameter-sized vector; O(n^2 L m) flops.
* ``"jacobian"`` (any model): per-sample gradients by ``torch.func.vmap(torch.func.grad(...))`` over row
  blocks, contracted block by block into K; at most ``chunk_size`` Jacobian rows (parameter-sized
  vectors) are held at once.
* ``"products"`` (any model): NTK-vector products K e_j = J (J^T e_j), a vjp then a jvp, vmapped over
  ``chunk_size`` columns at a time; holds ``chunk_size`` parameter-sized vectors plus ``chunk_size``
  copies of the forward intermediates of all n rows.

The generic paths assume rows are independent (f(X)_i depends on x_i only, as for any model without
batch statistics): the Jacobian path evaluates one row at a time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from torch.func import grad, jvp, vjp, vmap
from torch.utils.flop_counter import FlopCounterMode

from rscbench.errors import InvalidArgumentError, require_integer
from rscbench.measure.memory import (
    JACOBIAN_CHUNK_BYTES,
    MemoryBudgetError,
    jacobian_gram_bytes,
    products_gram_bytes,
    saved_activation_bytes,
    structured_gram_bytes,
)
from rscbench.measure.params import (
    FlatLayout,
    ModelFn,
    ParamDict,
    detached_params,
    model_function,
    scalar_output,
)
from rscbench.models import PaperMLP

__all__ = [
    "JACOBIAN_BUDGET_BYTES",
    "NTK_METHODS",
    "NtkSpectrum",
    "ntk_drift",
    "ntk_gram",
    "ntk_gram_of",
    "ntk_spectrum",
    "per_sample_grad_norms",
    "per_sample_grad_norms_of",
    "pl_constant",
    "plan_generic_gram",
]

JACOBIAN_BUDGET_BYTES = JACOBIAN_CHUNK_BYTES
"""Memory for Jacobian rows (or vjp results) held at once when ``chunk_size`` is None: 256 MiB."""

NTK_METHODS = ("auto", "structured", "jacobian", "products")
_GENERIC_METHODS = ("auto", "jacobian", "products")


# --------------------------------------------------------------------------------------------------
# Gram matrix
# --------------------------------------------------------------------------------------------------


def ntk_gram(
    model: nn.Module,
    X: Tensor,
    *,
    method: str = "auto",
    chunk_size: int | None = None,
    memory_budget_bytes: int | None = None,
) -> Tensor:
    """The empirical NTK Gram matrix K_ij = <grad_theta f(x_i), grad_theta f(x_j)>, shape (n, n).

    theta is every parameter of ``model``; f must give one scalar per row of X (output shape (n,) or
    (n, 1)). Units: (output units)^2 per (parameter units)^2, dimensionless for the paper's network.
    K is returned exactly symmetric, in the model's dtype and on its device.

    ``method``:

    * ``"auto"``: ``"structured"`` for a :class:`PaperMLP` with ``out_dim == 1`` (and its own forward)
      when it fits ``memory_budget_bytes`` (it is the fastest and, but for n^2 terms, the lightest);
      otherwise the cheaper generic path that fits, as :func:`ntk_gram_of` with ``method="auto"``.
    * ``"structured"``: the layer-wise formula (see the module docstring); only for such a PaperMLP.
      O(n L m + n^2) memory, no parameter-sized vector held.
    * ``"jacobian"``: chunked Jacobian contraction; holds at most ``chunk_size`` Jacobian rows.
    * ``"products"``: NTK-vector products; holds ``chunk_size`` vjp results plus ``chunk_size`` copies of
      the n-row forward intermediates.

    ``chunk_size`` (generic paths only): rows (or columns) handled at once; None takes
    ``JACOBIAN_BUDGET_BYTES // (p * element size)``, at least 1, or with a budget the largest that fits.

    ``memory_budget_bytes`` (None: no limit) bounds the estimated peak (rscbench.measure.memory):
    a method that cannot fit it is not run, and MemoryBudgetError is raised before any work when
    none that is allowed fits.
    """
    _check_model(model)
    _check_method(method, NTK_METHODS)
    _check_chunk_size(chunk_size)
    _check_budget(memory_budget_bytes)
    _check_X_for_model(model, X)
    if _is_structured(model):
        if method in ("auto", "structured"):
            need = structured_gram_bytes(X.shape[0], _paper_row_act(model, X), X.dtype.itemsize)
            if memory_budget_bytes is None or need <= memory_budget_bytes:
                return _structured_gram(model, X)
            if method == "structured":
                raise MemoryBudgetError("ntk_gram (structured)", need, memory_budget_bytes)
    elif method == "structured":
        raise InvalidArgumentError(
            "method",
            method,
            "'structured' only for a PaperMLP with out_dim == 1; else 'auto', 'jacobian', 'products'",
        )
    return ntk_gram_of(
        model_function(model),
        detached_params(model),
        X,
        method=method,
        chunk_size=chunk_size,
        memory_budget_bytes=memory_budget_bytes,
    )


def _paper_row_act(model: PaperMLP, X: Tensor) -> int:
    """Bytes the paper network's forward saves per row: (d + m L + 1) elements."""
    return (X.shape[1] + model.width * model.depth + 1) * X.dtype.itemsize


def ntk_gram_of(
    model_fn: ModelFn,
    params: ParamDict,
    X: Tensor,
    *,
    method: str = "jacobian",
    chunk_size: int | None = None,
    memory_budget_bytes: int | None = None,
) -> Tensor:
    """The empirical NTK Gram matrix K = J J^T (n x n) of any torch function f(params, X) -> (n,).

    K_ij = sum over every tensor in ``params`` of <d f_i / d params, d f_j / d params>. ``model_fn`` must
    give one scalar per row of X (shape (n,) or (n, 1)) and treat rows independently. Units:
    (output units)^2 per (parameter units)^2. K is exactly symmetric, in the output's dtype.

    ``method``:

    * ``"jacobian"``: per-sample gradients J_i by vmap(grad) over row blocks. With C = ``chunk_size``:
      if n <= C the whole J (n x p) is built once and K = J J^T; otherwise a resident block of
      R = C - max(1, C // 4) rows is kept while blocks of S = max(1, C // 4) later rows stream past it,
      so at most max(C, 2) parameter-sized vectors are held, and about n + n^2 / (2R) rows of J are
      computed (rows are recomputed rather than stored).
    * ``"products"``: K e_j = J (J^T e_j) by a vjp (from one linearization at X) then a jvp, vmapped over
      C columns at a time: holds C parameter-sized vectors plus C copies of the forward
      intermediates of all n rows.
    * ``"auto"``: count the forward flops per row F (matmul/conv flops, by
      ``torch.utils.flop_counter``) on up to 4 rows, then compare the estimated flops
      jacobian = 3 F (rows of J computed) + 2 n^2 p and products = n F + 4 n^2 F (n vjps and n jvps over
      n rows), and take the smaller. For dense layers F ~ 2 p, so the Jacobian contraction wins at every
      (n, p) (about 2 n^2 p against 8 n^2 p); products win when p far exceeds the per-row compute
      (embedding tables, parameters a row touches only in part). Elementwise work is not counted.
      Only methods whose estimated peak fits ``memory_budget_bytes`` compete.

    ``chunk_size``: C above; None takes ``JACOBIAN_BUDGET_BYTES // (p * element size)``, at least 1,
    or, with a budget, the largest C whose estimated peak fits it.

    ``memory_budget_bytes`` (None: no limit): the estimated peak of each method at its chunk, by
    rscbench.measure.memory.jacobian_gram_bytes / products_gram_bytes with the bytes one row's
    forward saves (measured by a forward on one row); MemoryBudgetError before any work when the
    method asked for (or, for "auto", every method) cannot fit.
    """
    _check_method(method, _GENERIC_METHODS)
    _check_chunk_size(chunk_size)
    _check_budget(memory_budget_bytes)
    FlatLayout(params)
    _check_X(X)
    _scalar_rows(model_fn, params, X)
    method, chunk = plan_generic_gram(
        model_fn, params, X, method=method, chunk_size=chunk_size, memory_budget_bytes=memory_budget_bytes
    )
    if method == "products":
        K = _products_gram(model_fn, params, X, chunk)
    else:
        K = _jacobian_gram(model_fn, params, X, chunk)
    return (K + K.T) / 2


def _structured_gram(model: PaperMLP, X: Tensor) -> Tensor:
    acts, deltas, scales = _structured_factors(model, X)
    K = acts[-1] @ acts[-1].T / model.width
    for a_prev, delta, c in zip(acts[:-1], deltas, scales, strict=True):
        K = K + (delta @ delta.T) * (a_prev @ a_prev.T) / (c * c)
    return (K + K.T) / 2


def _structured_factors(model: PaperMLP, X: Tensor) -> tuple[list[Tensor], list[Tensor], list[float]]:
    """Activations A_0 = X, ..., A_L and backpropagated vectors Delta_1..Delta_L (each n x m_l)."""
    weights = [w.detach() for w in model.weights()]
    scales = model.layer_scales()
    phi = model.activation.fn
    with torch.enable_grad():
        hidden = X.detach()
        acts, pre = [hidden], []
        for layer, (weight, c) in enumerate(zip(weights, scales, strict=True)):
            z = hidden @ weight.T / c
            if layer == 0:
                z.requires_grad_(True)  # X and W detached: z_1 is the leaf the backward starts from
            pre.append(z)
            hidden = phi(z)
            acts.append(hidden)
        f = hidden @ model.v.detach() / math.sqrt(model.width)
        # Rows are independent, so d(sum_i f_i)/d z_l[i] = d f_i / d z_l[i]: one backward for all samples.
        deltas = torch.autograd.grad(f.sum(), pre)
    return [a.detach() for a in acts], [d.detach() for d in deltas], scales


def _row_grads_fn(model_fn: ModelFn) -> Callable[[ParamDict, Tensor], ParamDict]:
    """(params, X_block) -> per-sample gradients, a dict of (rows, *shape) tensors."""

    def f_row(params: ParamDict, x: Tensor) -> Tensor:
        return model_fn(params, x.unsqueeze(0)).reshape(())

    return vmap(grad(f_row), in_dims=(None, 0))


def _block_product(left: ParamDict, right: ParamDict) -> Tensor:
    """sum over parameter tensors of G_left G_right^T: the (rows_left, rows_right) block of K."""
    total = None
    for name, g_left in left.items():
        g_right = right[name]
        term = g_left.reshape(g_left.shape[0], -1) @ g_right.reshape(g_right.shape[0], -1).T
        total = term if total is None else total + term
    assert total is not None
    return total


def _jacobian_gram(model_fn: ModelFn, params: ParamDict, X: Tensor, chunk: int) -> Tensor:
    row_grads = _row_grads_fn(model_fn)
    n = X.shape[0]
    if n <= chunk:
        G = row_grads(params, X)
        return _block_product(G, G)
    stream = max(1, chunk // 4)
    resident = max(1, chunk - stream)
    K: Tensor | None = None
    for i0 in range(0, n, resident):
        i1 = min(n, i0 + resident)
        G_i = row_grads(params, X[i0:i1])
        diag = _block_product(G_i, G_i)
        if K is None:
            K = diag.new_zeros(n, n)
        K[i0:i1, i0:i1] = diag
        for j0 in range(i1, n, stream):
            j1 = min(n, j0 + stream)
            block = _block_product(G_i, row_grads(params, X[j0:j1]))
            K[i0:i1, j0:j1] = block
            K[j0:j1, i0:i1] = block.T
        del G_i
    assert K is not None
    return K


def _products_gram(model_fn: ModelFn, params: ParamDict, X: Tensor, chunk: int) -> Tensor:
    def f(p: ParamDict) -> Tensor:
        return model_fn(p, X).reshape(-1)

    out, vjp_fn = vjp(f, params)
    n = out.shape[0]

    def column(cotangent: Tensor) -> Tensor:
        (pullback,) = vjp_fn(cotangent)
        return jvp(f, (params,), (pullback,))[1]

    eye = torch.eye(n, dtype=out.dtype, device=out.device)
    K = out.new_empty(n, n)
    for j0 in range(0, n, chunk):
        j1 = min(n, j0 + chunk)
        K[:, j0:j1] = vmap(column)(eye[j0:j1]).T
    return K


def plan_generic_gram(
    model_fn: ModelFn,
    params: ParamDict,
    X: Tensor,
    *,
    method: str = "auto",
    chunk_size: int | None = None,
    memory_budget_bytes: int | None = None,
) -> tuple[str, int]:
    """The generic Gram method and chunk :func:`ntk_gram_of` runs: ("jacobian" or "products", C).

    Each candidate ("auto": both) gets its chunk (``chunk_size``; else with a budget the largest C
    whose estimated peak fits, without one ``JACOBIAN_BUDGET_BYTES // (p s)``); those whose peak at
    that chunk exceeds ``memory_budget_bytes`` drop out, and the one with fewer estimated flops
    (see ntk_gram_of) wins. Raises MemoryBudgetError, with the smallest estimate, when none fits.
    """
    _check_method(method, _GENERIC_METHODS)
    n, p = X.shape[0], FlatLayout(params).dim
    rows = X[: min(n, 4)]
    with FlopCounterMode(display=False) as counter:
        dtype = model_fn(params, rows).dtype
    itemsize = dtype.itemsize
    flops_per_row = counter.get_total_flops() / rows.shape[0]
    row_act = saved_activation_bytes(model_fn, params, X[:1])
    peak = {"jacobian": jacobian_gram_bytes, "products": products_gram_bytes}
    candidates = ("jacobian", "products") if method == "auto" else (method,)
    fitting: list[tuple[float, str, int]] = []
    smallest: tuple[int, str] | None = None
    for name in candidates:

        def need(chunk: int, name: str = name) -> int:
            return peak[name](n, chunk, p * itemsize, row_act, itemsize)

        if chunk_size is not None:
            chunk = chunk_size
        elif memory_budget_bytes is None:
            chunk = _default_chunk(p, dtype)
        else:
            chunk = _largest_fitting(need, n, memory_budget_bytes)
        if smallest is None or need(chunk) < smallest[0]:
            smallest = (need(chunk), name)
        if memory_budget_bytes is None or need(chunk) <= memory_budget_bytes:
            fitting.append((_gram_flops(name, n, p, flops_per_row, chunk), name, chunk))
    if not fitting:
        assert smallest is not None
        raise MemoryBudgetError(f"ntk_gram ({smallest[1]})", smallest[0], memory_budget_bytes or 0)
    _, name, chunk = min(fitting)
    return name, chunk


def _largest_fitting(need: Callable[[int], int], n: int, budget: int) -> int:
    """The largest chunk in [1, n] with need(chunk) <= budget (need grows with chunk); 1 if none."""
    low, high = 1, n
    while low < high:
        middle = (low + high + 1) // 2
        if need(middle) <= budget:
            low = middle
        else:
            high = middle - 1
    return low


def _gram_flops(method: str, n: int, p: int, flops_per_row: float, chunk: int) -> float:
    """Estimated flops: jacobian 3 F (rows of J computed) + 2 n^2 p; products n F + 4 n^2 F."""
    if method == "products":
        return n * flops_per_row + 4 * n * n * flops_per_row
    if n <= chunk:
        rows_computed = n
    else:
        resident = max(1, chunk - max(1, chunk // 4))
        rows_computed = n + n * n / (2 * resident)
    return 3 * flops_per_row * rows_computed + 2 * n * n * p


# --------------------------------------------------------------------------------------------------
# Per-sample gradient norms
# --------------------------------------------------------------------------------------------------


def per_sample_grad_norms(model: nn.Module, X: Tensor, *, chunk_size: int | None = None) -> Tensor:
    """||grad_theta f(theta; x_i)||_2 for each row of X, shape (n,): the square roots of diag(K).

    For a :class:`PaperMLP` with one output the diagonal is computed directly in O(n L m):
    K_ii = sum_l ||Delta_l[i]||^2 ||A_{l-1}[i]||^2 / c_l^2 + ||A_L[i]||^2 / m, without the n x n matrix.
    Otherwise per-sample gradients by vmap(grad) over blocks of ``chunk_size`` rows (None: from
    ``JACOBIAN_BUDGET_BYTES``). Units: output units per parameter unit (dimensionless for the paper's
    network). Model dtype and device. The max over rows is the paper's rho-type bound (DESIGN Q4).
    """
    _check_model(model)
    _check_chunk_size(chunk_size)
    _check_X_for_model(model, X)
    if _is_structured(model):
        acts, deltas, scales = _structured_factors(model, X)
        diag = acts[-1].square().sum(1) / model.width
        for a_prev, delta, c in zip(acts[:-1], deltas, scales, strict=True):
            diag = diag + delta.square().sum(1) * a_prev.square().sum(1) / (c * c)
        return diag.sqrt()
    return per_sample_grad_norms_of(model_function(model), detached_params(model), X, chunk_size=chunk_size)


def per_sample_grad_norms_of(
    model_fn: ModelFn, params: ParamDict, X: Tensor, *, chunk_size: int | None = None
) -> Tensor:
    """||grad_params f(params; x_i)||_2 for each row of X, shape (n,), for any torch function f(params, X).

    Per-sample gradients by vmap(grad) over blocks of ``chunk_size`` rows (None: from
    ``JACOBIAN_BUDGET_BYTES``), so at most ``chunk_size`` parameter-sized vectors are held. Units: output
    units per parameter unit. Rows must be independent (see :func:`ntk_gram_of`).
    """
    _check_chunk_size(chunk_size)
    layout = FlatLayout(params)
    _check_X(X)
    out = _scalar_rows(model_fn, params, X)
    chunk = chunk_size if chunk_size is not None else _default_chunk(layout.dim, out.dtype)
    row_grads = _row_grads_fn(model_fn)
    pieces = []
    for i0 in range(0, X.shape[0], chunk):
        G = row_grads(params, X[i0 : i0 + chunk])
        pieces.append(sum(g.reshape(g.shape[0], -1).square().sum(1) for g in G.values()))
    return torch.cat(pieces).sqrt()


# --------------------------------------------------------------------------------------------------
# Spectrum, drift, PL constant
# --------------------------------------------------------------------------------------------------


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
    K64 = _as_square_float64(K, "K")
    dtype = K.dtype if source_dtype is None else source_dtype
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise InvalidArgumentError("source_dtype", source_dtype, "None or a floating torch.dtype")
    _check_symmetric(K64, "K", dtype)
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
    A = _as_square_float64(K0, "K0")
    B = _as_square_float64(K1, "K1")
    if A.shape != B.shape:
        raise InvalidArgumentError("K1.shape", tuple(K1.shape), f"{tuple(K0.shape)} (the shape of K0)")
    base = torch.linalg.matrix_norm(A)
    if base == 0:
        raise InvalidArgumentError("K0", "the zero matrix", "a matrix with nonzero Frobenius norm")
    return float(torch.linalg.matrix_norm(B - A) / base)


def pl_constant(K: Tensor) -> float:
    """The PL constant mu = (4 / n) lambda_min(K) the NTK implies for the square loss (DESIGN Q10).

    With L = (1/n) sum_i (f_i - y_i)^2 (no 1/2), grad L = (2/n) J^T r with r = f - y, so
    ||grad L||^2 = (4/n^2) r^T K r >= (4/n^2) lambda_min(K) ||r||^2 = mu * L, with equality when r is a
    bottom eigenvector of K. Units of K. lambda_min comes from eigvalsh in float64 and is returned as is,
    not clamped: a rank-deficient K can give a tiny negative value. Whether lambda_min is above float
    noise is for :func:`ntk_spectrum` (``lambda_min_resolved``) to say.
    """
    K64 = _as_square_float64(K, "K")
    _check_symmetric(K64, "K", K.dtype)
    return 4.0 / K64.shape[0] * float(torch.linalg.eigvalsh(K64)[0])


# --------------------------------------------------------------------------------------------------
# Checks and helpers
# --------------------------------------------------------------------------------------------------


def _is_structured(model: nn.Module) -> bool:
    """Whether the layer-wise formula applies: a PaperMLP with one output and the class's own forward."""
    return isinstance(model, PaperMLP) and model.out_dim == 1 and type(model).forward is PaperMLP.forward


def _check_model(model: object) -> None:
    if not isinstance(model, nn.Module):
        raise InvalidArgumentError("model", type(model).__name__, "a torch.nn.Module")
    if next(model.parameters(), None) is None:
        raise InvalidArgumentError("model", type(model).__name__, "a module with at least one parameter")
    if isinstance(model, PaperMLP) and model.out_dim != 1:
        raise InvalidArgumentError("model.out_dim", model.out_dim, "1 (one scalar output per row)")


def _check_method(method: object, allowed: tuple[str, ...]) -> None:
    if method not in allowed:
        raise InvalidArgumentError("method", method, "one of " + ", ".join(repr(m) for m in allowed))


def _check_budget(memory_budget_bytes: object) -> None:
    if memory_budget_bytes is not None:
        require_integer("memory_budget_bytes", memory_budget_bytes, 1)


def _check_chunk_size(chunk_size: object) -> None:
    if chunk_size is None:
        return
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise InvalidArgumentError("chunk_size", chunk_size, "None or an integer >= 1")


def _check_X(X: object) -> None:
    if not isinstance(X, Tensor):
        raise InvalidArgumentError("X", type(X).__name__, "a torch.Tensor of shape (n, d)")
    if X.dim() != 2 or X.shape[0] < 1:
        raise InvalidArgumentError("X.shape", tuple(X.shape), "(n, d) with n >= 1")


def _input_size(model: nn.Module) -> int | None:
    """The input width the model expects, where it can be read off; None when unknown."""
    if isinstance(model, PaperMLP):
        return model.in_dim
    if isinstance(getattr(model, "in_features", None), int):
        return model.in_features
    if isinstance(model, nn.Sequential):
        first = next((m for m in model.modules() if not list(m.children())), None)
        if first is not None and isinstance(getattr(first, "in_features", None), int):
            return first.in_features
    return None


def _check_X_for_model(model: nn.Module, X: object) -> None:
    _check_X(X)
    assert isinstance(X, Tensor)
    expected = _input_size(model)
    if expected is not None and X.shape[1] != expected:
        raise InvalidArgumentError("X.shape", tuple(X.shape), f"(n, {expected}) with n >= 1")
    param = next(model.parameters())
    if X.dtype != param.dtype:
        raise InvalidArgumentError("X.dtype", X.dtype, f"{param.dtype} (the model's dtype)")
    if X.device != param.device:
        raise InvalidArgumentError("X.device", X.device, f"{param.device} (the model's device)")


def _scalar_rows(model_fn: ModelFn, params: ParamDict, X: Tensor) -> Tensor:
    """Evaluate f(params, X) once and check it gives one scalar per row; return it with shape (n,)."""
    with torch.no_grad():
        out = scalar_output(model_fn, params, X)
    if not out.dtype.is_floating_point:
        raise InvalidArgumentError("model output dtype", out.dtype, "a floating dtype")
    return out


def _default_chunk(p: int, dtype: torch.dtype) -> int:
    """Rows of J (parameter-sized vectors) that fit in JACOBIAN_BUDGET_BYTES, at least 1."""
    return max(1, JACOBIAN_BUDGET_BYTES // (p * dtype.itemsize))


def _as_square_float64(K: object, name: str) -> Tensor:
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


def _check_symmetric(K64: Tensor, name: str, dtype: torch.dtype) -> None:
    """Refuse a matrix whose asymmetry is far beyond rounding in ``dtype`` (sqrt(eps) relative)."""
    scale = float(torch.linalg.matrix_norm(K64))
    asym = float(torch.linalg.matrix_norm(K64 - K64.T))
    if asym > math.sqrt(torch.finfo(dtype).eps) * scale:
        raise InvalidArgumentError(
            name,
            f"a non-symmetric matrix (||K - K^T||_F / ||K||_F = {asym / scale:.3g})",
            "a symmetric matrix",
        )
