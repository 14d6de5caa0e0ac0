"""Registry of every stored metric: its unit, which direction is better, and what it is."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["METRICS", "MetricInfo", "metric_info"]


@dataclass(frozen=True)
class MetricInfo:
    """``unit`` of a metric (``1`` when dimensionless), ``better`` ("lower", "higher" or "none")."""

    name: str
    unit: str
    better: str
    description: str


_CURVATURE = "loss/param^2"
METRICS: dict[str, MetricInfo] = {
    m.name: m
    for m in (
        MetricInfo("loss", "loss", "lower", "training loss at the measured point"),
        MetricInfo(
            "memory_estimate_bytes", "bytes", "none", "the task's estimated peak memory (measure.memory)"
        ),
        MetricInfo("predictor_hessian_max", "1", "lower", "Q1: max over probes of ||Hessian of f||_2"),
        MetricInfo("predictor_hessian_mean", "1", "lower", "Q1: mean over probes of ||Hessian of f||_2"),
        MetricInfo("predictor_hessian_scaled_max", "1", "none", "Q1: sqrt(m) x max probe norm (c_H)"),
        MetricInfo("predictor_hessian_converged_fraction", "1", "higher", "Q1: probes that met tol"),
        MetricInfo("loss_hessian_lambda_max", _CURVATURE, "none", "Q3: top eigenvalue of the loss Hessian"),
        MetricInfo(
            "loss_hessian_lambda_min", _CURVATURE, "none", "Q3: bottom eigenvalue of the loss Hessian"
        ),
        MetricInfo("loss_hessian_norm", _CURVATURE, "lower", "Q3: beta_hat, the loss Hessian's norm"),
        MetricInfo("g_bar_sqnorm", "1", "higher", "Q4: ||average predictor gradient||^2"),
        MetricInfo("per_sample_grad_norm_max", "1", "none", "Q4: max_i ||grad f(x_i)||"),
        MetricInfo("rsc_lower", _CURVATURE, "higher", "Q6: certified lower bound of the cone curvature"),
        MetricInfo("rsc_upper", _CURVATURE, "none", "Q6: upper bound of the cone curvature"),
        MetricInfo("rsc_lower_gn", _CURVATURE, "higher", "Q6: Gauss-Newton lower bound"),
        MetricInfo("rsc_lower_generic", _CURVATURE, "higher", "Q6: generic lower bound"),
        MetricInfo("rsc_lambda_min_R", _CURVATURE, "higher", "Q6: lambda_min of the residual curvature R"),
        MetricInfo("secant_min_inside", _CURVATURE, "higher", "Q7: min secant curvature inside the cone"),
        MetricInfo("secant_min_outside", _CURVATURE, "none", "Q7: min secant curvature outside (control)"),
        MetricInfo("theorem_alpha", _CURVATURE, "higher", "Q8: Theorem 5.1's alpha_t, measured constants"),
        MetricInfo("theorem_width_threshold", "neurons", "lower", "Q8: width above which alpha_t > 0"),
        MetricInfo("ntk_lambda_min", "1", "higher", "Q10: lambda_min of the NTK Gram (null under the floor)"),
        MetricInfo("ntk_lambda_max", "1", "none", "Q10: lambda_max of the NTK Gram"),
        MetricInfo("pl_constant", "1/param^2", "higher", "Q10: PL constant 4 lambda_min(K) / n"),
        MetricInfo("certificate_ratio", "1", "lower", "V7: n ||g_bar||^2 / lambda_min(K)"),
        MetricInfo(
            "gd_steps_to_target", "steps", "lower", "Q9: steps to reach target_ratio (censored: null)"
        ),
        MetricInfo("gd_geometric_rate", "1/step", "lower", "Q9: exp(slope) of log loss over steps"),
        MetricInfo("gd_rate_r2", "1", "higher", "Q9: R^2 of the log-loss fit"),
        MetricInfo("gd_predicted_rate", "1/step", "none", "Q9: 1 - omega(2 - omega) alpha / beta"),
        MetricInfo(
            "gd_rsc_certified_fraction", "1", "higher", "Q6 along GD: certified checkpoints after t=0"
        ),
        MetricInfo("gd_ntk_drift", "1", "none", "Q10: ||K_T - K_0||_F / ||K_0||_F"),
        MetricInfo("gd_distance_final", "param", "none", "Q9: ||theta_T - theta_0||"),
        MetricInfo("gd_sharpness_max", "1", "lower", "Q9: max eta lambda_max(H) (2 = edge of stability)"),
        MetricInfo("train_steps", "steps", "none", "monitor: optimizer steps recorded"),
        MetricInfo("train_checkpoints", "1", "none", "monitor: checkpoints measured"),
        MetricInfo("train_final_loss", "loss", "lower", "monitor: loss on the monitoring set at the end"),
        MetricInfo("train_loss_ratio", "1", "lower", "monitor: final / first monitoring-set loss"),
        MetricInfo(
            "train_rsc_certified_fraction", "1", "higher", "monitor: certified checkpoints after t=0 (Q6)"
        ),
        MetricInfo("train_sharpness_max", "1", "lower", "monitor: max sharpness (2 = edge of stability)"),
        MetricInfo("train_sharpness_final", "1", "none", "monitor: sharpness at the last checkpoint"),
        MetricInfo("train_ntk_drift", "1", "none", "monitor: ||K_T - K_0||_F / ||K_0||_F (Q10)"),
        MetricInfo("train_distance_final", "param", "none", "monitor: ||theta_T - theta_0||"),
    )
}


def metric_info(name: str) -> MetricInfo:
    """The registry entry of ``name``; block norms and other unregistered metrics get unit "?"."""
    if name in METRICS:
        return METRICS[name]
    if name.startswith("block_norm_"):
        return MetricInfo(name, "1", "none", "Q2: spectral norm of a predictor-Hessian block")
    return MetricInfo(name, "?", "none", "")
