"""The command line's exit codes and the names its subcommands share.

Exit codes: 0 ok, 1 a verdict expected to hold (V1-V5) is not supported under `--strict`, a
compared metric regressed or a replayed task differs, 2 bad input (one line on stderr, no
traceback), 3 some task raised or timed out, 130 interrupted (Ctrl-C), 141 the output pipe was
closed (`| head`), quietly. A diverged GD run is an outcome, not a failure.
"""

from __future__ import annotations

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PIPE_CLOSED",
    "EXIT_STRICT",
    "EXIT_TASK_FAILED",
    "EXPECTED_TO_HOLD",
    "LISTABLE",
    "REPORT_FORMATS",
]

EXIT_OK, EXIT_STRICT, EXIT_BAD_INPUT, EXIT_TASK_FAILED = 0, 1, 2, 3
EXIT_INTERRUPTED, EXIT_PIPE_CLOSED = 130, 141
EXPECTED_TO_HOLD = ("V1", "V2", "V3", "V4", "V5")
"""Verdicts whose "not supported" makes `run --strict` exit 1."""
REPORT_FORMATS = {
    "md": "report.md",
    "html": "report.html",
    "json": "report.json",
    "csv": "results.csv",
    "latex": "verdicts.tex",
}
"""`rscbench report --format` choices and the report file each prints."""
LISTABLE = ("suites", "tasks", "datasets", "activations", "losses", "metrics")
"""What `rscbench list` can list."""
