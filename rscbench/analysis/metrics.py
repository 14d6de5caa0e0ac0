"""The one registry of every stored metric: its unit, which direction is better, the quantity (Q1-Q10)
it belongs to, what it is, and the symbol its plots print. `rscbench list metrics`, results.csv, the
report's tables and every plot label read it, so a unit is written in one place only.

Units: ``1`` is dimensionless (the paper's network has a scalar, dimensionless output, so predictor
Hessians, gradients and NTK entries are dimensionless), ``loss`` the loss's units, ``loss/param^2`` a
curvature of the loss, ``param`` a distance in parameter space.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "METRICS",
    "QUANTITY_TITLES",
    "MetricInfo",
    "axis_label",
    "column_label",
    "metric_info",
    "quantity_metrics",
    "unit_text",
]

QUANTITY_TITLES = {
    "Q1": "predictor Hessian norm",
    "Q2": "per-layer blocks of the predictor Hessian",
    "Q3": "loss Hessian: smoothness and non-convexity",
    "Q4": "average predictor gradient",
    "Q6": "restricted curvature and its certificates",
    "Q7": "secant curvature at a finite radius",
    "Q8": "the theorem's alpha with measured constants",
    "Q9": "training: gradient descent, or the protocol's sgd, momentum or adam",
    "Q10": "NTK beside RSC",
    "Q11": "trace of the loss Hessian (Hutch++)",
    "Q12": "spectral density of the loss Hessian (stochastic Lanczos quadrature)",
}
"""Each quantity's title (docs/science.md section 3), as the report's tables head them."""


@dataclass(frozen=True)
class MetricInfo:
    """``unit`` of a metric (``1`` when dimensionless), ``better`` ("lower", "higher" or "none"), the
    ``quantity`` (Q1..Q12, "task" for a task's own facts, "reference" for an analytic limit), a
    plain-text ``description``, a matplotlib mathtext ``symbol`` for plot axes, and whether the
    report's per-quantity table lists it (``tabulated``; Q12's bin masses are drawn, not tabulated)."""

    name: str
    unit: str
    better: str
    quantity: str
    description: str
    symbol: str = ""
    tabulated: bool = True


_CURVATURE = "loss/param^2"


def _m(name: str, unit: str, better: str, quantity: str, description: str, symbol: str = "") -> MetricInfo:
    return MetricInfo(name, unit, better, quantity, description, symbol)


_ENTRIES = (
    _m("loss", "loss", "lower", "task", "training loss at the measured point", r"training loss $L(\theta)$"),
    _m("memory_estimate_bytes", "bytes", "none", "task", "the task's estimated peak memory"),
    _m("parameters", "count", "none", "task", "number of parameters p"),
    _m("n", "count", "none", "task", "number of training points"),
    _m("d", "count", "none", "task", "input dimension"),
    _m("dataset_hash", "text", "none", "task", "content hash of the dataset"),
    # Q1
    _m(
        "predictor_hessian_max",
        "1",
        "lower",
        "Q1",
        "max over probes of ||Hessian of f||_2",
        r"max-probe $\|\nabla^2_\theta f(\theta_0; x)\|_2$",
    ),
    _m("predictor_hessian_mean", "1", "lower", "Q1", "mean over probes of ||Hessian of f||_2"),
    _m("predictor_hessian_scaled_max", "1", "none", "Q1", "sqrt(m) x max probe norm (c_H)"),
    _m("predictor_hessian_converged_fraction", "1", "higher", "Q1", "probes whose Lanczos met tol"),
    _m("predictor_hessian_converged", "bool", "none", "Q1", "every probe's Lanczos met tol"),
    _m("predictor_hessian_residual_max", "1", "lower", "Q1", "largest Ritz residual bound over the probes"),
    _m("predictor_hessian_strategy", "text", "none", "Q1", "batched (vmap) or looped probes"),
    # Q3
    _m("loss_hessian_lambda_max", _CURVATURE, "none", "Q3", "top eigenvalue of the loss Hessian"),
    _m("loss_hessian_lambda_min", _CURVATURE, "none", "Q3", "bottom eigenvalue of the loss Hessian"),
    _m("loss_hessian_norm", _CURVATURE, "lower", "Q3", "beta_hat, the loss Hessian's norm"),
    _m("loss_hessian_residual_max", _CURVATURE, "lower", "Q3", "Ritz residual bound of lambda_max"),
    _m("loss_hessian_residual_min", _CURVATURE, "lower", "Q3", "Ritz residual bound of lambda_min"),
    _m("loss_hessian_converged", "bool", "none", "Q3", "the loss-Hessian Lanczos met tol"),
    _m("loss_hessian_n_hvp", "count", "lower", "Q3", "Hessian-vector products used"),
    # Q4
    _m(
        "g_bar_sqnorm",
        "1",
        "higher",
        "Q4",
        "||average predictor gradient||^2",
        r"$\|\bar g(\theta_0)\|_2^2$",
    ),
    _m("per_sample_grad_norm_max", "1", "none", "Q4", "max_i ||grad f(x_i)||"),
    # Q6
    _m("rsc_lower", _CURVATURE, "higher", "Q6", "certified lower bound of the cone curvature", r"$\alpha_t$"),
    _m("rsc_upper", _CURVATURE, "none", "Q6", "upper bound of the cone curvature"),
    _m("rsc_lower_gn", _CURVATURE, "higher", "Q6", "Gauss-Newton lower bound"),
    _m("rsc_lower_generic", _CURVATURE, "higher", "Q6", "generic lower bound"),
    _m("rsc_lambda_min_R", _CURVATURE, "higher", "Q6", "lambda_min of the residual curvature R"),
    _m("rsc_holds", "bool", "none", "Q6", "certified lower bound > 0"),
    _m("rsc_converged", "bool", "none", "Q6", "every Lanczos run of the certificate met tol"),
    # Q7
    _m("secant_min_inside", _CURVATURE, "higher", "Q7", "min secant curvature inside the cone"),
    _m("secant_nonpositive_fraction_inside", "1", "lower", "Q7", "secants <= 0 inside the cone"),
    _m("secant_min_outside", _CURVATURE, "none", "Q7", "min secant curvature outside (control)"),
    _m("secant_nonpositive_fraction_outside", "1", "none", "Q7", "secants <= 0 outside (control)"),
    # Q8
    _m("theorem_alpha", _CURVATURE, "higher", "Q8", "Theorem 5.1's alpha_t, measured constants"),
    _m("theorem_c2", _CURVATURE, "lower", "Q8", "the theorem's constant c2 (alpha_t = ... - c2/sqrt(m))"),
    _m("theorem_width_threshold", "neurons", "lower", "Q8", "width above which alpha_t > 0"),
    _m("scaled_g_bar_sqnorm", "1", "higher", "Q8", "sqrt(m) ||g_bar||^2 (must grow with m)"),
    # Q10
    _m(
        "ntk_lambda_min",
        "1",
        "higher",
        "Q10",
        "lambda_min of the NTK Gram (null under the floor)",
        r"$\lambda_{\min}(K(\theta_0))$",
    ),
    _m("ntk_lambda_min_resolved", "bool", "none", "Q10", "lambda_min(K) above the float noise floor"),
    _m("ntk_noise_floor", "1", "none", "Q10", "float noise floor of lambda_min(K)"),
    _m("ntk_lambda_max", "1", "none", "Q10", "lambda_max of the NTK Gram"),
    _m("pl_constant", _CURVATURE, "higher", "Q10", "PL constant 4 lambda_min(K) / n"),
    _m("certificate_ratio", "1", "lower", "Q10", "mean-mode ratio n ||g_bar||^2 / lambda_min(K) (V7)"),
    # Q11
    _m("loss_hessian_trace", _CURVATURE, "none", "Q11", "tr(H) of the loss Hessian (Hutch++)", r"tr$(H)$"),
    _m("loss_hessian_trace_ci_low", _CURVATURE, "none", "Q11", "lower end of tr(H)'s 95% CI"),
    _m("loss_hessian_trace_ci_high", _CURVATURE, "none", "Q11", "upper end of tr(H)'s 95% CI"),
    _m("loss_hessian_trace_std_error", _CURVATURE, "lower", "Q11", "standard error of tr(H)"),
    _m("loss_hessian_trace_n_products", "count", "lower", "Q11", "Hessian-vector products of tr(H)"),
    # Q12
    _m(
        "loss_hessian_density_mean",
        _CURVATURE,
        "none",
        "Q12",
        "first moment tr(H)/p of the spectral density",
    ),
    _m("loss_hessian_density_mean_se", _CURVATURE, "lower", "Q12", "standard error of tr(H)/p over starts"),
    _m(
        "loss_hessian_density_second_moment",
        "loss^2/param^4",
        "none",
        "Q12",
        "second moment tr(H^2)/p of the spectral density",
    ),
    _m(
        "loss_hessian_density_second_moment_se",
        "loss^2/param^4",
        "lower",
        "Q12",
        "standard error of tr(H^2)/p over starts",
    ),
    _m("loss_hessian_density_low", _CURVATURE, "none", "Q12", "smallest quadrature node (left edge)"),
    _m("loss_hessian_density_high", _CURVATURE, "none", "Q12", "largest quadrature node (right edge)"),
    _m("loss_hessian_density_n_products", "count", "lower", "Q12", "Hessian-vector products of the density"),
    # Q9
    _m("gd_outcome", "text", "none", "Q9", "reached_target, budget or diverged"),
    _m("gd_steps_taken", "steps", "none", "Q9", "GD steps run"),
    _m("gd_steps_to_target", "steps", "lower", "Q9", "steps to reach target_ratio (censored: null)"),
    _m("gd_target_ratio", "1", "none", "Q9", "the target L_T / L_0"),
    _m("gd_final_loss_ratio", "1", "lower", "Q9", "L_T / L_0 at the end of the run"),
    _m("gd_geometric_rate", "1/step", "lower", "Q9", "exp(slope) of one line through log loss"),
    _m("gd_rate_r2", "1", "higher", "Q9", "R^2 of that one-line fit"),
    _m("gd_contraction_median", "1/step", "lower", "Q9", "median L_{t+1} / L_t"),
    _m("gd_contraction_max", "1/step", "lower", "Q9", "largest L_{t+1} / L_t"),
    _m(
        "gd_predicted_rate",
        "1/step",
        "none",
        "Q9",
        "RSC rate 1 - omega(2 - omega) alpha / beta (bounds L - Lbar)",
    ),
    _m("gd_beta_max", _CURVATURE, "none", "Q9", "largest beta_hat along the run"),
    _m(
        "gd_rsc_certified_fraction",
        "1",
        "higher",
        "Q9",
        "certified checkpoints after t = 0",
        "fraction certified",
    ),
    _m("gd_rsc_certified_at_init", "bool", "none", "Q9", "the t = 0 checkpoint is certified"),
    _m(
        "gd_ntk_drift",
        "1",
        "none",
        "Q9",
        "||K_T - K_0||_F / ||K_0||_F",
        r"$\|K_T - K_0\|_F / \|K_0\|_F$",
    ),
    _m("gd_distance_final", "param", "none", "Q9", "||theta_T - theta_0||"),
    _m("gd_sharpness_max", "1", "lower", "Q9", "max eta lambda_max(H) (2 = edge of stability)"),
    # analytic references (rscbench.analysis.references), derived at report time, never stored
    _m(
        "g_bar_sqnorm_limit",
        "1",
        "none",
        "reference",
        "infinite-width ||g_bar||^2 at this width's sigma0(m), with its 1/m W-block term",
        r"$\|\bar g\|^2_\infty$",
    ),
    _m(
        "ntk_lambda_min_limit",
        "1",
        "none",
        "reference",
        "lambda_min of the infinite-width NTK C^L + W/m at this width's sigma0(m)",
        r"$\lambda_{\min}(K_\infty)$",
    ),
    # the training monitor (rscbench.monitor): a user's own loop, measured on a monitoring set
    _m("train_steps", "steps", "none", "Q9", "monitor: optimizer steps recorded"),
    _m("train_checkpoints", "count", "none", "Q9", "monitor: checkpoints measured"),
    _m("train_final_loss", "loss", "lower", "Q9", "monitor: loss on the monitoring set at the end"),
    _m("train_loss_ratio", "1", "lower", "Q9", "monitor: final / first monitoring-set loss"),
    _m("train_rsc_certified_fraction", "1", "higher", "Q9", "monitor: certified checkpoints after t=0 (Q6)"),
    _m("train_sharpness_max", "1", "lower", "Q9", "monitor: max sharpness (2 = edge of stability)"),
    _m("train_sharpness_final", "1", "none", "Q9", "monitor: sharpness at the last checkpoint"),
    _m("train_ntk_drift", "1", "none", "Q9", "monitor: ||K_T - K_0||_F / ||K_0||_F (Q10)"),
    _m("train_distance_final", "param", "none", "Q9", "monitor: ||theta_T - theta_0||"),
)
METRICS: dict[str, MetricInfo] = {info.name: info for info in _ENTRIES}

# Metrics that carry a part in their name: Q2's blocks (block_norm_W1, block_residual_v_W2, ...) and
# Q12's bins (loss_hessian_density_mass_00 .. _31, rscbench.measure.snapshot.DENSITY_PREFIX).
_PREFIXED = (
    ("block_norm_", MetricInfo("", "1", "none", "Q2", "spectral norm of a predictor-Hessian block")),
    ("block_residual_", MetricInfo("", "1", "lower", "Q2", "Ritz residual bound of a block norm")),
    ("block_converged_", MetricInfo("", "bool", "none", "Q2", "a block norm's Lanczos met tol")),
    (
        "loss_hessian_density_mass_",
        MetricInfo(
            "", "1", "none", "Q12", "spectral mass in one of equal bins from low to high", tabulated=False
        ),
    ),
)


def metric_info(name: str) -> MetricInfo:
    """The registry entry of ``name``; Q2 block and Q12 bin metrics by prefix; an unregistered name gets
    unit "?"."""
    if name in METRICS:
        return METRICS[name]
    for prefix, template in _PREFIXED:
        if name.startswith(prefix):
            return MetricInfo(
                name,
                template.unit,
                template.better,
                template.quantity,
                template.description,
                tabulated=template.tabulated,
            )
    return MetricInfo(name, "?", "none", "?", "")


def unit_text(unit: str) -> str:
    """A unit as printed: "dimensionless" for ``1``, else the unit itself."""
    return "dimensionless" if unit == "1" else unit


def axis_label(name: str, text: str | None = None) -> str:
    """A plot axis label: ``text`` (default: the metric's symbol, else its description) and its unit."""
    info = metric_info(name)
    unit = unit_text(info.unit).replace("^2", "$^2$")
    return f"{text or info.symbol or info.description} ({unit})"


def column_label(name: str) -> str:
    """A table column header: the metric's name and its unit in brackets."""
    return f"{name} [{unit_text(metric_info(name).unit)}]"


def quantity_metrics(quantity: str, names: list[str]) -> list[str]:
    """Those of ``names`` that belong to ``quantity`` (Q1..Q12), in the given order."""
    return [name for name in names if metric_info(name).quantity == quantity]
