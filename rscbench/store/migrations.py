"""The store's SQLite schema as numbered migrations: each upgrades a store by one version, in order."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]


def _create_tables(connection: sqlite3.Connection) -> None:
    """Migration 1: the ``meta`` key-value table and the ``tasks`` table, one row per task."""
    connection.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    connection.execute(
        """CREATE TABLE tasks (
            task_id TEXT PRIMARY KEY,
            spec TEXT NOT NULL,
            status TEXT NOT NULL,
            message TEXT NOT NULL,
            wall_seconds REAL NOT NULL,
            peak_memory_bytes INTEGER,
            metrics TEXT NOT NULL,
            trajectory TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT NOT NULL,
            rscbench_version TEXT NOT NULL,
            measurement_version TEXT NOT NULL
        )"""
    )


def _add_device_column(connection: sqlite3.Connection) -> None:
    """Migration 2: the device each task ran on; tasks stored before it read ``"unknown"``."""
    connection.execute("ALTER TABLE tasks ADD COLUMN device TEXT NOT NULL DEFAULT 'unknown'")


def _index_status(connection: sqlite3.Connection) -> None:
    """Migration 3: an index on status, for finding failed tasks without a full scan."""
    connection.execute("CREATE INDEX tasks_by_status ON tasks (status)")


def _add_provenance_columns(connection: sqlite3.Connection) -> None:
    """Migration 4: each task's experiment, torch thread count, wall seconds per quantity and the
    warnings it raised; tasks stored before it read NULL, NULL, ``{}`` and ``[]``."""
    connection.execute("ALTER TABLE tasks ADD COLUMN experiment TEXT")
    connection.execute("ALTER TABLE tasks ADD COLUMN threads INTEGER")
    connection.execute("ALTER TABLE tasks ADD COLUMN quantity_seconds TEXT NOT NULL DEFAULT '{}'")
    connection.execute("ALTER TABLE tasks ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]'")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _create_tables,
    _add_device_column,
    _index_status,
    _add_provenance_columns,
]
"""Numbered schema migrations: ``MIGRATIONS[k - 1]`` upgrades a store from version k-1 to k.

Append only: a released migration is never edited, since stores written with it exist.
"""

SCHEMA_VERSION: int = len(MIGRATIONS)
"""The newest store schema this code reads and writes."""
