"""`rscbench advise`: the text and --json answers of a tiny query, and every bad flag ending in exit 2
with one line naming the flag, the bad value and what is allowed (no traceback, nothing run)."""

from __future__ import annotations

import json

import pytest

from rscbench.cli.main import main

TINY = ["--activation", "tanh", "--depth", "1", "--sigma1", "1", "--min-width", "64", "--max-width", "128"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store holding the tiny query's 6 tasks (run once, through the command)."""
    folder = tmp_path_factory.mktemp("advise-cli")
    assert main(["advise", *TINY, "--store", str(folder), "--threads", "1"]) == 0
    return folder


def test_json_parses_and_holds_the_advice(store, capsys):
    capsys.readouterr()
    assert main(["advise", *TINY, "--store", str(store), "--threads", "1", "--json"]) == 0
    advice = json.loads(capsys.readouterr().out)
    assert advice["query"]["activation"] == "tanh" and advice["query"]["depth"] == 1
    assert (advice["tasks_run"], advice["tasks_reused"]) == (0, 6)
    assert [row["width"] for row in advice["widths"]] == [64, 128]
    assert advice["answer"]["how"] in ("observed", "extrapolated", "undetermined")
    assert {"m_star", "m_star_ci", "observed_crossing", "regime"} <= set(advice["answer"])
    assert {"g_bar_sqnorm", "gauss_newton", "per_layer_factor"} <= set(advice["infinite_width"])
    assert advice["theorem_threshold"] > 0 and advice["c_H"] > 0


def test_text_names_every_part_of_the_answer(store, capsys):
    capsys.readouterr()
    assert main(["advise", *TINY, "--store", str(store)]) == 0
    out = capsys.readouterr().out
    for words in ("regime: ", "answer: ", "m*: ", "observed crossing: ", "theorem's own threshold",
                  "c_H = sqrt(m)", "infinite width", "stopped: max width", "(0 run, 6 reused)"):  # fmt: skip
        assert words in out
    assert out.count("uncertified") + out.count("certified-at-init") == 2  # one row per width


def exit_code(argv: list[str]) -> int:
    """main's exit code, whether it returns it or argparse exits with it."""
    try:
        return main(argv)
    except SystemExit as stop:
        return int(stop.code)


BASE = ["advise", "--activation", "tanh", "--depth", "1", "--sigma1", "1"]
BAD_FLAGS = [
    (["--activation", "swish2"], ("--activation", "'swish2'", "tanh")),
    (["--depth", "0"], ("--depth", "'0'", "integer >= 1")),
    (["--depth", "two"], ("--depth", "'two'", "integer >= 1")),
    (["--sigma1", "0"], ("--sigma1", "0.0", "> 0")),
    (["--sigma1", "-1"], ("--sigma1", "-1.0", "> 0")),
    (["--sigma1", "nan"], ("--sigma1", "nan", "finite")),
    (["--sigma1", "big"], ("--sigma1", "'big'")),
    (["--kappa", "0"], ("--kappa", "0.0", "(0, 1]")),
    (["--kappa", "1.5"], ("--kappa", "1.5", "(0, 1]")),
    (["--dataset", "imagenet"], ("--dataset", "'imagenet'", "sphere")),
    (["--n", "0"], ("--n", "'0'", "integer >= 1")),
    (["--n", "2.5"], ("--n", "'2.5'", "integer >= 1")),
    (["--d", "-3"], ("--d", "'-3'", "integer >= 1")),
    (["--dataset", "digits", "--d", "10"], ("--d", "10", "native dimension")),
    (["--loss", "logistic"], ("--loss", "'logistic'", "square")),
    (["--min-width", "0"], ("--min-width", "'0'", "integer >= 1")),
    (["--max-width", "100", "--min-width", "256"], ("--max-width", "100", "[256,")),
    (["--budget-seconds", "0"], ("--budget-seconds", "'0'", "> 0")),
    (["--threads", "0"], ("--threads", "'0'", "integer >= 1")),
]


@pytest.mark.parametrize(("extra", "words"), BAD_FLAGS, ids=[" ".join(extra) for extra, _ in BAD_FLAGS])
def test_bad_flag_exits_2_with_one_line(extra, words, tmp_path, capsys):
    code = exit_code([*BASE, *extra, "--store", str(tmp_path / "store")])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err
    for word in words:
        assert word in lines[0]
    assert not (tmp_path / "store" / "store.sqlite").exists()  # refused before anything ran


def test_unwritable_store_exits_2_with_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main([*BASE, "--store", str(blocker / "store")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "--store" in lines[0] and "a folder this user may write" in lines[0]


def test_missing_required_flag_exits_2(capsys):
    assert exit_code(["advise", "--activation", "tanh", "--depth", "1"]) == 2
    assert "--sigma1" in capsys.readouterr().err
