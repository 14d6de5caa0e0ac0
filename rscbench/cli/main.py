"""The `rscbench` command's entry point: parse the arguments, dispatch to the subcommand, and turn a
bad input into one line on stderr with exit code 2, Ctrl-C into one line and 130, and a closed
output pipe into a quiet exit 141."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from rscbench.cli.advise_command import advise_command
from rscbench.cli.codes import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_PIPE_CLOSED
from rscbench.cli.inspect_commands import list_command, measure_command, replay_command
from rscbench.cli.leaderboard_commands import leaderboard_command, publish_command
from rscbench.cli.parser import build_parser
from rscbench.cli.record_commands import ingest_command, merge_command, run_task_command
from rscbench.cli.report_commands import compare_command, report_command
from rscbench.cli.run_command import run_command
from rscbench.errors import RscbenchError

__all__ = ["main"]

HANDLERS = {
    "run": run_command,
    "run-task": run_task_command,
    "ingest": ingest_command,
    "merge": merge_command,
    "list": list_command,
    "measure": measure_command,
    "advise": advise_command,
    "compare": compare_command,
    "replay": replay_command,
    "report": report_command,
    "leaderboard": leaderboard_command,
    "publish": publish_command,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `rscbench` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        code = HANDLERS[args.command](args)
        sys.stdout.flush()  # inside the try: a reader that went away is noticed here, not at exit
        return code
    except RscbenchError as error:
        print(f"rscbench: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(
            "\nrscbench: interrupted; finished tasks are stored, rerun the command to resume", file=sys.stderr
        )
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader (e.g. `| head`) closed the pipe: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's last flush does not fail again
        return EXIT_PIPE_CLOSED
