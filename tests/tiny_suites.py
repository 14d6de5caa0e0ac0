"""Helpers of the leaderboard and publish tests: tiny suites (seconds, not the real suite) and entries."""

import shutil
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
ENTRIES = ("paper-tanh-sigma0.5", "paper-relu-sigma2.0", "resmlp-tanh")
TINY_SUITE = """
name = "tiny-leaderboard"
[defaults]
n = 10
d = 4
probes = 2
seed = [0, 1]
[[experiment]]
name = "width"
[experiment.grid]
width = [8, 16, 32]
[experiment.fixed]
depth = 2
quantities = ["Q1", "Q4"]
[[experiment]]
name = "depth"
[experiment.grid]
depth = [1, 2, 3, 4]
[experiment.fixed]
width = 8
quantities = ["Q1"]
[[experiment]]
name = "gd"
[experiment.fixed]
width = 8
depth = 2
gd_steps = 12
rsc_every = 6
beta_every = 6
target_ratio = 0.5
quantities = ["Q1", "Q4", "Q6", "Q10"]
"""
TINY_REPORT_SUITE = """
name = "tiny"
[defaults]
n = 10
d = 4
probes = 2
seed = [0, 1]
[[experiment]]
name = "width"
[experiment.grid]
width = [8, 16, 32]
[experiment.fixed]
quantities = ["Q1", "Q4"]
"""

TWO_EXPERIMENT_SUITE = """
name = "pick"
[defaults]
n = 8
d = 4
probes = 2
quantities = ["Q1"]
seed = [0, 1]
[[experiment]]
name = "width"
[experiment.grid]
width = [8, 16, 32]
[[experiment]]
name = "sigma"
[experiment.grid]
sigma1 = [0.5, 2.0]
[experiment.fixed]
width = 8
depth = 3
"""
"""Ten one-quantity tasks in two experiments, for selecting parts of a suite."""


def tiny_suite(folder: Path, text: str = TINY_SUITE) -> str:
    """Write a suite file into ``folder`` and return its path."""
    path = folder / "tiny-leaderboard.toml"
    path.write_text(text)
    return str(path)


def copy_entries(folder: Path, names=ENTRIES) -> None:
    """Copy shipped entries into ``folder``/entries."""
    (folder / "entries").mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(
            REPOSITORY / "leaderboard" / "entries" / f"{name}.toml", folder / "entries" / f"{name}.toml"
        )
