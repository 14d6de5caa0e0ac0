"""Compare two commits with asv and fail, CI-style, only on a real regression.

Usage: python benchmarks/asv_compare.py BASE HEAD [--factor 1.5] [--track-factor 1.01]
       [--bench REGEX] [--machine NAME] [--config asv.conf.json] [--rounds 2] [--no-confirm]

asv commands, all printed in full as they run:

1. ``asv continuous --factor FACTOR --interleave-rounds BASE HEAD``: benchmarks both commits (the
   results are saved), rounds interleaved between the commits so that a slow spell of the machine
   hits both; asv flags a benchmark only when the ratio HEAD / BASE exceeds FACTOR *and* its
   significance test on the recorded samples says the two differ. FACTOR 1.5 keeps machine noise
   out on a shared two-core machine (identical code measured up to 1.56x apart with asv's default
   1.1 there) and still catches a 2x slowdown.
2. Only when step 1 flags ``time_``/``peakmem_`` benchmarks: the same ``asv continuous`` again on
   just those benchmarks. A timing regression counts only when both runs flag it: a load spike on
   a shared machine (measured: 2.02x on a benchmark of identical code) rarely hits the same
   benchmark twice, a real slowdown always does.
3. ``asv compare --factor TRACK_FACTOR --split BASE HEAD``: the table of every benchmark. The
   ``track_`` benchmarks (the science and device memory) are deterministic for a given machine
   and seed, so they are judged here at the tight TRACK_FACTOR; ``time_`` and ``peakmem_`` rows
   are judged by steps 1 and 2 alone. A benchmark that worked on BASE and fails on HEAD is a regression.

Exit status: 0 no regression; 1 a regression (listed at the end); 2 the comparison could not be
made (asv error, unknown commit, or benchmarks failing on both commits).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_FACTOR = 1.5
DEFAULT_TRACK_FACTOR = 1.01
DEFAULT_ROUNDS = 2
WORSENED_LINE = "PERFORMANCE DECREASED."
COMPARED_LINES = ("BENCHMARKS NOT SIGNIFICANTLY CHANGED.", "SOME BENCHMARKS HAVE CHANGED SIGNIFICANTLY.")
"""asv continuous prints one of these once it has compared (never after "No benchmarks selected")."""
MARKS = frozenset({"", "+", "-", "!", "*", "x"})


@dataclass(frozen=True)
class Row:
    """One row of an asv comparison table: change mark, both values, ratio and benchmark name."""

    mark: str
    before: str
    after: str
    ratio: str
    name: str

    @property
    def is_track(self) -> bool:
        """Whether the row is a ``track_`` benchmark (the name's last dotted part starts with it)."""
        return self.name.split("(", 1)[0].rsplit(".", 1)[-1].startswith("track_")


@dataclass(frozen=True)
class Verdict:
    """The outcome: exit ``status`` (0, 1 or 2), the regressed rows and the reasons, one per line."""

    status: int
    regressions: tuple[Row, ...]
    reasons: tuple[str, ...]


def parse_table(text: str) -> list[Row]:
    """Every data row of the comparison tables (asv's github-style tables) in ``text``."""
    rows = []
    for line in text.splitlines():
        stripped = line.strip()
        if not (stripped.startswith("|") and stripped.endswith("|")):
            continue
        cells = [cell.strip() for cell in stripped[1:-1].split("|")]
        if len(cells) != 5 or cells[0] not in MARKS:
            continue
        rows.append(Row(*cells))
    return rows


def flagged_timings(continuous_output: str) -> list[Row]:
    """The ``time_``/``peakmem_`` rows that asv continuous flagged (worse, or newly failing)."""
    return [row for row in parse_table(continuous_output) if row.mark in {"+", "!"} and not row.is_track]


def judge(
    continuous_status: int,
    continuous_output: str,
    compare_status: int,
    compare_output: str,
    confirmation_output: str | None = None,
) -> Verdict:
    """Combine the asv runs into one verdict (see the module docstring for the rules).

    ``confirmation_output`` is the output of the second asv continuous on the flagged timings, or
    None when there was none (nothing flagged, or confirmation turned off). A confirmation run that
    compared nothing (no verdict line) dismisses nothing.
    """
    compared = parse_table(compare_output)
    broken = [row for row in compared if row.mark == "!"]
    science = [row for row in compared if row.is_track and row.mark == "+"]
    slower = flagged_timings(continuous_output)
    worsened = WORSENED_LINE in continuous_output
    if confirmation_output is not None and any(line in confirmation_output for line in COMPARED_LINES):
        again = {row.name for row in flagged_timings(confirmation_output)}
        slower = [row for row in slower if row.name in again]
        worsened = False
    regressions = tuple(dict.fromkeys([*slower, *science, *broken]))
    reasons = [
        f"{row.mark} {row.name}: {row.before} -> {row.after} (ratio {row.ratio})" for row in regressions
    ]
    if worsened and not regressions:
        reasons.append("asv continuous reported a decrease (see its table above)")
    if compare_status != 0 or not compared:
        return Verdict(
            2, regressions, (*reasons, f"asv compare failed or printed no table (exit {compare_status})")
        )
    if regressions or worsened:
        return Verdict(1, regressions, tuple(reasons))
    ran = continuous_status == 0 or (continuous_status == 1 and WORSENED_LINE in continuous_output)
    if not ran:
        both_failed = [row.name for row in compared if row.before == "failed" and row.after == "failed"]
        detail = f"; failing on both commits: {', '.join(both_failed)}" if both_failed else ""
        return Verdict(2, (), (f"asv continuous exited {continuous_status} without a regression{detail}",))
    return Verdict(0, (), ())


def _run(command: list[str]) -> tuple[int, str]:
    """Run ``command``, echoing its output as it comes; returns the exit status and the output."""
    print("+ " + " ".join(command), flush=True)
    lines = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        for line in process.stdout:
            print(line, end="", flush=True)
            lines.append(line)
    return process.returncode, "".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run asv continuous and asv compare on BASE and HEAD; print the verdict; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the reference commit (any git revision)")
    parser.add_argument("head", help="the commit under test")
    parser.add_argument("--factor", type=float, default=DEFAULT_FACTOR, help="time_/peakmem_ ratio flagged")
    parser.add_argument(
        "--track-factor", type=float, default=DEFAULT_TRACK_FACTOR, help="track_ ratio flagged"
    )
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="interleaved rounds per benchmark")
    parser.add_argument("--bench", "-b", action="append", default=[], help="asv benchmark regex (repeatable)")
    parser.add_argument("--machine", help="asv machine name (needed when the results hold several)")
    parser.add_argument("--config", default="asv.conf.json", help="asv configuration file")
    parser.add_argument(
        "--no-confirm", dest="confirm", action="store_false", help="trust one asv continuous run for timings"
    )
    args = parser.parse_args(argv)
    if args.factor <= 1 or args.track_factor <= 1:
        parser.error("--factor and --track-factor must be > 1 (ratios HEAD / BASE)")
    if args.rounds < 1:
        parser.error("--rounds must be >= 1")

    asv = [sys.executable, "-m", "asv"]
    common = ["--config", args.config] + (["--machine", args.machine] if args.machine else [])
    selection = [flag for regex in args.bench for flag in ("--bench", regex)]
    timing = ["--factor", str(args.factor), "--interleave-rounds", "--attribute", f"rounds={args.rounds}"]
    continuous = [*asv, "continuous", *common, *timing, "--show-stderr"]
    continuous_status, continuous_output = _run([*continuous, *selection, args.base, args.head])
    confirmation_output = None
    flagged = sorted({row.name for row in flagged_timings(continuous_output)})
    if flagged and args.confirm:
        # asv matches --bench against "name(param, ...)" for parametrized benchmarks, as the table names them
        regex = "^(" + "|".join(re.escape(name) for name in flagged) + ")$"
        _, confirmation_output = _run([*continuous, "--bench", regex, args.base, args.head])
    compare_status, compare_output = _run(
        [*asv, "compare", *common, "--factor", str(args.track_factor), "--split", args.base, args.head]
    )
    verdict = judge(continuous_status, continuous_output, compare_status, compare_output, confirmation_output)
    headline = {0: "NO REGRESSION", 1: "REGRESSION", 2: "COMPARISON FAILED"}[verdict.status]
    print(f"\nasv_compare: {headline} ({args.base} -> {args.head})")
    for reason in verdict.reasons:
        print(f"  {reason}")
    return verdict.status


if __name__ == "__main__":
    sys.exit(main())
