"""The bad files of the bad-input corpus (tests/cli/test_bad_inputs.py): suite files, npz files,
stores, reports, leaderboard scores and entries, each wrong in one way, with the words the one-line
error about it must contain; :func:`bad_files` writes them all into a folder."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

import numpy as np

from rscbench.leaderboard.scoring import CHECKS
from rscbench.report.schema import REPORT_SCHEMA_VERSION
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
"""Rows of a dataset too large for any machine."""
TINY = task_from_flat({"width": 4, "n": 8, "d": 3, "quantities": ["Q1"]})


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
KNOWN_SCHEMAS = f"an integer from 1 to {REPORT_SCHEMA_VERSION}"
BAD_REPORTS = {
    # file name: (document, words)
    "only_version": ({"schema_version": 3}, ("suite", "<missing>", "an object with name")),
    "list": ([1, 2], ("report_list.json", "schema_version", KNOWN_SCHEMAS)),
    "version_99": (REPORT | {"schema_version": 99}, ("schema_version", "99", KNOWN_SCHEMAS)),
    "version_text": (REPORT | {"schema_version": "2"}, ("schema_version", "'2'", KNOWN_SCHEMAS)),
    "version_bool": (REPORT | {"schema_version": True}, ("schema_version", "True", KNOWN_SCHEMAS)),
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
