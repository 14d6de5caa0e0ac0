"""The rscbench command line (DESIGN section 8): run, list, measure, replay, report, compare, leaderboard,
publish.

Exit codes: 0 ok, 1 a verdict expected to hold (V1-V5) is not supported under `--strict` or a
compared metric regressed, 2 bad input (one line on stderr, no traceback), 3 some task raised or
timed out. A diverged GD run is an
outcome, not a failure.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from rscbench import __version__
from rscbench.activations import ACTIVATIONS
from rscbench.compare import compare_reports, load_report
from rscbench.datasets import DATASETS, load_dataset
from rscbench.errors import InvalidArgumentError, RscbenchError, require_integer
from rscbench.leaderboard.build import SCORES_FILE, add_entry, build_leaderboard, read_scores
from rscbench.leaderboard.suite import LEADERBOARD_SUITE
from rscbench.leaderboard.tables import leaderboard_markdown
from rscbench.measure.losses import LOSSES
from rscbench.measure.memory import available_memory_bytes
from rscbench.metrics import METRICS
from rscbench.report import write_report
from rscbench.runner import EXECUTORS, execute_task, run_tasks
from rscbench.site.publish import publish_site
from rscbench.specs import DEVICES, DTYPES, QUANTITIES, TaskSpec, flat_fields, task_from_flat
from rscbench.store import ResultStore, TaskRecord
from rscbench.suites import load_suite, shipped_suites
from rscbench.tasks import estimate_memory
from rscbench.verdicts import NOT_SUPPORTED, judge, verdict_table

EXIT_OK, EXIT_STRICT, EXIT_BAD_INPUT, EXIT_TASK_FAILED = 0, 1, 2, 3
EXPECTED_TO_HOLD = ("V1", "V2", "V3", "V4", "V5")
STORE_NAME = "store.sqlite"
CHOICES = {
    "activation": list(ACTIVATIONS),
    "loss": list(LOSSES),
    "device": list(DEVICES),
    "dtype": list(DTYPES),
    "quantities": list(QUANTITIES),
}
REPORT_FORMATS = {
    "md": "report.md",
    "html": "report.html",
    "json": "report.json",
    "csv": "results.csv",
    "latex": "verdicts.tex",
}
LISTABLE = ("suites", "tasks", "datasets", "activations", "losses", "metrics")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one line and exit code 2, without the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def _field_type(spec_field: dataclasses.Field) -> Any:
    text = str(spec_field.type)
    if "int" in text and "str" not in text:
        return int
    if "float" in text:
        return float
    return str


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; choices come from the registries the library validates against."""
    parser = _Parser(
        prog="rscbench", description="Measure the RSC theory of deep networks with smooth activations."
    )
    parser.add_argument("--version", action="version", version=f"rscbench {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("run", help="run a suite (resumable) and print its results table")
    run.add_argument(
        "suite", help="a shipped suite (" + ", ".join(shipped_suites()) + ") or a suite .toml file"
    )
    run.add_argument("--device", choices=DEVICES, help="override every task's device")
    run.add_argument("--dtype", choices=DTYPES, help="override every task's dtype")
    run.add_argument("--workers", type=int, default=1, help="worker processes (default 1: in-process)")
    run.add_argument("--executor", choices=EXECUTORS, default="local")
    run.add_argument("--scheduler", help="Dask scheduler address, with --executor dask")
    run.add_argument("--out", help="run directory holding the store (default reports/<suite>/)")
    run.add_argument("--fresh", action="store_true", help="delete the run directory's store first")
    run.add_argument(
        "--strict", action="store_true", help="exit 1 when a verdict expected to hold (V1-V5) fails"
    )
    run.add_argument("--timeout", type=float, default=1800.0, help="seconds per task (default 1800)")
    run.add_argument("--dry-run", action="store_true", help="list the tasks and their sizes; run nothing")
    run.add_argument(
        "--memory-budget",
        type=_byte_size,
        help="memory each task may use, e.g. 8GiB or 512MiB (default: what the device has free, "
        "shared among --workers); a task whose estimate exceeds it is refused before the run starts",
    )

    listing = commands.add_parser(
        "list", help="list suites, a suite's tasks, datasets, activations, losses, metrics"
    )
    listing.add_argument("what", choices=LISTABLE)
    listing.add_argument("suite", nargs="?", help="the suite, with `list tasks`")

    report = commands.add_parser("report", help="re-render a run directory's report from its store")
    report.add_argument("run_dir", help="a run directory (holding store.sqlite and at least one report)")
    report.add_argument(
        "--format", choices=list(REPORT_FORMATS), default="md", help="what to print (default md)"
    )

    compare = commands.add_parser("compare", help="what changed between two reports; exit 1 on a regression")
    compare.add_argument("report_a", help="a report folder (or its report.json): the baseline")
    compare.add_argument("report_b", help="a report folder (or its report.json): the candidate")
    compare.add_argument(
        "--threshold", type=float, default=0.05, help="relative change to report (default 0.05)"
    )

    replay = commands.add_parser(
        "replay", help="rerun one stored task from its stored spec; print both; exit 1 if they differ"
    )
    replay.add_argument("task_id", help="the task's id (as in results.csv or `rscbench list tasks`)")
    replay.add_argument(
        "--store", help="a run directory or its store.sqlite (default: every reports/*/store.sqlite)"
    )

    measure = commands.add_parser(
        "measure", help="measure one task (every task field is a flag); JSON on stdout"
    )
    defaults = TaskSpec()
    for name, (section, spec_field) in flat_fields().items():
        default = getattr(getattr(defaults, section) if section else defaults, name)
        flags = [f"--{name.replace('_', '-')}"] + ([f"--{name}"] if "_" in name else [])
        if name == "quantities":
            measure.add_argument(*flags, nargs="+", choices=CHOICES[name], default=list(default))
        elif isinstance(default, bool):
            measure.add_argument(*flags, action=argparse.BooleanOptionalAction, default=default)
        else:
            measure.add_argument(
                *flags,
                type=_field_type(spec_field),
                choices=CHOICES.get(name),
                default=default,
                help=f"default {default}",
            )
    measure.add_argument("--timeout", type=float, default=None, help="seconds (default: none)")

    leaderboard = commands.add_parser(
        "leaderboard", help="show the leaderboard, add an entry, or build (run what is missing and score)"
    )
    leaderboard.add_argument("action", nargs="?", choices=("show", "add", "build"), default="show")
    leaderboard.add_argument("entry", nargs="?", help="the entry .toml file, with `add`")
    leaderboard.add_argument(
        "--dir", default="leaderboard", help="the leaderboard folder (default leaderboard/)"
    )
    leaderboard.add_argument(
        "--suite", default=LEADERBOARD_SUITE, help="the leaderboard suite (default leaderboard)"
    )
    leaderboard.add_argument(
        "--workers", type=int, default=1, help="worker processes (default 1: in-process)"
    )
    leaderboard.add_argument("--timeout", type=float, default=1800.0, help="seconds per task (default 1800)")

    publish = commands.add_parser(
        "publish", help="write the static results site (works from disk, no network)"
    )
    publish.add_argument("--out", default="site", help="output folder (default site/)")
    publish.add_argument("--reports", default="reports", help="folder of run directories (default reports/)")
    publish.add_argument(
        "--leaderboard", default="leaderboard", help="built leaderboard folder (default leaderboard/)"
    )
    return parser


def _preflight(tasks: list[TaskSpec]) -> None:
    """Refuse, before anything runs, what would fail every task: CUDA absent, an unreadable npz file."""
    if any(task.device == "cuda" for task in tasks) and not torch.cuda.is_available():
        raise RscbenchError("invalid --device='cuda': no CUDA device is available here; allowed: cpu")
    for data in {task.data for task in tasks if task.data.dataset.startswith("npz:")}:
        load_dataset(data.dataset, n=data.n, d=data.d, seed=data.dataset_seed, targets=data.targets)


_BYTE_UNITS = {"": 1, "B": 1, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def _byte_size(text: str) -> int:
    """argparse type: a size in bytes written as an integer with an optional unit (KiB, MiB, GiB, TiB)."""
    number = text.rstrip("BbIiKkMmGgTt")
    unit = text[len(number) :].upper()
    try:
        value = float(number) * _BYTE_UNITS[unit]
    except (ValueError, KeyError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 8GiB, 512MiB or 1000000") from None
    if not value >= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a memory budget must be at least 1 byte")
    return int(value)


def _task_budget(args: argparse.Namespace, tasks: list[TaskSpec]) -> int:
    """Bytes one task may use: --memory-budget, else the least free memory of the tasks' devices,
    shared among the local workers."""
    if args.memory_budget is not None:
        return args.memory_budget // args.workers
    return min(available_memory_bytes(device) for device in {task.device for task in tasks}) // args.workers


def _memory_preflight(tasks: list[TaskSpec], budget: int) -> None:
    """Refuse the run, before anything runs, when some task's estimated peak exceeds ``budget``."""
    over = []
    for task in tasks:
        estimate = estimate_memory(task)
        if estimate.total_bytes > budget:
            over.append((estimate, task))
    if over:
        estimate, task = max(over, key=lambda pair: pair[0].total_bytes)
        largest, mib = estimate.largest, 2**20
        raise RscbenchError(
            f"memory: {len(over)} of {len(tasks)} tasks do not fit the budget of {budget / mib:.0f} MiB "
            f"per task; the largest, {task.task_id} (width={task.model.width}, depth={task.model.depth}), "
            f"needs an estimated {estimate.total_bytes / mib:.0f} MiB ({largest.name}: {largest.formula}); "
            "run it on a larger device, lower --workers or set --memory-budget"
        )


def _run(args: argparse.Namespace) -> int:
    overrides = {key: getattr(args, key) for key in ("device", "dtype") if getattr(args, key)}
    suite = load_suite(args.suite, overrides)
    tasks = suite.tasks()
    _preflight(tasks)
    require_integer("workers", args.workers, 1)
    out = Path(args.out or Path("reports") / suite.name)
    budget = _task_budget(args, tasks)
    if args.dry_run:
        return _dry_run(suite, tasks, out / STORE_NAME, budget)
    if args.executor == "local":
        _memory_preflight(tasks, budget)
    try:
        if args.fresh and out.exists():
            (out / STORE_NAME).unlink(missing_ok=True)
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".rscbench-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise RscbenchError(
            f"invalid --out={str(out)!r}: not a writable directory ({error.strerror})"
        ) from None
    with ResultStore(out / STORE_NAME) as store:
        summary = run_tasks(
            tasks,
            store,
            executor=args.executor,
            workers=args.workers,
            scheduler=args.scheduler,
            timeout_seconds=args.timeout,
            memory_budget_bytes=args.memory_budget // args.workers if args.memory_budget else None,
        )
        frame = store.to_frame()
        trajectories = store.trajectory_frame()
    ids = {task.task_id for task in tasks}
    frame = frame[frame["task_id"].isin(ids)]
    experiments = suite.experiment_of()
    frame.insert(1, "experiment", frame["task_id"].map(experiments))
    _print_table(frame)
    report = None
    if len(frame) == len(tasks):
        with ResultStore(out / STORE_NAME) as store:
            report = write_report(out, suite, store)
    verdicts = report.verdicts if report else judge(frame, trajectories)
    if verdicts:
        with pd.option_context("display.width", 250, "display.max_colwidth", 160):
            print("\nverdicts (DESIGN section 4):\n" + verdict_table(verdicts).to_string(index=False))
    counts = frame["status"].value_counts().to_dict()
    print(
        f"\n{suite.name}: {len(tasks)} tasks ({summary.skipped} already stored, "
        f"{len(tasks) - summary.skipped} run in {summary.wall_seconds:.1f} s); statuses {counts}\n"
        f"store: {out / STORE_NAME}"
    )
    if report:
        print(f"report: {report.folder}")
    failed = int(counts.get("failed", 0) + counts.get("timeout", 0))
    if failed:
        return EXIT_TASK_FAILED
    broken = [v for v in verdicts if v.id in EXPECTED_TO_HOLD and v.status == NOT_SUPPORTED]
    if args.strict and broken:
        names = ", ".join(f"{v.id} ({v.subject})" for v in broken)
        print(f"rscbench: --strict: verdicts not supported: {names}", file=sys.stderr)
        return EXIT_STRICT
    return EXIT_OK


def _print_table(frame: pd.DataFrame) -> None:
    spec_columns = [f"spec.model.{k}" for k in ("width", "depth", "activation", "sigma1")] + [
        "spec.loss",
        "spec.seed",
    ]
    metric_columns = [
        f"metric.{k}"
        for k in (
            "predictor_hessian_max",
            "g_bar_sqnorm",
            "loss_hessian_norm",
            "rsc_lower",
            "gd_steps_to_target",
        )
    ]
    columns = ["experiment", *spec_columns, "status", "wall_seconds"] + [
        c for c in metric_columns if c in frame
    ]
    view = frame[[c for c in columns if c in frame]].rename(columns=lambda c: c.split(".")[-1])
    with pd.option_context(
        "display.max_rows", None, "display.width", 200, "display.float_format", "{:.4g}".format
    ):
        print(view.to_string(index=False))


def _dry_run(suite, tasks: list[TaskSpec], store_path: Path | None, budget: int) -> int:
    """Print the tasks with their sizes and estimated peak memory, and a time estimate from tasks
    already measured in ``store_path``.

    The time estimate takes, for each task not yet stored, the median wall time of the stored tasks
    of its experiment; with none stored it is reported as unknown rather than guessed.
    """
    experiments = suite.experiment_of()
    walls: dict[str, list[float]] = {}
    stored: set[str] = set()
    if store_path is not None and store_path.is_file():
        with ResultStore(store_path) as store:
            for record in store.records():
                stored.add(record.task_id)
                if record.task_id in experiments:
                    walls.setdefault(experiments[record.task_id], []).append(record.wall_seconds)
    print(
        f"{suite.name}: {len(tasks)} tasks ({suite.source}), {len(stored & set(experiments))} already stored"
    )
    estimate, unknown, over, peak = 0.0, 0, 0, 0
    for task in tasks:
        memory = estimate_memory(task)
        peak = max(peak, memory.total_bytes)
        over += memory.total_bytes > budget
        experiment = experiments[task.task_id]
        if task.task_id not in stored:
            if walls.get(experiment):
                estimate += float(pd.Series(walls[experiment]).median())
            else:
                unknown += 1
        print(
            f"  {task.task_id}  {experiment:<16} width={task.model.width:<6} depth={task.model.depth:<2} "
            f"{task.model.activation:<9} sigma1={task.model.sigma1:<4} loss={task.loss:<13} seed={task.seed} "
            f"gd_steps={task.protocol.gd_steps:<4} memory<={memory.total_bytes / 2**20:.0f} MiB "
            f"({memory.largest.name})" + ("  OVER BUDGET" if memory.total_bytes > budget else "")
        )
    known = f"{estimate:.0f} s for the tasks with measured peers"
    print(
        f"estimated time: {known}" + (f"; {unknown} tasks with no measured peer (unknown)" if unknown else "")
    )
    mib = 2**20
    print(
        f"estimated peak memory: {peak / mib:.0f} MiB for the largest task; "
        f"budget {budget / mib:.0f} MiB per task; {over} tasks over it"
    )
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    if args.what == "suites":
        for name in shipped_suites():
            suite = load_suite(name)
            print(f"{name:<12} {len(suite.tasks()):>4} tasks  {suite.description}")
    elif args.what == "tasks":
        if not args.suite:
            raise RscbenchError("invalid `list tasks`: a suite is required, e.g. `rscbench list tasks smoke`")
        suite = load_suite(args.suite)
        return _dry_run(suite, suite.tasks(), None)
    elif args.what == "datasets":
        for spec in DATASETS.values():
            print(f"{spec.usage:<14} {spec.description}")
    elif args.what == "activations":
        for act in ACTIVATIONS.values():
            covered = "covered" if act.covered_by_theory else "control (not covered)"
            print(f"{act.name:<9} Lipschitz {act.lipschitz:.4g}  smoothness {act.smoothness:.4g}  {covered}")
    elif args.what == "losses":
        for loss in LOSSES.values():
            print(f"{loss.name:<14} targets: {loss.targets}")
    else:
        for info in METRICS.values():
            print(f"{info.name:<36} {info.unit:<14} better: {info.better:<7} {info.description}")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    if not (run_dir / STORE_NAME).is_file():
        raise InvalidArgumentError("RUN_DIR", str(run_dir), f"a run directory holding {STORE_NAME}")
    previous = sorted(run_dir.glob("*/report.json"))
    if not previous:
        raise InvalidArgumentError(
            "RUN_DIR", str(run_dir), "a run directory with at least one report (it names the suite)"
        )
    suite_document = load_report(previous[-1])["suite"]
    source = Path(suite_document.get("source", ""))
    suite = load_suite(str(source) if source.is_file() else suite_document["name"])
    with ResultStore(run_dir / STORE_NAME) as store:
        written = write_report(run_dir, suite, store)
    path = written.folder / REPORT_FORMATS[args.format]
    print(path if args.format == "html" else path.read_text(), end="\n" if args.format == "html" else "")
    return EXIT_OK


def _compare(args: argparse.Namespace) -> int:
    result = compare_reports(load_report(args.report_a), load_report(args.report_b), threshold=args.threshold)
    with pd.option_context(
        "display.width", 200, "display.max_rows", None, "display.float_format", "{:.4g}".format
    ):
        if result.changes.empty:
            print(f"no metric or fit changed by more than {args.threshold:g} (relative)")
        else:
            print(result.changes.to_string(index=False))
        if not result.flips.empty:
            print("\nverdicts that changed:\n" + result.flips.to_string(index=False))
    return EXIT_STRICT if result.regressed else EXIT_OK


def _measure(args: argparse.Namespace) -> int:
    values = {name: getattr(args, name) for name in flat_fields()}
    values["quantities"] = list(values["quantities"])
    spec = task_from_flat(values)
    _preflight([spec])
    record = execute_task(spec.canonical(), args.timeout)
    json.dump(record, sys.stdout, indent=2)  # TaskRecord.to_dict() is strict JSON already
    sys.stdout.write("\n")
    if record["status"] in ("failed", "timeout"):
        print(f"rscbench: task {record['status']}: {record['message']}", file=sys.stderr)
        return EXIT_TASK_FAILED
    return EXIT_OK


def _leaderboard(args: argparse.Namespace) -> int:
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


def _publish(args: argparse.Namespace) -> int:
    site = publish_site(args.out, reports_root=args.reports, leaderboard_folder=args.leaderboard)
    for skipped in site.skipped:
        print(f"rscbench: publish: skipped {skipped}", file=sys.stderr)
    print(f"site: {site.index} ({len(site.pages)} pages; open it from disk or serve {site.folder})")
    return EXIT_OK


def _find_stored(task_id: str, store_option: str | None) -> TaskRecord:
    """The stored record of ``task_id`` from --store, or from the first reports/*/store.sqlite holding it."""
    if store_option is not None:
        path = Path(store_option)
        candidates = [path / STORE_NAME if path.is_dir() else path]
        if not candidates[0].is_file():
            raise InvalidArgumentError("--store", store_option, "a run directory or its store.sqlite")
    else:
        candidates = sorted(Path("reports").glob(f"*/{STORE_NAME}"))
    for candidate in candidates:
        with ResultStore(candidate) as store:
            record = store.get(task_id)
        if record is not None:
            return record
    searched = ", ".join(str(c) for c in candidates) or "no store under reports/"
    raise InvalidArgumentError("task_id", task_id, f"the id of a task stored in {searched}")


def _same(a: Any, b: Any) -> bool:
    """Equal values, counting two NaNs as equal (a replay reproduces a NaN, it does not differ from it)."""
    both_nan = isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
    return both_nan or a == b


def _replay(args: argparse.Namespace) -> int:
    stored = _find_stored(args.task_id, args.store)
    replayed = TaskRecord.from_dict(execute_task(stored.spec))
    differences = {
        name: {"stored": value, "replayed": replayed.metrics.get(name)}
        for name, value in stored.metrics.items()
        if not _same(value, replayed.metrics.get(name))
    }
    print(
        json.dumps(
            {"stored": stored.to_dict(), "replayed": replayed.to_dict(), "differences": differences}, indent=1
        )
    )
    return EXIT_STRICT if differences or replayed.status != stored.status else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `rscbench` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    handlers = {
        "run": _run,
        "list": _list,
        "measure": _measure,
        "compare": _compare,
        "replay": _replay,
        "report": _report,
        "leaderboard": _leaderboard,
        "publish": _publish,
    }
    try:
        return handlers[args.command](args)
    except RscbenchError as error:
        print(f"rscbench: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
