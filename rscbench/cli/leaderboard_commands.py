"""`rscbench leaderboard` and `publish`: show, add to and build the leaderboard, and write the static site."""

from __future__ import annotations

import argparse
import sys

from rscbench.cli.codes import EXIT_OK, EXIT_TASK_FAILED
from rscbench.errors import InvalidArgumentError, RscbenchError
from rscbench.leaderboard.build import SCORES_FILE, add_entry, build_leaderboard, read_scores
from rscbench.leaderboard.tables import leaderboard_markdown
from rscbench.site.publish import publish_site

__all__ = ["leaderboard_command", "publish_command"]


def leaderboard_command(args: argparse.Namespace) -> int:
    """Show the leaderboard, validate and add an entry, or build it (run what is missing, score)."""
    if args.action == "add":
        if not args.entry:
            raise RscbenchError("invalid `leaderboard add`: an entry .toml file is required")
        target = add_entry(args.entry, args.dir, suite=args.suite)
        print(f"entry {target.stem} is valid and stored as {target}; `rscbench leaderboard build` scores it")
        return EXIT_OK
    if args.entry:
        raise InvalidArgumentError("entry", args.entry, "only with `leaderboard add`")
    if args.action == "show":
        scores = read_scores(args.dir)
        print(f"leaderboard {scores['version']}\n\n" + leaderboard_markdown(scores["entries"]), end="")
        return EXIT_OK
    build = build_leaderboard(args.dir, suite=args.suite, workers=args.workers, timeout_seconds=args.timeout)
    print(leaderboard_markdown([score.to_dict() for score in build.scores]))
    summary = build.summary
    print(
        f"leaderboard {build.version}: {len(build.scores)} entries, {summary.total} tasks "
        f"({summary.skipped} already stored, {summary.total - summary.skipped} run "
        f"in {summary.wall_seconds:.1f} s); "
        f"statuses {summary.statuses}\nscores: {build.folder / SCORES_FILE}"
    )
    return EXIT_TASK_FAILED if summary.failures else EXIT_OK


def publish_command(args: argparse.Namespace) -> int:
    """Write the static results site from the reports and the built leaderboard."""
    site = publish_site(args.out, reports_root=args.reports, leaderboard_folder=args.leaderboard)
    for skipped in site.skipped:
        print(f"rscbench: publish: skipped {skipped}", file=sys.stderr)
    print(f"site: {site.index} ({len(site.pages)} pages; open it from disk or serve {site.folder})")
    return EXIT_OK
