"""Versioned reports of a run: the report folder (JSON, CSV, Markdown, HTML, LaTeX, plots), its
schema and migrations, and the comparison of two reports."""

from rscbench.report.compare import Comparison, compare_reports
from rscbench.report.folders import complete_reports, update_index
from rscbench.report.schema import REPORT_SCHEMA_VERSION, load_report, migrate_report
from rscbench.report.writer import Report, git_state, latex_table, write_report

__all__ = [
    "REPORT_SCHEMA_VERSION",
    "Comparison",
    "Report",
    "compare_reports",
    "complete_reports",
    "git_state",
    "latex_table",
    "load_report",
    "migrate_report",
    "update_index",
    "write_report",
]
