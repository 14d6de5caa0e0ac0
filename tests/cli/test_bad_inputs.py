"""The bad-input corpus: every way a careless or hostile user feeds rscbench wrong input (flags, suite
files, npz files, stores, reports, leaderboard entries and scores, publish folders) ends in exit
code 2 and one line on stderr that names the field, the bad value and what is allowed; never a
traceback, never a run that starts.

Each case is data: the command (``{d}`` is the folder of bad files :func:`bad_files` writes), the
exit code, and the words the line must contain. The command runs in-process (rscbench.cli.main), in
a scratch working folder, so the corpus takes seconds.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from rscbench.cli.main import main
from rscbench.leaderboard.scoring import CHECKS
from rscbench.run.execute import worker_died_record
from rscbench.run.specs import task_from_flat
from rscbench.store import ResultStore, TaskRecord

GOOD_SUITE = """
name = "{name}"
{top}
[defaults]
n = 8
d = 3
probes = 2
quantities = ["Q1"]
{defaults}
[[experiment]]
name = "w"
[experiment.grid]
width = [4]
{grid}
"""
BIG = 10**12
PROJECT = "--reports {d}/project/reports --leaderboard {d}/project/leaderboard"
TINY = task_from_flat({"width": 4, "n": 8, "d": 3, "quantities": ["Q1"]})


@dataclass(frozen=True)
class Case:
    """One bad input: ``argv`` (with ``{d}``), the exit ``code`` and ``words`` the line must hold."""

    name: str
    argv: tuple[str, ...]
    words: tuple[str, ...]
    code: int = 2


def case(name: str, command: str, *words: str, code: int = 2) -> Case:
    """A case whose command is one string split on spaces (no argument holds a space)."""
    return Case(name, tuple(command.split()), words, code)


def suite_text(name: str = "good", *, top: str = "", defaults: str = "", grid: str = "") -> str:
    return GOOD_SUITE.format(name=name, top=top, defaults=defaults, grid=grid)


BAD_SUITES = {
    # file name: (text or bytes, words)
    "not_utf8": (b'name = "caf\xe9"\n', ("suite file", "UTF-8")),
    "not_toml": ("name = \n[[experiment", ("TOML",)),
    "name_up": (suite_text("../../x"), ("name", "'../../x'", "letters, digits")),
    "name_abs": (suite_text("/abs/path"), ("name", "'/abs/path'", "letters, digits")),
    "name_empty": (suite_text(""), ("name", "''", "letters, digits")),
    "name_space": (suite_text("a b"), ("name", "'a b'", "letters, digits")),
    "name_hidden": (suite_text(".hidden"), ("name", "'.hidden'", "starting with a letter or digit")),
    "name_long": (suite_text("x" * 65), ("name", "1-64")),
    "name_number": ('name = 5\n[[experiment]]\nname = "w"\n', ("name", "5", "letters, digits")),
    "description": (suite_text(top="description = 3"), ("description", "3", "a string")),
    "top_key": (suite_text(top='colour = "red"'), ("colour", "'red'", "keys")),
    "no_experiment": ('name = "x"\n', ("experiment", "None")),
    "experiment_number": ('name = "x"\nexperiment = 3\n', ("experiment", "3")),
    "experiment_key": (
        suite_text().replace('name = "w"\n', 'name = "w"\ncolour = "red"\n'),
        ("experiment[0]", "colour", "name, grid and fixed"),
    ),
    "experiment_twice": (
        suite_text() + '[[experiment]]\nname = "w"\n[experiment.fixed]\nwidth = 4\n',
        ("experiment[1].name", "'w'", "no other experiment has"),
    ),
    "experiment_blank": (
        suite_text().replace('name = "w"', 'name = " "'),
        ("experiment[0].name", "' '", "non-empty string"),
    ),
    "grid_empty": (suite_text(grid="depth = []"), ("grid.depth", "[]", "non-empty list")),
    "grid_unknown": (suite_text(grid="colour = [1]"), ("grid.colour", "[1]", "task fields")),
    "grid_scalar": (suite_text(grid="depth = 2"), ("grid", "depth", "list")),
    "defaults_unknown": (suite_text(defaults="colour = 1"), ("defaults.colour", "1", "task fields")),
    "defaults_number": ('name = "x"\ndefaults = 3\n[[experiment]]\nname = "w"\n', ("defaults", "3", "table")),
    "seed_empty": (suite_text(defaults="seed = []"), ("defaults.seed", "[]", "non-empty list")),
    "seed_negative": (suite_text(defaults="seed = -1"), ("seed", "-1", "an integer in [0,")),
    "seed_float": (suite_text(defaults="seed = 1.5"), ("seed", "1.5", "integer")),
    "seed_text": (suite_text(defaults='seed = "x"'), ("seed", "'x'", "integer")),
    "seed_huge_float": (suite_text(defaults="seed = 1e19"), ("seed", "1e+19", "integer")),
    "width_zero": (
        suite_text(grid="depth = [1]").replace("width = [4]", "width = [0]"),
        ("width", "0", "[1,"),
    ),
    "width_bool": (suite_text().replace("width = [4]", "width = [true]"), ("width", "True", "integer")),
    "depth_zero": (suite_text(defaults="depth = 0"), ("depth", "0", "[1,")),
    "n_zero": (suite_text(defaults="n = 0").replace("n = 8\n", ""), ("n", "0", "integer")),
    "dtype": (suite_text(defaults='dtype = "float16"'), ("dtype", "'float16'", "float32")),
    "device": (suite_text(defaults='device = "tpu"'), ("device", "'tpu'", "cpu")),
    "activation": (suite_text(defaults='activation = "swish2"'), ("activation", "'swish2'", "tanh")),
    "loss": (suite_text(defaults='loss = "hinge"'), ("loss", "'hinge'", "square")),
    "dataset": (suite_text(defaults='dataset = "imagenet"'), ("dataset", "'imagenet'", "sphere")),
    "targets": (suite_text(defaults='targets = "magic"'), ("targets", "'magic'", "one of")),
    "quantities_text": (
        suite_text(defaults='quantities = "Q1"').replace('quantities = ["Q1"]\n', ""),
        ("quantities", "'Q1'"),
    ),
    "quantities_unknown": (
        suite_text(defaults='quantities = ["Q99"]').replace('quantities = ["Q1"]\n', ""),
        ("quantities", "Q99", "one of"),
    ),
    "quantities_empty": (
        suite_text(defaults="quantities = []").replace('quantities = ["Q1"]\n', ""),
        ("quantities", "[]"),
    ),
    "kappa_nan": (suite_text(defaults="kappa = nan"), ("kappa", "nan")),
    "kappa_inf": (suite_text(defaults="kappa = inf"), ("kappa", "inf")),
    "kappa_negative": (suite_text(defaults="kappa = -1.0"), ("kappa", "-1.0")),
    "tol_zero": (suite_text(defaults="tol = 0.0"), ("tol", "0.0")),
    "sigma1_nan": (suite_text(defaults="sigma1 = nan"), ("sigma1", "nan")),
    "gd_steps_negative": (suite_text(defaults="gd_steps = -1"), ("gd_steps", "-1", "integer")),
    "arch_system": (
        suite_text(defaults='arch = "os:system"'),
        ("model.arch", "'os:system'", "(width, depth"),
    ),
    "arch_missing": (suite_text(defaults='arch = "no_such_module_x:f"'), ("model.arch", "importable")),
    "arch_malformed": (suite_text(defaults='arch = "not a factory"'), ("model.arch", "module:function")),
    "arch_exits": (suite_text(defaults='arch = "exiting_module:factory"'), ("model.arch", "sys.exit(0)")),
    "scale_input_text": (
        suite_text(defaults='scale_input = "yes"'),
        ("scale_input", "'yes'", "true or false"),
    ),
    "npz_missing": (
        suite_text(defaults='dataset = "npz:{d}/missing.npz"').replace("d = 3\n", ""),
        ("dataset", "missing.npz"),
    ),
}

BAD_ARRAYS = {
    # file name: (X, y, words); None X/y leaves that array out
    "no_X": (None, np.zeros(4), ("npz_no_X.npz", "arrays X and y", "it has: y")),
    "no_y": (np.zeros((4, 3)), None, ("npz_no_y.npz", "arrays X and y", "it has: X")),
    "object": (
        np.array([[1, "a"]] * 4, dtype=object),
        np.zeros(4),
        ("npz_object.npz: X", "an object array", "numeric"),
    ),
    "strings": (np.array([["a", "b"]] * 4), np.zeros(4), ("npz_strings.npz: X", "dtype <U1", "numeric")),
    "nan": (np.array([[np.nan, 1.0]] * 4), np.zeros(4), ("npz_nan.npz: X", "NaN or infinite", "finite")),
    "inf_y": (
        np.ones((4, 2)),
        np.array([0, 1, np.inf, 0]),
        ("npz_inf_y.npz: y", "NaN or infinite", "finite"),
    ),
    "huge": (np.full((4, 2), 1e200), np.zeros(4), ("npz_huge.npz: X", "1e+200", "row norms are finite")),
    "rows": (np.ones((4, 2)), np.zeros(3), ("npz_rows.npz: y", "shape (3,)", "one per row of X")),
    "flat_X": (np.ones(4), np.zeros(4), ("npz_flat_X.npz: X",)),
    "cube_X": (np.ones((4, 2, 2)), np.zeros(4), ("npz_cube_X.npz: X",)),
    "empty": (np.ones((0, 2)), np.zeros(0), ("npz_empty.npz: X",)),
    "y_matrix": (np.ones((4, 2)), np.zeros((4, 2)), ("npz_y_matrix.npz: y",)),
}


def _write_npz(path: Path, X: np.ndarray | None, y: np.ndarray | None) -> None:
    arrays = {key: value for key, value in (("X", X), ("y", y)) if value is not None}
    np.savez(path, **arrays)


def _damaged_crc(path: Path) -> None:
    """An npz whose X member has one byte flipped (its CRC no longer matches)."""
    np.savez(path, X=np.arange(40.0).reshape(20, 2), y=np.zeros(20))
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("X.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 200
    data[start] ^= 0xFF
    path.write_bytes(bytes(data))


def _store_with_record(path: Path) -> str:
    """A store with one record (of a tiny task whose worker died); returns its task id."""
    with ResultStore(path) as store:
        store.put(TaskRecord.from_dict(worker_died_record(TINY.canonical())))
    return TINY.task_id


def _damage_store(path: Path, sql: str) -> None:
    connection = sqlite3.connect(path)
    connection.execute(sql)
    connection.commit()
    connection.close()


REPORT = {
    "schema_version": 3,
    "suite": {"name": "tiny"},
    "tasks": [{"task_id": "t1", "metrics": {"loss": 1.0}}],
    "verdicts": [
        {"id": "V1", "form": "V1", "aspect": "at init", "subject": "s", "claim": "c", "status": "supported"}
    ],
    "fits": [],
}
BAD_REPORTS = {
    # file name: (document, words)
    "only_version": ({"schema_version": 3}, ("suite", "<missing>", "an object with name")),
    "list": ([1, 2], ("report_list.json", "schema_version", "an integer from 1 to 3")),
    "version_99": (REPORT | {"schema_version": 99}, ("schema_version", "99", "an integer from 1 to 3")),
    "version_text": (REPORT | {"schema_version": "2"}, ("schema_version", "'2'", "an integer from 1 to 3")),
    "version_bool": (REPORT | {"schema_version": True}, ("schema_version", "True", "an integer from 1 to 3")),
    "verdicts_text": (REPORT | {"verdicts": "all good"}, ("verdicts", "'all good'", "a list")),
    "tasks_object": (REPORT | {"tasks": {}}, ("tasks", "dict", "a list")),
    "task_no_id": (REPORT | {"tasks": [{"metrics": {}}]}, ("tasks[0]: task_id", "<missing>", "a string")),
    "metrics_list": (
        REPORT | {"tasks": [{"task_id": "t1", "metrics": [1]}]},
        ("tasks[0]: metrics", "list", "an object"),
    ),
    "verdict_no_status": (
        REPORT | {"verdicts": [{"id": "V1", "subject": "s", "claim": "c", "form": "V1", "aspect": "a"}]},
        ("verdicts[0]: status", "<missing>", "a string"),
    ),
    "suite_text": (REPORT | {"suite": "tiny"}, ("suite", "'tiny'", "an object with name")),
    "suite_no_name": (REPORT | {"suite": {}}, ("suite: name", "<missing>", "a string")),
    "fit_exponent_list": (
        REPORT
        | {
            "fits": [
                {"verdict": "V1", "subject": "s", "metric": "m", "axis": "a", "law": "power", "exponent": [1]}
            ]
        },
        ("fits[0]: exponent", "list", "a number"),
    ),
    "git_text": (REPORT | {"git": "abc"}, ("git", "'abc'", "an object")),
    "created_number": (REPORT | {"created_at": 5}, ("created_at", "5", "a string or null")),
}

SCORES_ENTRY = {
    "rank": 1,
    "name": "e",
    "author": "a",
    "model_label": "m",
    "covered_by_theory": True,
    "checks": {check: "pass" for check in CHECKS},
    "supported": 1,
    "not_supported": 0,
    "hessian_exponent": -0.5,
    "hessian_ci": [-0.6, -0.4],
    "gbar_exponent": 0.0,
    "rsc_certified_fraction": 1.0,
    "rsc_ci": [0.9, 1.0],
    "gd_runs": 1,
    "gd_reached": 1,
    "gd_diverged": 0,
    "median_steps_to_target": 3,
    "geometric_rate": 0.5,
    "ntk_drift": 0.1,
    "certified_without_progress": False,
    "tasks": 1,
    "tasks_missing": 0,
    "tasks_failed": 0,
    "compute_seconds": 1.0,
    "version": "1",
}
BAD_SCORES = {
    # folder name: (document or text, words)
    "bad_json": ("{", ("leaderboard", "scores.json", "valid JSON")),
    "not_utf8": (b"\xff\xfe", ("leaderboard", "UTF-8")),
    "no_entries": ({"version": "1"}, ("entries", "<missing>", "a list")),
    "entries_object": ({"version": "1", "entries": {}}, ("entries", "dict", "a list")),
    "no_version": ({"entries": []}, ("version", "<missing>", "a string")),
    "entry_no_rank": (
        {"version": "1", "entries": [{k: v for k, v in SCORES_ENTRY.items() if k != "rank"}]},
        ("entries[0]: rank", "<missing>", "an integer"),
    ),
    "entry_rank_text": (
        {"version": "1", "entries": [SCORES_ENTRY | {"rank": "first"}]},
        ("entries[0]: rank", "'first'", "an integer"),
    ),
    "ci_short": (
        {"version": "1", "entries": [SCORES_ENTRY | {"hessian_ci": [1]}]},
        ("entries[0]: hessian_ci", "[1]", "two numbers"),
    ),
    "ci_text": (
        {"version": "1", "entries": [SCORES_ENTRY | {"rsc_ci": ["a", "b"]}]},
        ("entries[0]: rsc_ci", "two numbers"),
    ),
    "name_number": (
        {"version": "1", "entries": [SCORES_ENTRY | {"name": 3}]},
        ("entries[0]: name", "3", "a string"),
    ),
}

BAD_ENTRIES = {
    # file name: (text or bytes, words)
    "not_toml": ("name = ", ("entry", "valid TOML")),
    "not_utf8": (b'name = "\xe9"\n', ("entry", "UTF-8")),
    "exits": (
        'name = "exits"\nauthor = "a"\ndescription = "d"\n[model]\narch = "exiting_module:factory"\n',
        ("model.arch", "exiting_module:factory", "sys.exit(0)"),
    ),
    "system": (
        'name = "system"\nauthor = "a"\ndescription = "d"\n[model]\narch = "os:system"\n',
        ("model.arch", "'os:system'", "(width, depth"),
    ),
}


def bad_files(folder: Path) -> None:
    """Write every bad file the corpus names into ``folder``."""
    (folder / "exiting_module.py").write_text(
        "import sys\n\nsys.exit(0)\n\n\ndef factory(width, depth, *, in_dim, generator):\n    return None\n"
    )
    (folder / "good.toml").write_text(suite_text())
    (folder / "big.toml").write_text(suite_text("big", defaults=f"n = {BIG}").replace("n = 8\n", ""))
    (folder / "afile").write_text("not a folder")
    for name, (content, _) in BAD_SUITES.items():
        path = folder / f"suite_{name}.toml"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content.replace("{d}", str(folder)))
    for name, (X, y, _) in BAD_ARRAYS.items():
        _write_npz(folder / f"npz_{name}.npz", X, y)
    _damaged_crc(folder / "npz_crc.npz")
    (folder / "npz_text.npz").write_text("not a zip")
    good = folder / "npz_good.npz"
    np.savez(good, X=np.ones((8, 3)), y=np.zeros(8))
    (folder / "npz_truncated.npz").write_bytes(good.read_bytes()[:100])
    for name, (document, _) in BAD_REPORTS.items():
        (folder / f"report_{name}.json").write_text(json.dumps(document))
    (folder / "report_good.json").write_text(json.dumps(REPORT))
    (folder / "report_bad.json").write_text('{"schema_version": 3,')
    (folder / "report_not_utf8.json").write_bytes(b'{"a": "\xff"}')
    (folder / "report_deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (folder / "report_empty.json").write_text("")
    (folder / "report_folder").mkdir()
    # stores
    sqlite3.connect(folder / "other.sqlite").execute("CREATE TABLE t (x)").connection.close()
    (folder / "text.sqlite").write_text("not a database at all, just some text " * 40)
    task_id = _store_with_record(folder / "store_badjson.sqlite")
    _damage_store(
        folder / "store_badjson.sqlite", f"UPDATE tasks SET metrics = '{{oops' WHERE task_id = '{task_id}'"
    )
    _store_with_record(folder / "store_notable.sqlite")
    _damage_store(folder / "store_notable.sqlite", "DROP TABLE tasks")
    _store_with_record(folder / "store_version.sqlite")
    _damage_store(folder / "store_version.sqlite", "UPDATE meta SET value = 'x' WHERE key = 'schema_version'")
    _store_with_record(folder / "store_future.sqlite")
    _damage_store(
        folder / "store_future.sqlite", "UPDATE meta SET value = '999' WHERE key = 'schema_version'"
    )
    _store_with_record(folder / "store_status.sqlite")
    _damage_store(
        folder / "store_status.sqlite", f"UPDATE tasks SET status = 'great' WHERE task_id = '{task_id}'"
    )
    _store_with_record(folder / "store_column.sqlite")
    _damage_store(folder / "store_column.sqlite", "ALTER TABLE tasks DROP COLUMN trajectory")
    (folder / "store_dir.sqlite").mkdir()
    for name in ("badjson", "notable", "nostore", "noreport"):
        run_dir = folder / f"run_{name}"
        run_dir.mkdir()
        if name in ("badjson", "notable"):
            (run_dir / "store.sqlite").write_bytes((folder / f"store_{name}.sqlite").read_bytes())
            (run_dir / "r1").mkdir()
            suite = {"name": "good", "source": str(folder / "good.toml")}
            (run_dir / "r1" / "report.json").write_text(json.dumps(REPORT | {"suite": suite}))
        if name == "noreport":
            _store_with_record(run_dir / "store.sqlite")
    # leaderboards and entries
    for name, (content, _) in BAD_SCORES.items():
        board = folder / f"board_{name}"
        board.mkdir()
        if isinstance(content, bytes):
            (board / "scores.json").write_bytes(content)
        else:
            (board / "scores.json").write_text(content if isinstance(content, str) else json.dumps(content))
    for name, (content, _) in BAD_ENTRIES.items():
        path = folder / f"entry_{name}.toml"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    # publish: a project folder with reports/ and leaderboard/
    project = folder / "project"
    (project / "reports" / "tiny").mkdir(parents=True)
    (project / "leaderboard").mkdir()
    (project / "full").mkdir()
    (project / "full" / "notes.txt").write_text("mine")


FLAG_CASES = [
    case(
        "run timeout inf", "run {d}/good.toml --timeout inf", "--timeout", "'inf'", "allowed a finite number"
    ),
    case("run timeout 1e300", "run {d}/good.toml --timeout 1e300", "--timeout", "'1e300'", "<= 1e+07"),
    case("run timeout -1", "run {d}/good.toml --timeout -1", "--timeout", "'-1'", "> 0"),
    case("run timeout 0", "run {d}/good.toml --timeout 0", "--timeout", "'0'", "> 0"),
    case("run timeout nan", "run {d}/good.toml --timeout nan", "--timeout", "'nan'", "finite"),
    case("run timeout -inf", "run {d}/good.toml --timeout=-inf", "--timeout", "'-inf'", "finite"),
    case("run timeout text", "run {d}/good.toml --timeout soon", "--timeout", "'soon'", "finite number"),
    case("run budget inf", "run {d}/good.toml --memory-budget inf", "--memory-budget", "'inf'", "1 EiB"),
    case("run budget 0", "run {d}/good.toml --memory-budget 0", "--memory-budget", "'0'", "1 byte"),
    case("run budget negative", "run {d}/good.toml --memory-budget -5", "--memory-budget", "'-5'"),
    case("run budget 1e30", "run {d}/good.toml --memory-budget 1e30", "--memory-budget", "'1e30'", "1 EiB"),
    case("run budget nan", "run {d}/good.toml --memory-budget nan", "--memory-budget", "'nan'"),
    case("run budget unit", "run {d}/good.toml --memory-budget 12XB", "--memory-budget", "'12XB'", "8GiB"),
    case("run budget 9TiB*1e6", "run {d}/good.toml --memory-budget 9000000TiB", "--memory-budget", "1 EiB"),
    case("run workers 0", "run {d}/good.toml --workers 0", "--workers", "'0'", "integer >= 1"),
    case("run workers -1", "run {d}/good.toml --workers -1", "--workers", "'-1'", "integer >= 1"),
    case("run workers 1.5", "run {d}/good.toml --workers 1.5", "--workers", "'1.5'", "integer >= 1"),
    case("run workers text", "run {d}/good.toml --workers many", "--workers", "'many'", "integer >= 1"),
    case("run threads 0", "run {d}/good.toml --threads 0", "--threads", "'0'", "integer >= 1"),
    case("run threads text", "run {d}/good.toml --threads x", "--threads", "'x'", "integer >= 1"),
    case("run device", "run {d}/good.toml --device tpu", "--device", "'tpu'", "cpu"),
    case("run dtype", "run {d}/good.toml --dtype float16", "--dtype", "'float16'", "float32"),
    case("run executor", "run {d}/good.toml --executor ray", "--executor", "'ray'", "local"),
    case(
        "run scheduler without dask",
        "run {d}/good.toml --scheduler tcp://h:1",
        "scheduler",
        "tcp://h:1",
        "--executor dask",
    ),
    case("run dask without scheduler", "run {d}/good.toml --executor dask", "scheduler", "None", "address"),
    case(
        "run dask bad address",
        "run {d}/good.toml --executor dask --scheduler not-an-address --out {d}/dask-run",
        "--scheduler",
        "'not-an-address'",
        "the address of a running Dask scheduler",
    ),
    case(
        "run fresh and retry",
        "run {d}/good.toml --fresh --retry-failed",
        "--retry-failed",
        "not allowed with",
    ),
    case("run out root", "run {d}/good.toml --out /", "--out", "'/'", "not a system or home folder"),
    case("run out etc", "run {d}/good.toml --out /etc", "--out", "'/etc'", "not a system or home folder"),
    case("run out usr", "run {d}/good.toml --out /usr", "--out", "'/usr'", "not a system or home folder"),
    case(
        "run out a file",
        "run {d}/good.toml --out {d}/afile",
        "--out",
        "afile",
        "a folder this user may write",
    ),
    case("run out under a file", "run {d}/good.toml --out {d}/afile/sub", "--out", "afile/sub", "may write"),
    case(
        "run out unwritable", "run {d}/good.toml --out /proc/rscbench", "--out", "/proc/rscbench", "may write"
    ),
    case("run unknown suite", "run no-such-suite", "suite", "'no-such-suite'", "one of cpu-default"),
    case("run missing toml", "run {d}/missing.toml", "suite", "missing.toml", "an existing .toml file"),
    case("run too big", "run {d}/big.toml", "memory", "do not fit the budget"),
    case("measure timeout -1", "measure --timeout -1", "--timeout", "'-1'", "> 0"),
    case("measure timeout inf", "measure --timeout inf", "--timeout", "'inf'", "finite"),
    case("measure timeout nan", "measure --timeout nan", "--timeout", "'nan'", "finite"),
    case("measure width 0", "measure --width 0", "width", "0", "integer"),
    case("measure width -3", "measure --width -3", "width", "-3", "integer"),
    case("measure width text", "measure --width wide", "--width", "'wide'"),
    case("measure width 2^63", f"measure --width {2**63}", "width", str(2**63), "integer in [1,"),
    case("measure seed 2^63", f"measure --seed {2**63}", "seed", str(2**63), "integer in [0,"),
    case("measure seed -1", "measure --seed -1", "seed", "-1", "integer in [0,"),
    case("measure seed float", "measure --seed 1e3", "--seed", "'1e3'"),
    case("measure dataset seed 2^63", f"measure --dataset-seed {2**63}", "dataset_seed", str(2**63)),
    case("measure depth 0", "measure --depth 0", "depth", "0", "integer"),
    case("measure activation", "measure --activation swish2", "--activation", "'swish2'", "tanh"),
    case("measure loss", "measure --loss hinge", "--loss", "'hinge'", "square"),
    case("measure dataset", "measure --dataset imagenet", "dataset", "'imagenet'", "sphere"),
    case("measure n 0", "measure --n 0", "n", "0", "integer"),
    case("measure n huge", f"measure --n {BIG}", "memory", "do not fit the budget"),
    case("measure d 0", "measure --d 0", "d", "0", "integer"),
    case("measure arch os:system", "measure --arch os:system", "model.arch", "'os:system'", "(width, depth"),
    case(
        "measure arch builtin",
        "measure --arch builtins:print",
        "model.arch",
        "'builtins:print'",
        "(width, depth",
    ),
    case("measure arch missing module", "measure --arch no_such_module_x:f", "model.arch", "importable"),
    case("measure arch missing function", "measure --arch os:no_such_function", "model.arch", "a function"),
    case("measure arch malformed", "measure --arch factory", "model.arch", "'factory'", "module:function"),
    case("measure arch exits", "measure --arch exiting_module:factory", "model.arch", "sys.exit(0)"),
    case("measure quantity", "measure --quantities Q99", "--quantities", "'Q99'"),
    case("measure kappa negative", "measure --kappa -1", "kappa", "-1"),
    case("measure kappa nan", "measure --kappa nan", "kappa", "nan"),
    case("measure kappa inf", "measure --kappa inf", "kappa", "inf"),
    case("measure tol 0", "measure --tol 0", "tol", "0"),
    case("measure tol nan", "measure --tol nan", "tol", "nan"),
    case("measure probes 0", "measure --probes 0", "probes", "0", "integer"),
    case("measure sigma1 -1", "measure --sigma1 -1", "sigma1", "-1"),
    case("measure sigma1 nan", "measure --sigma1 nan", "sigma1", "nan"),
    case("measure rho2 inf", "measure --rho2 inf", "rho2", "inf"),
    case("measure gd steps -1", "measure --gd-steps -1", "gd_steps", "-1", "integer"),
    case("measure omega 0", "measure --omega 0", "omega", "0"),
    case("measure omega nan", "measure --omega nan", "omega", "nan"),
    case("measure target ratio nan", "measure --target-ratio nan", "target_ratio", "nan"),
    case("measure secant samples 0", "measure --secant-samples 0", "secant_samples", "0", "integer"),
    case("measure beta every 0", "measure --beta-every 0", "beta_every", "0", "integer"),
    case("measure rsc every 0", "measure --rsc-every 0", "rsc_every", "0", "integer"),
    case("measure targets", "measure --targets magic", "targets", "'magic'", "one of"),
    case("measure device", "measure --device tpu", "--device", "'tpu'", "cpu"),
    case("measure dtype", "measure --dtype float16", "--dtype", "'float16'", "float32"),
    case("measure threads 0", "measure --threads 0", "--threads", "'0'", "integer >= 1"),
    case("measure n over mnist1d", "measure --dataset mnist1d --n 5000", "n", "5000", "rows of mnist1d"),
    case(
        "compare threshold -1",
        "compare {d}/report_good.json {d}/report_good.json --threshold -1",
        "--threshold",
        "'-1'",
        ">= 0",
    ),
    case(
        "compare threshold inf",
        "compare {d}/report_good.json {d}/report_good.json --threshold inf",
        "--threshold",
        "'inf'",
        "finite",
    ),
    case(
        "compare threshold nan",
        "compare {d}/report_good.json {d}/report_good.json --threshold nan",
        "--threshold",
        "'nan'",
        "finite",
    ),
    case(
        "compare threshold text",
        "compare {d}/report_good.json {d}/report_good.json --threshold big",
        "--threshold",
        "'big'",
    ),
    case(
        "compare missing",
        "compare {d}/missing.json {d}/report_good.json",
        "report",
        "missing.json",
        "a report folder",
    ),
    case(
        "compare folder without report",
        "compare {d}/report_folder {d}/report_good.json",
        "report",
        "report_folder",
        "a report folder",
    ),
    case(
        "compare bad json",
        "compare {d}/report_bad.json {d}/report_good.json",
        "report",
        "report_bad.json",
        "valid JSON",
    ),
    case(
        "compare empty file",
        "compare {d}/report_empty.json {d}/report_good.json",
        "report",
        "report_empty.json",
        "valid JSON",
    ),
    case("compare not utf8", "compare {d}/report_not_utf8.json {d}/report_good.json", "report", "UTF-8"),
    case(
        "compare sqlite", "compare {d}/other.sqlite {d}/report_good.json", "report", "other.sqlite", "UTF-8"
    ),
    case(
        "compare deep json",
        "compare {d}/report_deep.json {d}/report_good.json",
        "report",
        "report_deep.json",
        "nested less deeply",
    ),
    case(
        "compare second bad",
        "compare {d}/report_good.json {d}/report_only_version.json",
        "report_only_version.json",
        "suite",
    ),
    case("list bogus", "list colours", "'colours'", "suites"),
    case("list tasks unknown suite", "list tasks no-such-suite", "suite", "'no-such-suite'"),
    case("list tasks bad suite", "list tasks {d}/suite_name_up.toml", "name", "'../../x'"),
    case("report missing", "report {d}/missing-run", "RUN_DIR", "missing-run", "store.sqlite"),
    case("report no store", "report {d}/run_nostore", "RUN_DIR", "run_nostore", "store.sqlite"),
    case("report no report", "report {d}/run_noreport", "RUN_DIR", "run_noreport", "at least one report"),
    case("report format", "report {d}/run_noreport --format pdf", "--format", "'pdf'", "md"),
    case(
        "report write and publish",
        "report {d}/run_noreport --write --publish-to x",
        "--publish-to",
        "not allowed with",
    ),
    case("report store bad json", "report {d}/run_badjson", "metrics", "'{oops'", "JSON"),
    case("report store no table", "report {d}/run_notable", "store", "no tasks table"),
    case("replay missing store", "replay abc --store {d}/missing.sqlite", "store", "missing.sqlite"),
    case(
        "replay text store",
        "replay abc --store {d}/text.sqlite",
        "store",
        "text.sqlite",
        "rscbench SQLite store",
    ),
    case(
        "replay other sqlite", "replay abc --store {d}/other.sqlite", "store", "other.sqlite", "no meta table"
    ),
    case(
        "replay store bad json",
        f"replay {TINY.task_id} --store {{d}}/store_badjson.sqlite",
        "metrics",
        "'{oops'",
        "JSON",
    ),
    case("replay store no table", "replay abc --store {d}/store_notable.sqlite", "store", "no tasks table"),
    case("replay store version", "replay abc --store {d}/store_version.sqlite", "store", "schema_version"),
    case("replay store future", "replay abc --store {d}/store_future.sqlite", "store", "999"),
    case(
        "replay store status", f"replay {TINY.task_id} --store {{d}}/store_status.sqlite", "status", "'great'"
    ),
    case("replay store column", "replay abc --store {d}/store_column.sqlite", "store", "trajectory"),
    case("replay store folder", "replay abc --store {d}/store_dir.sqlite", "store", "store_dir.sqlite"),
    case("replay unknown task", "replay nosuchtask --store {d}/store_status.sqlite", "nosuchtask"),
    case("leaderboard action", "leaderboard dance", "'dance'", "show"),
    case("leaderboard add nothing", "leaderboard add", "leaderboard add", "an entry .toml file is required"),
    case(
        "leaderboard add missing",
        "leaderboard add {d}/missing.toml",
        "entry",
        "missing.toml",
        "an existing entry",
    ),
    case("leaderboard workers 0", "leaderboard build --workers 0", "--workers", "'0'"),
    case("leaderboard timeout inf", "leaderboard build --timeout inf", "--timeout", "'inf'"),
    case(
        "leaderboard show missing",
        "leaderboard show --dir {d}/missing-board",
        "leaderboard",
        "missing-board",
        "scores.json",
    ),
    case(
        "publish out holds reports",
        "publish --out {d}/project " + PROJECT,
        "--out",
        "project",
        "not holding it",
    ),
    case(
        "publish out is reports",
        "publish --out {d}/project/reports " + PROJECT,
        "--out",
        "reports",
        "not it",
    ),
    case(
        "publish out inside reports",
        "publish --out {d}/project/reports/site " + PROJECT,
        "--out",
        "reports/site",
        "not inside it",
    ),
    case(
        "publish out is leaderboard",
        "publish --out {d}/project/leaderboard " + PROJECT,
        "--out",
        "--leaderboard",
        "not it",
    ),
    case(
        "publish out root",
        "publish --out / " + PROJECT,
        "--out",
        "'/'",
        "not holding it",
    ),
    case(
        "publish out etc",
        "publish --out /etc " + PROJECT,
        "--out",
        "'/etc'",
        "system",
    ),
    case(
        "publish out full folder",
        "publish --out {d}/project/full " + PROJECT,
        "--out",
        "full",
        "a new or empty folder",
    ),
    case(
        "publish out a file",
        "publish --out {d}/afile " + PROJECT,
        "--out",
        "afile",
        "may write",
    ),
    case(
        "publish bad scores",
        "publish --out {d}/site --reports {d}/project/reports --leaderboard {d}/board_bad_json",
        "scores.json",
        "valid JSON",
    ),
    case("no command", "", "required"),
    case("unknown command", "dance", "'dance'"),
]
SUITE_CASES = [
    Case(f"suite {name}", ("run", f"{{d}}/suite_{name}.toml", "--dry-run"), words)
    for name, (_, words) in BAD_SUITES.items()
]
NPZ_CASES = [
    Case(f"npz {name}", ("measure", "--dataset", f"npz:{{d}}/npz_{name}.npz"), words)
    for name, (_, _, words) in BAD_ARRAYS.items()
] + [
    case("npz bad crc", "measure --dataset npz:{d}/npz_crc.npz", "dataset", "npz_crc.npz", "an intact .npz"),
    case(
        "npz not a zip", "measure --dataset npz:{d}/npz_text.npz", "dataset", "npz_text.npz", "an .npz file"
    ),
    case(
        "npz truncated",
        "measure --dataset npz:{d}/npz_truncated.npz",
        "dataset",
        "npz_truncated.npz",
        "an .npz file",
    ),
    case("npz missing", "measure --dataset npz:{d}/missing.npz", "dataset", "missing.npz"),
]
REPORT_CASES = [
    Case(f"report {name}", ("compare", f"{{d}}/report_{name}.json", "{d}/report_good.json"), words)
    for name, (_, words) in BAD_REPORTS.items()
]
SCORES_CASES = [
    Case(f"scores {name}", ("leaderboard", "show", "--dir", f"{{d}}/board_{name}"), words)
    for name, (_, words) in BAD_SCORES.items()
]
ENTRY_CASES = [
    Case(f"entry {name}", ("leaderboard", "add", f"{{d}}/entry_{name}.toml", "--dir", "{d}/board"), words)
    for name, (_, words) in BAD_ENTRIES.items()
]
CASES = FLAG_CASES + SUITE_CASES + NPZ_CASES + REPORT_CASES + SCORES_CASES + ENTRY_CASES


def test_the_corpus_is_large_and_its_names_unique() -> None:
    assert len(CASES) >= 150 and len({c.name for c in CASES}) == len(CASES)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    made = tmp_path_factory.mktemp("bad")
    bad_files(made)
    return made


@pytest.mark.parametrize("bad", CASES, ids=[c.name for c in CASES])
def test_a_bad_input_ends_in_one_line_and_exit_2(
    bad: Case, folder: Path, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, "exiting_module", raising=False)
    argv = [part.replace("{d}", str(folder)) for part in bad.argv]
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's refusals
        code = exit_.code
    err = capsys.readouterr().err
    assert code == bad.code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    line = lines[0].replace(str(folder) + "/", "")
    assert line.startswith("rscbench"), line
    for word in bad.words:
        assert word.replace("{d}/", "") in line, (word, line)
    assert not (tmp_path / "runs").exists(), "a refused run wrote its run directory"
