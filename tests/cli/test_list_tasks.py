"""`rscbench list tasks SUITE` (in the README) lists every task; it once crashed with a TypeError."""

import re
import subprocess
import sys

from rscbench.run.suites import load_suite


def test_list_tasks_of_cpu_default_prints_every_task_and_exits_0() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rscbench.cli", "list", "tasks", "cpu-default"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    suite = load_suite("cpu-default")
    lines = [line for line in done.stdout.splitlines() if re.match(r"\s+[0-9a-f]{16}\s", line)]
    assert len(lines) == len(suite.tasks()) == 159
    assert done.stdout.startswith("cpu-default: 159 tasks")
    ids = {line.split()[0] for line in lines}
    assert ids == {task.task_id for task in suite.tasks()}
    headers = re.findall(r"^([a-z0-9-]+): (\d+) tasks", done.stdout, flags=re.MULTILINE)[1:]
    assert {name for name, _ in headers} == {e.name for e in suite.experiments}
    assert sum(int(count) for _, count in headers) == 159
