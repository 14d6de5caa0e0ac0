"""The networks measured: the paper's feed-forward network, its activations, and users' own factories.

``paper_mlp`` builds the network of the paper (no biases, 1/sqrt(fan-in) scaling, init sigma0 from
sigma1); ``ACTIVATIONS`` registers the activations with the constants the theory needs; a user's
model enters through a factory ``module:function`` (``rscbench.models.factories``).
"""

from rscbench.models.activations import ACTIVATIONS, Activation, get_activation
from rscbench.models.paper_net import PaperMLP, init_std, paper_mlp

__all__ = ["ACTIVATIONS", "Activation", "PaperMLP", "get_activation", "init_std", "paper_mlp"]
