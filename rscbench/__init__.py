"""rscbench: measure the Hessian scaling, restricted strong convexity and GD convergence of deep nets."""

__version__ = "0.1.0"
