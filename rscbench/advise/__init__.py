"""Where the regime starts for one model family: `advise` runs (or reuses) the smallest width sweep
that answers and returns m* with its CI, the observed crossing, the theorem's own threshold, c_H,
the infinite-width constants and the regime label (docs/science.md, "Where the regime starts")."""

from rscbench.advise.advice import DEFAULT_STORE, Advice, advise
from rscbench.advise.constants import InfiniteWidth
from rscbench.advise.findings import EXTRAPOLATED, OBSERVED, UNDETERMINED, SweepAnswer, WidthFinding
from rscbench.advise.query import AdviceQuery

__all__ = [
    "DEFAULT_STORE",
    "EXTRAPOLATED",
    "OBSERVED",
    "UNDETERMINED",
    "Advice",
    "AdviceQuery",
    "InfiniteWidth",
    "SweepAnswer",
    "WidthFinding",
    "advise",
]
