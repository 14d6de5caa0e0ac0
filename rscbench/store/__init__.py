"""The result store: every finished task's record in one SQLite file, keyed by task id.

``records`` defines the record and its strict-JSON form (and one-record files for array jobs),
``migrations`` the numbered schema steps, ``sqlite`` the store itself (put, merge, ingest, pandas
frames).
"""

from rscbench.store.migrations import MIGRATIONS, SCHEMA_VERSION
from rscbench.store.records import STATUSES, TaskRecord, read_record_file, write_record_file
from rscbench.store.sqlite import ResultStore

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "STATUSES",
    "ResultStore",
    "TaskRecord",
    "read_record_file",
    "write_record_file",
]
