"""The rscbench command line (docs/cli.md): run, list, measure, replay, report, compare, leaderboard,
publish. ``main`` is the `rscbench` entry point; each subcommand lives in a module of its own."""

from rscbench.cli.main import main

__all__ = ["main"]
