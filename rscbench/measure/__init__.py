"""Matrix-free curvature, gradient, RSC and NTK kernels (docs/science.md, docs/kernels.md).

Every kernel takes either an nn.Module (through torch.func.functional_call) or a scalar torch
function of a parameter dict, so a user's own architecture goes through the same code.
"""

from rscbench.measure.curvature_operators import (
    EmpiricalFisherOperator,
    GaussNewtonOperator,
    LinearOperator,
    ScaledOperator,
    empirical_fisher_operator,
    gauss_newton_operator,
)
from rscbench.measure.density import SpectralDensity, spectral_density
from rscbench.measure.hvp import HessianOperator, hvp
from rscbench.measure.lanczos import lanczos, power_iteration
from rscbench.measure.losses import LOSSES, loss_function
from rscbench.measure.ntk import ntk_drift, ntk_gram, ntk_spectrum, per_sample_grad_norms, pl_constant
from rscbench.measure.predictor_hessian import predictor_hessian_norms, predictor_hessian_spectra
from rscbench.measure.rsc import restricted_curvature, rsc_certificate, theorem_alpha
from rscbench.measure.secant import secant_check
from rscbench.measure.snapshot import measure_snapshot
from rscbench.measure.spaces import average_predictor_gradient, loss_hessian_extremes
from rscbench.measure.spectrum import hessian_block_norm, hessian_extremes
from rscbench.measure.topk import Eigenpairs, top_eigenpairs
from rscbench.measure.trace import TraceEstimate, hutchinson_trace, hutchpp_trace

__all__ = [
    "LOSSES",
    "Eigenpairs",
    "EmpiricalFisherOperator",
    "GaussNewtonOperator",
    "HessianOperator",
    "LinearOperator",
    "ScaledOperator",
    "SpectralDensity",
    "TraceEstimate",
    "average_predictor_gradient",
    "empirical_fisher_operator",
    "gauss_newton_operator",
    "hessian_block_norm",
    "hessian_extremes",
    "hutchinson_trace",
    "hutchpp_trace",
    "hvp",
    "lanczos",
    "loss_function",
    "loss_hessian_extremes",
    "measure_snapshot",
    "ntk_drift",
    "ntk_gram",
    "ntk_spectrum",
    "per_sample_grad_norms",
    "pl_constant",
    "power_iteration",
    "predictor_hessian_norms",
    "predictor_hessian_spectra",
    "restricted_curvature",
    "rsc_certificate",
    "secant_check",
    "spectral_density",
    "theorem_alpha",
    "top_eigenpairs",
]
