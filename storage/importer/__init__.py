"""Importing CSV files: people, accounts, usage, surveys and milestones.

``await import_file(db, "usage", path)`` validates the whole file first and then writes all of it in
one transaction, or nothing; see :mod:`storage.importer.run`. Each kind's row validator
(:meth:`Kind.validate`) takes a mapping of field -> value, so the JSON ingest API can reuse it.
"""

from storage.importer.base import ImportOptions, Kind, Record
from storage.importer.errors import (
    MAX_REPORTED,
    FieldProblem,
    ImportDatabaseError,
    ImportFailedError,
    ImportFileError,
    ImportValidationError,
    Problem,
)
from storage.importer.reading import ProgressCallback
from storage.importer.records import (
    PreparedRecords,
    RecordProblem,
    RecordsValidationError,
    load_kind,
    validate_records,
    write_records,
)
from storage.importer.run import KINDS, ImportResult, import_file

__all__ = [
    "KINDS",
    "MAX_REPORTED",
    "FieldProblem",
    "ImportDatabaseError",
    "ImportFailedError",
    "ImportFileError",
    "ImportOptions",
    "ImportResult",
    "ImportValidationError",
    "Kind",
    "PreparedRecords",
    "Problem",
    "ProgressCallback",
    "Record",
    "RecordProblem",
    "RecordsValidationError",
    "import_file",
    "load_kind",
    "validate_records",
    "write_records",
]
