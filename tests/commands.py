"""Run the `rscbench` command as a user would: a new Python process, output captured."""

import subprocess
import sys
from pathlib import Path


def rscbench(
    arguments: list[str], cwd: Path | None = None, env: dict | None = None
) -> subprocess.CompletedProcess:
    """`python -m rscbench.cli ARGUMENTS` in ``cwd`` (default: here), its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "rscbench.cli", *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
        env=env,
    )
