"""Exact curvature kernels that use the structure of the paper's network (docs/kernels.md).

``loss_subspace``: the subspace S of parameter space that holds the range of the loss Hessian H,
its Gauss-Newton part G and its residual part R, with an orthonormal basis in which products with
H, G and R cost less than one gradient at width m >> n. Other structured paths for the same
network (a per-neuron split of R at depth 1) sit beside it here.
"""

from rscbench.measure.structured.loss_subspace import (
    STRUCTURED_MAX_FRACTION,
    LossSubspace,
    SubspaceDims,
    loss_subspace_dims,
)

__all__ = ["STRUCTURED_MAX_FRACTION", "LossSubspace", "SubspaceDims", "loss_subspace_dims"]
