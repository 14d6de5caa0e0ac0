"""The result store: every finished task's record in one SQLite file, keyed by task id.

``records`` defines the record and its strict-JSON form (and one-record files for array jobs),
``migrations`` the numbered schema steps, ``sqlite`` the store itself (put, merge, ingest, pandas
frames), ``lock`` the writer's lock (one process at a time runs tasks into a store).
"""

from rscbench.store.lock import StoreBusyError, lock_path, store_lock
from rscbench.store.migrations import MIGRATIONS, SCHEMA_VERSION
from rscbench.store.records import STATUSES, TaskRecord, read_record_file, write_record_file
from rscbench.store.sqlite import ResultStore, remove_store

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "STATUSES",
    "ResultStore",
    "StoreBusyError",
    "TaskRecord",
    "lock_path",
    "read_record_file",
    "remove_store",
    "store_lock",
    "write_record_file",
]
