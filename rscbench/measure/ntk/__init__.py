"""The empirical neural tangent kernel: Gram matrix, spectrum, drift and PL constant (docs/science.md, Q10).

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

from rscbench.measure.ntk.checks import JACOBIAN_BUDGET_BYTES
from rscbench.measure.ntk.generic import ntk_gram_of, plan_generic_gram
from rscbench.measure.ntk.gradients import per_sample_grad_norms, per_sample_grad_norms_of
from rscbench.measure.ntk.gram import NTK_METHODS, ntk_gram
from rscbench.measure.ntk.spectrum import NtkSpectrum, ntk_drift, ntk_spectrum, pl_constant

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
