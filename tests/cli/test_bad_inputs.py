"""The bad-input corpus: every way a careless or hostile user feeds rscbench wrong input (flags, suite
files, npz files, stores, reports, leaderboard entries and scores, publish folders) ends in exit
code 2 and one line on stderr that names the field, the bad value and what is allowed; never a
traceback, never a run that starts.

Each case is data: the command (``{d}`` is the folder of bad files :func:`bad_files` writes), the
exit code, and the words the line must contain. The command runs in-process (rscbench.cli.main), in
a scratch working folder, so the corpus takes seconds.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from bad_files import BAD_ARRAYS, BAD_ENTRIES, BAD_REPORTS, BAD_SCORES, BAD_SUITES, BIG, TINY, bad_files

from rscbench.cli.main import main

PROJECT = "--reports {d}/project/reports --leaderboard {d}/project/leaderboard"


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
