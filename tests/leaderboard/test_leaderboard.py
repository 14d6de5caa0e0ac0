"""Leaderboard: entries and their validation, factory models, the suite's version, scoring and ranking."""

import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from tiny_suites import ENTRIES, REPOSITORY, TINY_SUITE, copy_entries, tiny_suite

from rscbench.analysis.verdicts import (
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    NOT_MEASURED,
    NOT_SUPPORTED,
    SUPPORTED,
    Verdict,
)
from rscbench.errors import InvalidArgumentError
from rscbench.leaderboard.build import add_entry, build_leaderboard, read_scores
from rscbench.leaderboard.entries import load_entries, parse_entry
from rscbench.leaderboard.scoring import CHECKS, EntryScore, _combined, _status, rank_scores
from rscbench.leaderboard.suite import load_leaderboard_suite
from rscbench.leaderboard.tables import leaderboard_latex, leaderboard_markdown
from rscbench.run.specs import ModelSpec, TaskSpec, task_from_flat
from rscbench.run.task import measure_task

HERE = Path(__file__).resolve().parent
FACTORY = "factories:wrapped_paper_tanh"


def cli(*arguments: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    environment = os.environ | {"PYTHONPATH": os.pathsep.join([str(HERE), str(REPOSITORY)])}
    return subprocess.run(
        [sys.executable, "-m", "rscbench.cli", *arguments],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        check=False,
    )


def entry_document(**model) -> dict:
    return {"name": "mine", "author": "A. Author", "description": "my model", "model": model}


def test_shipped_entries_cover_every_activation_below_and_above_sigma1_one_and_a_factory() -> None:
    entries = load_entries(REPOSITORY / "leaderboard" / "entries")
    paper = {(e.model["activation"], e.model["sigma1"]) for e in entries if not e.is_factory}
    assert paper == {
        (a, s) for a in ("tanh", "softplus", "gelu", "silu", "sigmoid", "relu") for s in (0.5, 2.0)
    }
    factories = [e for e in entries if e.is_factory]
    assert [e.model["arch"] for e in factories] == ["rscbench.leaderboard.example_models:residual_tanh"]


@pytest.mark.parametrize(
    ("document", "named"),
    [
        (entry_document() | {"colour": "red"}, "colour"),
        (entry_document() | {"name": "My Model"}, "name"),
        (entry_document() | {"author": " "}, "author"),
        (entry_document(sigma1=-1.0), "[model]"),
        (entry_document(width=64), "model.width"),
        (entry_document(arch="not a reference"), "[model]"),
        (entry_document(arch=FACTORY, activation="relu"), "[model]"),
    ],
)
def test_bad_entries_are_refused_naming_the_field(document: dict, named: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        parse_entry(document, "entry.toml")
    assert caught.value.argument == f"entry.toml: {named}"


@pytest.mark.parametrize(
    ("factory", "reason"),
    [
        ("no_such_module_here:f", "importable"),
        ("factories:missing", "a function missing"),
        ("factories:global_rng", "only from its generator"),
        ("factories:two_outputs", "one scalar per input row"),
        ("factories:not_a_module", "returning an nn.Module"),
    ],
)
def test_add_refuses_a_broken_factory_naming_what_is_wrong(tmp_path, factory: str, reason: str) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(f'name = "mine"\nauthor = "me"\ndescription = "d"\n[model]\narch = "{factory}"\n')
    with pytest.raises(InvalidArgumentError, match=reason) as caught:
        add_entry(path, tmp_path / "lb", suite=tiny_suite(tmp_path))
    assert caught.value.argument == "entry mine: model.arch"
    assert not (tmp_path / "lb" / "entries" / "mine.toml").exists()


def test_add_command_exits_2_with_one_line_for_a_broken_entry(tmp_path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        'name = "mine"\nauthor = "me"\ndescription = "d"\n[model]\narch = "factories:global_rng"\n'
    )
    result = cli(
        "leaderboard", "add", str(path), "--dir", str(tmp_path / "lb"), "--suite", tiny_suite(tmp_path)
    )
    assert result.returncode == 2 and "only from its generator" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_add_stores_a_valid_factory_entry_and_refuses_a_taken_name(tmp_path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(f'name = "mine"\nauthor = "me"\ndescription = "d"\n[model]\narch = "{FACTORY}"\n')
    folder = tmp_path / "lb"
    result = cli("leaderboard", "add", str(path), "--dir", str(folder), "--suite", tiny_suite(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (folder / "entries" / "mine.toml").read_text() == path.read_text()
    other = tmp_path / "other" / "mine.toml"
    other.parent.mkdir()
    other.write_text(path.read_text().replace('"d"', '"another"'))
    with pytest.raises(InvalidArgumentError, match="not yet taken"):
        add_entry(other, folder, suite=tiny_suite(tmp_path))


def test_factory_model_measures_like_the_paper_network_through_the_generic_kernels() -> None:
    """A factory wrapping paper_mlp has the same weights; the generic kernels must agree with the
    structured ones the paper's network uses (an independent path to the same numbers)."""
    common = {
        "width": 32,
        "depth": 2,
        "n": 12,
        "d": 4,
        "probes": 4,
        "quantities": ["Q1", "Q4", "Q10"],
        "seed": 3,
    }
    paper = measure_task(task_from_flat(common)).metrics
    factory = measure_task(task_from_flat(common | {"arch": FACTORY})).metrics
    for name in ("loss", "predictor_hessian_max", "g_bar_sqnorm", "ntk_lambda_max"):
        assert factory[name] == pytest.approx(paper[name], rel=2e-3), name
    assert factory["predictor_hessian_strategy"] != paper["predictor_hessian_strategy"]


def test_paper_task_ids_do_not_change_and_factory_tasks_refuse_paper_fields() -> None:
    assert TaskSpec().canonical()["model"] == {
        "arch": "paper_mlp",
        "width": 256,
        "depth": 2,
        "activation": "tanh",
        "sigma1": 1.0,
        "scale_input": True,
    }
    assert ModelSpec(arch=FACTORY).is_factory and not ModelSpec().is_factory
    with pytest.raises(InvalidArgumentError, match=r"model\.sigma1"):
        ModelSpec(arch=FACTORY, sigma1=0.5)
    with pytest.raises(InvalidArgumentError, match=r"task\.loss"):
        task_from_flat({"arch": FACTORY, "loss": "cross_entropy", "dataset": "mnist1d"})


def test_suite_version_changes_with_the_suite_and_refuses_suites_that_set_the_model(tmp_path) -> None:
    first = load_leaderboard_suite(tiny_suite(tmp_path))
    assert first.version == load_leaderboard_suite(tiny_suite(tmp_path)).version
    changed = load_leaderboard_suite(
        tiny_suite(tmp_path, TINY_SUITE.replace("gd_steps = 12", "gd_steps = 13"))
    )
    assert changed.version != first.version and changed.version.startswith("tiny-leaderboard-")
    with pytest.raises(InvalidArgumentError, match=r"model\.activation"):
        load_leaderboard_suite(
            tiny_suite(tmp_path, TINY_SUITE.replace("n = 10", 'n = 10\nactivation = "gelu"'))
        )


def test_committed_scores_are_of_the_shipped_suite_version_and_cover_every_entry() -> None:
    """A changed suite, measurement version or scoring rule needs `rscbench leaderboard build` again."""
    scores = read_scores(REPOSITORY / "leaderboard")
    assert scores["version"] == load_leaderboard_suite().version, "rebuild: rscbench leaderboard build"
    names = sorted(e.name for e in load_entries(REPOSITORY / "leaderboard" / "entries"))
    assert sorted(entry["name"] for entry in scores["entries"]) == names
    assert [entry["rank"] for entry in scores["entries"]] == list(range(1, len(names) + 1))
    assert all(entry["version"] == scores["version"] for entry in scores["entries"])


def test_build_scores_every_entry_resumes_and_never_mixes_versions(built, tmp_path) -> None:
    build = built["build"]
    assert sorted(score.name for score in build.scores) == sorted(ENTRIES)
    assert build.summary.statuses == {"ok": build.summary.total} and build.summary.skipped == 0
    for score in build.scores:
        assert score.tasks == 16 and score.tasks_missing == 0 and set(score.checks) == set(CHECKS)
        assert score.gd_runs == 2 and math.isfinite(score.hessian_exponent)
        assert score.hessian_ci[0] <= score.hessian_exponent <= score.hessian_ci[1]
    scores = json.loads((built["folder"] / "scores.json").read_text())
    assert [e["name"] for e in scores["entries"]] == [s.name for s in build.scores]
    assert len(pd.read_csv(built["folder"] / "leaderboard.csv")) == 3

    folder = tmp_path / "lb"
    copy_entries(folder, ENTRIES[:1])
    (folder / "store.sqlite").write_bytes((built["folder"] / "store.sqlite").read_bytes())
    again = build_leaderboard(folder, suite=built["suite"], progress_stream=io.StringIO())
    assert again.summary.skipped == again.summary.total == 16 and again.version == build.version
    changed = tiny_suite(tmp_path, TINY_SUITE.replace("gd_steps = 12", "gd_steps = 13"))
    rebuilt = build_leaderboard(folder, suite=changed, progress_stream=io.StringIO())
    assert rebuilt.version != build.version and rebuilt.summary.total - rebuilt.summary.skipped == 2
    assert rebuilt.scores[0].version == rebuilt.version and rebuilt.scores[0].tasks == 16


def score(name: str, **values) -> EntryScore:
    base = {
        "name": name,
        "author": "a",
        "description": "d",
        "model": {},
        "model_label": "m",
        "covered_by_theory": True,
        "version": "v",
        "tasks": 10,
        "tasks_missing": 0,
        "tasks_failed": 0,
        "checks": dict.fromkeys(CHECKS, "supported"),
        "hessian_exponent": -0.5,
        "hessian_ci": (-0.6, -0.4),
        "gbar_exponent": 0.0,
        "rsc_certified_fraction": 1.0,
        "rsc_ci": (1.0, 1.0),
        "gd_runs": 3,
        "gd_reached": 3,
        "gd_diverged": 0,
        "median_steps_to_target": 100.0,
        "geometric_rate": 0.9,
        "ntk_drift": 1.0,
        "certified_without_progress": False,
        "compute_seconds": 1.0,
    }
    return EntryScore(**(base | values))


def test_ranking_rule_applies_each_tie_break_in_order() -> None:
    failed_v5 = dict.fromkeys(CHECKS, "supported") | {"V5": "not supported"}
    unsure_v5 = dict.fromkeys(CHECKS, "supported") | {"V5": "inconclusive"}
    scores = [
        score("z-incomplete", tasks_missing=1, median_steps_to_target=1.0),
        score("y-fails-v5", checks=failed_v5, median_steps_to_target=1.0),
        score("x-unsure-v5", checks=unsure_v5),
        score("w-censored", median_steps_to_target=math.inf),
        score("v-slow", median_steps_to_target=200.0),
        score("u-fast", median_steps_to_target=50.0),
        score("t-less-certified", median_steps_to_target=50.0, rsc_certified_fraction=0.5),
        score("s-slower-rate", median_steps_to_target=50.0, geometric_rate=0.95),
        score("r-no-rate", median_steps_to_target=50.0, geometric_rate=math.nan),
        score("a-same-as-u", median_steps_to_target=50.0),
    ]
    ranked = rank_scores(scores)
    assert [s.name for s in ranked] == [
        "a-same-as-u",
        "u-fast",
        "s-slower-rate",
        "r-no-rate",
        "t-less-certified",
        "v-slow",
        "w-censored",
        "x-unsure-v5",
        "y-fails-v5",
        "z-incomplete",
    ]
    assert [s.rank for s in ranked] == list(range(1, 11))
    assert [s.name for s in rank_scores(list(reversed(scores)))] == [s.name for s in ranked]


def test_checks_read_each_verdict_form_with_v2_controls_complemented() -> None:
    """A control's V2 row judges "exponential growth": on the leaderboard's V2 claim (no exponential
    growth) its holds reads as fails and the reverse; a claim passes only if all its rows pass, fails
    if any fails, and "not measured" counts only when nothing else judged it."""
    exponential = Verdict("V6", "exponential", "tanh sigma1=2", HOLDS, covered=False, form="V2")
    assert _status(exponential) == FAILS
    assert _status(Verdict("V6", "c", "tanh sigma1=2", FAILS, covered=False, form="V2")) == HOLDS
    assert _status(Verdict("V2", "no growth", "tanh sigma1=0.5", SUPPORTED)) == SUPPORTED
    assert _status(Verdict("V6", "c", "relu sigma1=1", HOLDS, covered=False, form="V1")) == HOLDS
    assert _combined([SUPPORTED, SUPPORTED]) == SUPPORTED
    assert _combined([HOLDS, NOT_MEASURED]) == HOLDS
    assert _combined([SUPPORTED, INCONCLUSIVE]) == INCONCLUSIVE
    assert _combined([INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED]) == NOT_SUPPORTED
    assert _combined([HOLDS, FAILS]) == FAILS
    assert _combined([NOT_MEASURED]) == _combined([]) == NOT_MEASURED


def test_a_control_entry_is_scored_on_the_same_forms(built) -> None:
    relu = next(s for s in built["build"].scores if s.name == "paper-relu-sigma2.0")
    assert not relu.covered_by_theory
    assert set(relu.checks.values()) <= {HOLDS, FAILS, INCONCLUSIVE, NOT_MEASURED}


def test_tables_render_every_entry_with_escaped_text(built) -> None:
    entries = read_scores(built["folder"])["entries"]
    markdown = leaderboard_markdown(entries)
    assert markdown.count("\n| ") == len(entries) and "| 1 | " in markdown
    latex = leaderboard_latex(entries)
    assert r"rscbench.leaderboard.example\_models:residual\_tanh" in latex and latex.count(r"\\") == 4
    shown = cli("leaderboard", "--dir", str(built["folder"]))
    assert shown.returncode == 0 and built["build"].version in shown.stdout and "resmlp-tanh" in shown.stdout


def test_build_command_resumes_from_the_store_and_prints_the_table(built, tmp_path) -> None:
    folder = tmp_path / "lb"
    copy_entries(folder)
    (folder / "store.sqlite").write_bytes((built["folder"] / "store.sqlite").read_bytes())
    result = cli("leaderboard", "build", "--dir", str(folder), "--suite", built["suite"])
    assert result.returncode == 0, result.stderr
    assert "48 tasks (48 already stored, 0 run" in result.stdout and "| 1 | " in result.stdout
    assert json.loads((folder / "scores.json").read_text())["version"] == built["build"].version
    missing = cli("leaderboard", "--dir", str(tmp_path / "nothing"))
    assert missing.returncode == 2 and "rscbench leaderboard build" in missing.stderr
