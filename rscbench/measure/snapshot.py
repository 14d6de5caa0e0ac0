"""Every quantity of docs/science.md that is defined at one parameter point, in one flat record."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection

import torch
from torch import Tensor, nn

from rscbench.errors import InvalidArgumentError, require_integer
from rscbench.measure.density import SpectralDensity, spectral_density
from rscbench.measure.hvp import HessianOperator
from rscbench.measure.losses import get_loss, loss_function
from rscbench.measure.ntk import ntk_gram, ntk_spectrum, per_sample_grad_norms, pl_constant
from rscbench.measure.params import detached_params, model_function, scalar_output
from rscbench.measure.predictor_hessian import predictor_hessian_spectra
from rscbench.measure.rsc import (
    average_predictor_gradient,
    check_kappa,
    check_radius,
    rsc_certificate,
    secant_check,
    theorem_alpha,
)
from rscbench.measure.spaces import loss_hessian_extremes
from rscbench.measure.spectrum import hessian_block_norm
from rscbench.measure.trace import TraceEstimate, hutchpp_trace
from rscbench.models.paper_net import PaperMLP
from rscbench.vocabulary import DEFAULT_QUANTITIES, QUANTITIES

__all__ = ["ALL_QUANTITIES", "DENSITY_BINS", "DENSITY_PREFIX", "measure_snapshot"]

ALL_QUANTITIES = QUANTITIES
"""Every quantity measure_snapshot implements (the vocabulary's QUANTITIES)."""
DENSITY_BINS = 32
"""Q12's histogram: the spectral measure's mass in this many equal bins between its extreme nodes."""
DENSITY_PREFIX = "loss_hessian_density_mass_"
"""Q12's bin masses are recorded as ``<prefix>00`` .. ``<prefix>31``, lowest eigenvalues first."""

Record = dict[str, float | int | bool | str | None]


def _block_pairs(model: PaperMLP) -> list[tuple[str, str]]:
    """Q2's blocks: every diagonal W^(l) block, the head's, and the v-W^(L) block."""
    last = f"W{model.depth}"
    return [(f"W{layer}", f"W{layer}") for layer in range(1, model.depth + 1)] + [("v", "v"), ("v", last)]


def measure_snapshot(
    model: nn.Module,
    X: Tensor,
    y: Tensor,
    *,
    loss: str = "square",
    quantities: Collection[str] = DEFAULT_QUANTITIES,
    kappa: float = 0.5,
    rho2: float = 1.0,
    n_probes: int = 16,
    block_probes: int = 2,
    secant_samples: int = 16,
    tol: float = 1e-3,
    trace_products: int = 99,
    density_vectors: int = 8,
    density_steps: int = 64,
    seed: int = 0,
    on_part: Callable[[str], None] | None = None,
) -> Record:
    """Measure the requested ``quantities`` (of Q1-Q4, Q6-Q8, Q10-Q12) at the model's parameters.

    Returns a flat record (the loss is always included). Probes for Q1/Q2 are the first
    ``n_probes`` (``block_probes``) rows of X. Quantities that need a scalar prediction (all but
    the loss-Hessian ones, Q3, Q11 and Q12) are skipped for cross-entropy; Q2 and Q8 need a
    PaperMLP (its layers, its width), Q8 the square loss. Q8 uses the pieces of Q1, Q4 and Q6,
    computed once. Every Lanczos estimate reports whether it met ``tol`` (``*_converged``) and,
    where the kernel returns it, its Ritz residual bound (``*_residual*``, in the estimate's units;
    Q6's bounds already subtract theirs). Q11 is the Hutch++ trace of the loss Hessian from
    ``trace_products`` products, with its 95% confidence interval; Q12 its spectral density by
    stochastic Lanczos quadrature (``density_vectors`` starts of ``density_steps`` steps): the
    first two moments tr(H^r)/p with their standard errors over the starts, the extreme nodes and
    the mass in DENSITY_BINS bins between them. Both draw their probes from generators seeded with
    ``seed``. Units: rscbench.analysis.metrics.

    ``on_part``, when given, is called with a quantity's code as its computation starts (a piece
    several quantities share starts once, under the first requested one that needs it), so the
    run layer can time each quantity and attribute its warnings; this kernel neither times nor
    prints.
    """
    unknown = sorted(set(quantities) - set(ALL_QUANTITIES))
    if unknown or not quantities:
        raise InvalidArgumentError(
            "quantities", list(quantities), "a non-empty list of " + ", ".join(ALL_QUANTITIES)
        )
    for name, value in (
        ("n_probes", n_probes),
        ("block_probes", block_probes),
        ("secant_samples", secant_samples),
    ):
        require_integer(name, value, 1)
    check_kappa(kappa)
    check_radius(rho2)
    wanted = set(quantities)
    mark = on_part or (lambda code: None)
    chosen = get_loss(loss)
    loss_fn = loss_function(model, X, y, loss)
    params = detached_params(model)
    record: Record = {"loss": float(loss_fn(params))}

    if "Q3" in wanted:
        mark("Q3")
        curvature = loss_hessian_extremes(model, X, y, loss, tol=tol, seed=seed)
        record |= {
            "loss_hessian_lambda_max": curvature.lambda_max,
            "loss_hessian_lambda_min": curvature.lambda_min,
            "loss_hessian_norm": curvature.norm,
            "loss_hessian_residual_max": curvature.residual_max,
            "loss_hessian_residual_min": curvature.residual_min,
            "loss_hessian_converged": curvature.converged,
            "loss_hessian_n_hvp": curvature.n_hvp,
        }
    if wanted & {"Q11", "Q12"}:
        mark("Q11" if "Q11" in wanted else "Q12")
        operator = HessianOperator(loss_fn, params)
        if "Q11" in wanted:
            record |= _trace_record(hutchpp_trace(operator, n_products=trace_products, seed=seed))
        if "Q12" in wanted:
            mark("Q12")
            density = spectral_density(operator, n_vectors=density_vectors, steps=density_steps, seed=seed)
            record |= _density_record(density)
        del operator
    if not chosen.scalar_output:
        return record
    paper = isinstance(model, PaperMLP)
    theorem = "Q8" in wanted and paper and loss == "square"

    if wanted & {"Q1"} or theorem:
        mark("Q1" if "Q1" in wanted else "Q8")
        spectra = predictor_hessian_spectra(model, X[:n_probes], tol=tol, seed=seed)
        hessian_max = float(spectra.norms.max())
        record |= {
            "predictor_hessian_max": hessian_max,
            "predictor_hessian_mean": float(spectra.norms.mean()),
            "predictor_hessian_converged_fraction": float(spectra.converged.double().mean()),
            "predictor_hessian_converged": bool(spectra.converged.all()),
            "predictor_hessian_residual_max": float(
                torch.maximum(spectra.residual_max, spectra.residual_min).max()
            ),
            "predictor_hessian_strategy": spectra.strategy,
        }
        if paper:
            record["predictor_hessian_scaled_max"] = math.sqrt(model.width) * hessian_max
    if "Q2" in wanted and paper:
        mark("Q2")
        f = model_function(model)
        for rows, cols in _block_pairs(model):
            blocks = [
                hessian_block_norm(
                    lambda p, x=x: scalar_output(f, p, x[None])[0], params, [rows], [cols], tol=tol, seed=seed
                )
                for x in X[:block_probes]
            ]
            name = rows if rows == cols else f"{rows}_{cols}"
            record[f"block_norm_{name}"] = max(block.norm for block in blocks)
            record[f"block_residual_{name}"] = max(max(b.residual_max, b.residual_min) for b in blocks)
            record[f"block_converged_{name}"] = all(block.converged for block in blocks)

    if wanted & {"Q4", "Q10"} or theorem:
        mark(next((q for q in ("Q4", "Q10") if q in wanted), "Q8"))
        grad_norms = per_sample_grad_norms(model, X)
        record["per_sample_grad_norm_max"] = float(grad_norms.max())
    if "Q4" in wanted:
        mark("Q4")
        g_bar = average_predictor_gradient(model, X)
        record["g_bar_sqnorm"] = float(sum(float((g.double() ** 2).sum()) for g in g_bar.values()))
    if "Q10" in wanted:
        mark("Q10")
        gram = ntk_gram(model, X)
        spectrum = ntk_spectrum(gram, source_dtype=X.dtype)
        record |= {
            "ntk_lambda_min": spectrum.resolved_lambda_min,
            "ntk_lambda_min_resolved": spectrum.lambda_min_resolved,
            "ntk_noise_floor": spectrum.noise_floor,
            "ntk_lambda_max": spectrum.lambda_max,
            "pl_constant": pl_constant(gram) if spectrum.lambda_min_resolved else None,
        }
    if "Q6" in wanted or theorem:
        mark("Q6" if "Q6" in wanted else "Q8")
        certificate = rsc_certificate(model, X, y, loss=loss, kappa=kappa, tol=tol, seed=seed)
        record |= {
            "g_bar_sqnorm": certificate.g_bar_sqnorm,
            "rsc_lower": certificate.lower,
            "rsc_upper": certificate.upper,
            "rsc_lower_gn": certificate.lower_gn,
            "rsc_lower_generic": certificate.lower_generic,
            "rsc_lambda_min_R": certificate.lambda_min_R,
            "rsc_holds": certificate.holds,
            "rsc_converged": certificate.converged,
        }
        if record.get("ntk_lambda_min") is not None:
            record["certificate_ratio"] = X.shape[0] * certificate.g_bar_sqnorm / record["ntk_lambda_min"]
    if "Q7" in wanted:
        mark("Q7")
        secant = secant_check(
            loss_fn,
            params,
            average_predictor_gradient(model, X),
            kappa=kappa,
            rho2=rho2,
            n_samples=secant_samples,
            seed=seed,
        )
        record |= {
            "secant_min_inside": secant.min_inside,
            "secant_nonpositive_fraction_inside": secant.fraction_nonpositive_inside,
            "secant_min_outside": secant.min_outside,
            "secant_nonpositive_fraction_outside": secant.fraction_nonpositive_outside,
        }
    if theorem:
        mark("Q8")
        alpha = theorem_alpha(
            g_bar_sqnorm=record["g_bar_sqnorm"],
            width=model.width,
            kappa=kappa,
            c_hessian=record["predictor_hessian_scaled_max"],
            rho_grad=record["per_sample_grad_norm_max"],
            rho2=rho2,
            loss_value=record["loss"],
        )
        record |= {
            "theorem_alpha": alpha.alpha_t,
            "theorem_c2": alpha.c2,
            "theorem_width_threshold": alpha.width_threshold,
            "scaled_g_bar_sqnorm": alpha.scaled_g_bar_sqnorm,
        }
    return record


def _trace_record(trace: TraceEstimate) -> Record:
    """Q11's fields: the estimate, its confidence interval and standard error, and its products."""
    return {
        "loss_hessian_trace": trace.value,
        "loss_hessian_trace_ci_low": trace.ci_low,
        "loss_hessian_trace_ci_high": trace.ci_high,
        "loss_hessian_trace_std_error": trace.std_error,
        "loss_hessian_trace_n_products": trace.n_products,
    }


def _density_record(density: SpectralDensity) -> Record:
    """Q12's fields: moments 1 and 2 with standard errors, extreme nodes, bin masses and products."""
    mean, mean_se = density.moment(1)
    second, second_se = density.moment(2)
    edges, masses = density.histogram(DENSITY_BINS)
    return {
        "loss_hessian_density_mean": mean,
        "loss_hessian_density_mean_se": mean_se,
        "loss_hessian_density_second_moment": second,
        "loss_hessian_density_second_moment_se": second_se,
        "loss_hessian_density_low": float(edges[0]),
        "loss_hessian_density_high": float(edges[-1]),
        "loss_hessian_density_n_products": density.n_products,
    } | {f"{DENSITY_PREFIX}{index:02d}": float(mass) for index, mass in enumerate(masses)}
