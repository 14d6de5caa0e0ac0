"""Loaders for the benchmark-harness tests: the repo's benchmark scripts and its asv suite, by path.

The asv suite folder is named ``asv`` (asv imports it under its folder name) and ``benchmarks/``
is no package, so neither goes on sys.path here, where it would shadow the installed asv: both
are loaded from their files under private module names.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO / "benchmarks"
SUITE_PACKAGE = "rscbench_asv_suite"


def load_script(name: str) -> ModuleType:
    """The module of ``benchmarks/<name>.py``, imported once under the name ``rscbench_<name>``."""
    module_name = f"rscbench_{name}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]


def load_suite_module(name: str) -> ModuleType:
    """The module ``benchmarks/asv/<name>.py`` of the asv suite, imported as a package member."""
    if SUITE_PACKAGE not in sys.modules:
        root = BENCHMARKS / "asv"
        spec = importlib.util.spec_from_file_location(
            SUITE_PACKAGE, root / "__init__.py", submodule_search_locations=[str(root)]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules[SUITE_PACKAGE] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"{SUITE_PACKAGE}.{name}")
