"""What each task field means and its unit, in one line each: the help of `rscbench measure`'s flags
and of docs/suites.md's field table. A test checks that every field of the spec has its line."""

from __future__ import annotations

from rscbench.run.specs import QUANTITY_CHOICES

__all__ = ["FIELD_HELP"]

FIELD_HELP: dict[str, str] = {
    "arch": "the network: paper_mlp (the paper's MLP) or a factory module:function of your own",
    "width": "hidden units per layer, m (neurons)",
    "depth": "hidden layers, L (layers; the head v comes after them)",
    "activation": "the hidden layers' activation (`rscbench list activations`)",
    "sigma1": "scale of the first layer's initialization, sigma_1 (dimensionless)",
    "scale_input": "divide the first layer's pre-activation by sqrt(d), as the paper does",
    "dataset": "the training set: sphere, digits, breast_cancer, mnist1d or npz:PATH (see `list datasets`)",
    "n": "training examples used (rows)",
    "d": "input dimension (features; free for generated datasets only)",
    "dataset_seed": "seed of the dataset's own random draws (an integer >= 0)",
    "targets": "which targets the dataset gives (e.g. teacher or random labels for sphere)",
    "loss": "training loss: square (no 1/2), logistic (labels +-1) or cross_entropy (classes)",
    "quantities": f"what to measure, by code or name: {QUANTITY_CHOICES}",
    "probes": "inputs (rows of the data) at which Q1's predictor-Hessian norm is measured (count)",
    "kappa": "Q5's cone: the smallest |cosine| between a direction and g_bar (dimensionless, in (0, 1])",
    "rho2": "Q5's ball: the radius around theta_t (parameter units) of Q7's secant steps and Q8",
    "tol": "relative tolerance of every Lanczos eigenvalue estimate (dimensionless, in (0, 0.1])",
    "secant_samples": "Q7: directions sampled inside the cone, and as many outside (count)",
    "gd_steps": "Q9: training step budget of the optimizer (steps; 0: measure at initialization only)",
    "omega": "Q9: gd's step size as a fraction of 1/beta_hat, eta = omega / beta_hat (in (0, 2))",
    "target_ratio": "Q9: training stops once the loss is at most this fraction of the initial loss",
    "beta_every": "Q9: steps between re-measurements of beta_hat (the loss Hessian's norm) and sharpness",
    "rsc_every": "Q9: steps between training checkpoints measuring Q1, Q4, Q6, Q8 and Q10",
    "trace_products": "Q11: Hessian-vector products of the Hutch++ trace estimate (count, >= 5)",
    "density_vectors": "Q12: random starts of the stochastic Lanczos quadrature (count)",
    "density_steps": "Q12: Lanczos steps per start (steps; moments up to 2 steps - 1 are exact per start)",
    "optimizer": "Q9: gd (the theorem's full-batch GD, eta = omega / beta_hat), sgd, momentum or adam",
    "lr": "Q9: learning rate of sgd, momentum and adam (parameter units per gradient unit; unset for gd)",
    "batch_size": "Q9: rows per mini-batch of sgd, momentum and adam (rows; unset: the full batch)",
    "lr_schedule": "Q9: constant, step (x0.1 at 50% and 75% of gd_steps) or cosine (to 0 at gd_steps)",
    "momentum": "Q9: heavy-ball coefficient of momentum, beta1 of adam (in [0, 1); default 0.9)",
    "seed": "seed of the initialization and of every random draw of the measurement (integer >= 0)",
    "device": "where the task runs: cpu or cuda",
    "dtype": "floating-point precision of the model and data: float32 or float64",
}
"""One line per flat task field (rscbench.run.specs.flat_fields): what it means, in what unit."""
