"""The cone of restricted strong convexity and the exact minimum of a quadratic form on it (Q5, Q6).

The restricted set at theta_t is the cone Q_kappa = {u : |cos(u, g)| >= kappa} around a direction
g. ``cone_lower_bound`` is the closed-form lower bound of u^T H u on the cone from three numbers
of H; ``cone_minimum`` the exact minimum of a small dense quadratic form on it (the projected
problem of the upper bound).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from rscbench.errors import InvalidArgumentError

__all__ = ["check_kappa", "cone_lower_bound", "cone_minimum"]


def check_kappa(kappa: float) -> None:
    """Raise InvalidArgumentError unless 0 < kappa <= 1 (the cone's half-width as a cosine)."""
    if not (isinstance(kappa, (int, float)) and 0 < kappa <= 1):
        raise InvalidArgumentError("kappa", kappa, "a number in (0, 1]")


def cone_lower_bound(a: float, b_norm: float, mu: float, kappa: float) -> float:
    """min over c in [kappa, 1] of c^2 a - 2 c sqrt(1 - c^2) ||b|| + (1 - c^2) mu, in closed form.

    With u = c u_g + s w (w unit, orthogonal to u_g, s = sqrt(1 - c^2)), u^T H u >= that expression
    whenever a = u_g^T H u_g, b = P H u_g and mu <= lambda_min(P H P) on the complement. Writing
    c = cos t, the expression is (a + mu)/2 + R cos(2t + phi) with R = sqrt(((a - mu)/2)^2 + ||b||^2),
    so its minimum over t in [0, arccos kappa] is at an end or at 2t + phi = pi.
    """
    check_kappa(kappa)
    t_max = math.acos(min(1.0, kappa))

    def value(t: float) -> float:
        return a * math.cos(t) ** 2 - b_norm * math.sin(2 * t) + mu * math.sin(t) ** 2

    candidates = [value(0.0), value(t_max)]
    phase = math.atan2(b_norm, (a - mu) / 2)
    t_star = (math.pi - phase) / 2
    if 0.0 <= t_star <= t_max:
        candidates.append((a + mu) / 2 - math.hypot((a - mu) / 2, b_norm))
    return min(candidates)


def cone_minimum(matrix: np.ndarray, kappa: float) -> tuple[float, np.ndarray]:
    """Exact min of z^T M z over unit z with |z_0| >= kappa, and a minimizer z (dense, float64).

    If the bottom eigenspace of M holds a feasible vector, the answer is lambda_min(M). Otherwise
    the minimum lies on the boundary |z_0| = kappa, where it is the trust-region problem
    min_w kappa^2 M_00 + 2 kappa c^T w + w^T T w over ||w|| = sqrt(1 - kappa^2) (c = M[1:, 0],
    T = M[1:, 1:]), solved by the secular equation (with the hard case handled).
    """
    check_kappa(kappa)
    matrix = np.asarray(matrix, dtype=np.float64)
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    scale = max(1.0, float(np.abs(eigenvalues).max()))
    bottom = eigenvectors[:, eigenvalues <= eigenvalues[0] + 1e-12 * scale]
    axis_in_bottom = bottom @ bottom[0]
    if np.linalg.norm(axis_in_bottom) >= kappa:
        return float(eigenvalues[0]), axis_in_bottom / np.linalg.norm(axis_in_bottom)
    radius = math.sqrt(max(0.0, 1.0 - kappa**2))
    if radius == 0.0:
        z = np.zeros(matrix.shape[0])
        z[0] = 1.0
        return float(matrix[0, 0]), z
    coupling = kappa * matrix[1:, 0]
    inner_values, inner_vectors = np.linalg.eigh(matrix[1:, 1:])
    gamma = inner_vectors.T @ coupling
    lowest = inner_values[0]
    degenerate = inner_values <= lowest + 1e-12 * scale
    coefficients = np.zeros_like(gamma)
    coefficients[~degenerate] = -gamma[~degenerate] / (inner_values[~degenerate] - lowest)
    slack = radius**2 - float(coefficients @ coefficients)
    if np.linalg.norm(gamma[degenerate]) <= 1e-12 * max(1.0, float(np.linalg.norm(gamma))) and slack >= 0:
        # Hard case: the boundary minimizer has a free component in T's bottom eigenspace.
        coefficients[np.argmax(degenerate)] = math.sqrt(slack)
    else:
        # Secular equation sum gamma_i^2 / (lambda_i - shift)^2 = radius^2 for shift < lambda_min(T);
        # its left side increases with shift and is <= radius^2 at lowest - ||gamma|| / radius.
        def secular(shift: float) -> float:
            return float(np.sum(gamma**2 / (inner_values - shift) ** 2)) - radius**2

        left = lowest - float(np.linalg.norm(gamma)) / radius
        step = (lowest - left) / 2
        while secular(lowest - step) <= 0 and step > np.finfo(float).tiny:
            step /= 2
        shift = brentq(secular, left, lowest - step, xtol=1e-300, rtol=4 * np.finfo(float).eps)
        coefficients = -gamma / (inner_values - shift)
    z = np.concatenate([[kappa], inner_vectors @ coefficients])
    return float(z @ matrix @ z), z
