"""One advise question, validated: the model family (activation, depth, sigma1), its data, kappa and
loss, the widths the sweep may measure and its time budget, and the init-only task of each (width,
seed) the sweep runs (docs/science.md, "Where the regime starts")."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rscbench.analysis.verdicts.crossing import V8_LARGEST_FIT_WIDTH
from rscbench.data import dataset_spec
from rscbench.errors import InvalidArgumentError, require_integer
from rscbench.models.activations import ACTIVATIONS
from rscbench.run.specs import DataSpec, ModelSpec, ProtocolSpec, TaskSpec
from rscbench.validation import MAX_SECONDS, require_number

__all__ = [
    "ADVISE_LOSSES",
    "ADVISE_QUANTITIES",
    "ADVISE_SEEDS",
    "DEFAULT_BUDGET_SECONDS",
    "DEFAULT_MAX_WIDTH",
    "DEFAULT_MIN_WIDTH",
    "AdviceQuery",
]

ADVISE_QUANTITIES = ("Q1", "Q4", "Q6", "Q8")
"""What each sweep task measures at init: c_H (Q1), ||g_bar||^2 (Q4), the certificate (Q6) and the
theorem's own alpha and width threshold (Q8)."""
ADVISE_SEEDS = (0, 1, 2)
"""The seeds of every width: the observed crossing needs the certificate in 2 of these 3."""
ADVISE_LOSSES = ("square",)
"""Losses advise answers for: the certificate's Gauss-Newton term 2 kappa^2 ||g_bar||^2 and the
theorem's threshold are those of the square loss."""
DEFAULT_MIN_WIDTH = 2**8
"""The sweep's first width; it doubles from there."""
DEFAULT_MAX_WIDTH = 2**20
"""The largest width a sweep may measure by default (what the depth-1 certificate reaches on a CPU)."""
LARGEST_WIDTH = 2**40
"""The largest width a query may name (far beyond any machine: a bound, not a target)."""
DEFAULT_BUDGET_SECONDS = 90.0
"""Compute time a sweep may take by default: the measured and estimated seconds of its tasks."""


@dataclass(frozen=True)
class AdviceQuery:
    """The question: from which width m does the Q6 certificate hold at init for this model family?

    ``n`` and ``d`` None take the dataset's defaults (rscbench.data.DATASETS; d only where the dataset
    lets it be chosen), written out so that the sweep's tasks have the ids a suite writing the same
    values gives. Widths double from ``min_width``; those <= V8_LARGEST_FIT_WIDTH always run (they give
    the extrapolated m*), larger ones up to ``max_width`` while the sweep's compute time stays within
    ``budget_seconds``. Every field is validated on construction: an InvalidArgumentError names the
    field (as the command-line flag spells it, without the dashes), the bad value and what is allowed.
    """

    activation: str
    depth: int
    sigma1: float
    dataset: str = "sphere"
    n: int | None = None
    d: int | None = None
    kappa: float = 0.5
    loss: str = "square"
    min_width: int = DEFAULT_MIN_WIDTH
    max_width: int = DEFAULT_MAX_WIDTH
    budget_seconds: float = DEFAULT_BUDGET_SECONDS

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise InvalidArgumentError("activation", self.activation, "one of " + ", ".join(ACTIVATIONS))
        require_integer("depth", self.depth, 1)
        _positive("sigma1", self.sigma1)
        object.__setattr__(self, "sigma1", float(self.sigma1))  # 1 and 1.0: one task id
        spec = dataset_spec(self.dataset)
        for name in ("n", "d"):
            if getattr(self, name) is not None:
                require_integer(name, getattr(self, name), 1)
        if self.d is not None and not spec.free_d:
            raise InvalidArgumentError("d", self.d, f"unset for {spec.usage} (its native dimension)")
        object.__setattr__(self, "n", spec.default_n if self.n is None else self.n)
        object.__setattr__(self, "d", (spec.default_d if spec.free_d else None) if self.d is None else self.d)
        if (
            isinstance(self.kappa, bool)
            or not isinstance(self.kappa, (int, float))
            or not 0 < self.kappa <= 1
        ):
            raise InvalidArgumentError("kappa", self.kappa, "a number in (0, 1]")
        object.__setattr__(self, "kappa", float(self.kappa))
        if self.loss not in ADVISE_LOSSES:
            raise InvalidArgumentError(
                "loss",
                self.loss,
                " or ".join(ADVISE_LOSSES) + " (the certificate's terms and the theorem's "
                "threshold are those of the square loss)",
            )
        require_integer("min_width", self.min_width, 1, LARGEST_WIDTH)
        require_integer("max_width", self.max_width, self.min_width, LARGEST_WIDTH)
        require_number("budget_seconds", self.budget_seconds, greater_than=0, at_most=MAX_SECONDS)
        self.task(self.min_width, ADVISE_SEEDS[0])  # whatever the spec refuses, refused here

    @property
    def widths(self) -> tuple[int, ...]:
        """Every width the sweep may measure: ``min_width`` doubling up to ``max_width``."""
        count = int(math.log2(self.max_width // self.min_width)) + 1
        return tuple(self.min_width * 2**k for k in range(count))

    @property
    def fit_widths(self) -> tuple[int, ...]:
        """The widths that always run: those <= V8_LARGEST_FIT_WIDTH (m* is fitted on them), and at
        least the first width."""
        inside = tuple(w for w in self.widths if w <= V8_LARGEST_FIT_WIDTH)
        return inside or self.widths[:1]

    def task(self, width: int, seed: int) -> TaskSpec:
        """The init-only task (ADVISE_QUANTITIES, gd_steps 0) of this family at ``width`` and ``seed``."""
        return TaskSpec(
            model=ModelSpec(width=width, depth=self.depth, activation=self.activation, sigma1=self.sigma1),
            data=DataSpec(dataset=self.dataset, n=self.n, d=self.d),
            loss=self.loss,
            protocol=ProtocolSpec(quantities=ADVISE_QUANTITIES, kappa=self.kappa, gd_steps=0),
            seed=seed,
        )

    def tasks(self, width: int) -> list[TaskSpec]:
        """The tasks of one width, one per seed of ADVISE_SEEDS."""
        return [self.task(width, seed) for seed in ADVISE_SEEDS]


def _positive(name: str, value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (math.isfinite(value) and value > 0)
    ):
        raise InvalidArgumentError(name, value, "a finite number > 0")
