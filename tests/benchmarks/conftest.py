"""Fixtures of the benchmark-harness tests: a scratch git repository of a torch-free toy project
with four commits, for real asv runs (environment creation takes seconds: no torch)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from asv.util import load_json
from asv_harness import REPO

TOY_MODULE = """import time

DELAY = {delay}
METRIC = {metric}


def work():
    time.sleep(DELAY)


def metric():
    return METRIC
"""

TOY_BENCHMARKS = """import asvtoy


class Toy:
    number = 1
    repeat = 5

    def time_work(self):
        asvtoy.work()

    def track_metric(self):
        return asvtoy.metric()

    track_metric.unit = "1"
"""

TOY_PYPROJECT = """[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "asvtoy"
version = "0"

[tool.setuptools]
py-modules = ["asvtoy"]
"""

TOY_CONFIG_KEYS = ("build_command", "install_command", "launch_method", "env_dir", "results_dir", "html_dir")
"""Taken from the repository's asv.conf.json, so the toy runs the same build, install and launch."""


def _toy_config(python: str) -> str:
    ours = load_json(str(REPO / "asv.conf.json"), js_comments=True)
    config = {
        "version": 1,
        "project": "asvtoy",
        "repo": ".",
        "branches": ["main"],
        "environment_type": "virtualenv",
        "pythons": [python],
        "benchmark_dir": "benchmarks/asv",
    } | {key: ours[key] for key in TOY_CONFIG_KEYS}
    return json.dumps(config, indent=4)


@dataclass(frozen=True)
class ToyRepo:
    """The scratch repository: its path, the environment to run asv in, and its commits by role.

    Commits: ``base``; ``unchanged`` (a note added, no code change); ``slower`` (work() sleeps
    20 ms instead of 10 ms, a 2x slowdown); ``metric`` (back to 10 ms, the tracked metric 0.5 -> 0.6).
    """

    path: Path
    env: dict[str, str]
    commits: dict[str, str]
    machine: str = "scratch"

    def run(self, *command: str) -> subprocess.CompletedProcess:
        """Run ``command`` in the repository with the scratch environment; output captured as text."""
        return subprocess.run(
            command, cwd=self.path, env=self.env, capture_output=True, text=True, check=False, timeout=300
        )


def _git(path: Path, *args: str) -> str:
    identity = ["-c", "user.name=scratch", "-c", "user.email=scratch@example.invalid"]
    done = subprocess.run(["git", *identity, *args], cwd=path, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _commit(path: Path, message: str) -> str:
    _git(path, "add", "-A")
    _git(path, "commit", "-q", "-m", message)
    return _git(path, "rev-parse", "HEAD")


@pytest.fixture(scope="session")
def toy_repo(tmp_path_factory: pytest.TempPathFactory) -> ToyRepo:
    """A four-commit toy asv project with its asv machine configured (a private HOME)."""
    root = tmp_path_factory.mktemp("asv-toy")
    path, home = root / "repo", root / "home"
    (path / "benchmarks" / "asv").mkdir(parents=True)
    home.mkdir()
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    (path / "pyproject.toml").write_text(TOY_PYPROJECT)
    (path / "asv.conf.json").write_text(_toy_config(python))
    (path / ".gitignore").write_text(".asv/\n")
    (path / "benchmarks" / "asv" / "__init__.py").write_text("")
    (path / "benchmarks" / "asv" / "toy.py").write_text(TOY_BENCHMARKS)
    toy = path / "asvtoy.py"
    toy.write_text(TOY_MODULE.format(delay=0.01, metric=0.5))
    _git(path, "init", "-q", "-b", "main")
    commits = {"base": _commit(path, "toy: base")}
    (path / "NOTES").write_text("no code change\n")
    commits["unchanged"] = _commit(path, "toy: a note, no code change")
    toy.write_text(TOY_MODULE.format(delay=0.02, metric=0.5))
    commits["slower"] = _commit(path, "toy: work() twice as slow")
    toy.write_text(TOY_MODULE.format(delay=0.01, metric=0.6))
    commits["metric"] = _commit(path, "toy: speed restored, tracked metric 0.5 -> 0.6")

    env = dict(os.environ, HOME=str(home))
    env.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    repo = ToyRepo(path, env, commits)
    done = repo.run(sys.executable, "-m", "asv", "machine", "--yes", "--machine", repo.machine)
    assert done.returncode == 0, done.stdout + done.stderr
    return repo
