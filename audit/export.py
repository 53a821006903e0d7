"""Export formats: one record per JSON line, or one per CSV row, and reading them back.

Both carry every field of the record, the chain fields included, and end with the export's
seal (``audit.seal``), so an exported file can be re-verified away from the service
(``audit.seal.check``; ``ragtrust audit check``). In CSV, lists and dicts are JSON cells,
None is an empty cell (optional text is never "", see ``AuditEvent``), a cell a spreadsheet
would run as a formula is prefixed with ``'``, and the seal is a last row whose first cell
is ``_seal`` and whose second is the seal's JSON.
"""

from __future__ import annotations

import csv
import io
import json
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Union, get_args, get_origin

from audit.records import JSON_FIELDS, RECORD_FIELDS, AuditRecord, ExportFormat, dumps
from audit.seal import SEAL_KEY, Seal

MEDIA_TYPES: dict[str, str] = {"jsonl": "application/x-ndjson", "csv": "text/csv"}


_SCALARS = tuple(name for name in RECORD_FIELDS if name not in JSON_FIELDS)
_NESTED = tuple(name for name in RECORD_FIELDS if name in JSON_FIELDS)
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def lines(
    records: Iterable[Mapping[str, Any]],
    fmt: ExportFormat,
    seal: Callable[[], Seal] | None = None,
) -> Iterator[str]:
    """Each record (in stored form, see ``audit.records``) as one line, newline included,
    then the seal (made once the records are through); CSV starts with a header. The stored
    JSON text of lists and dicts is written as it is."""
    if fmt == "jsonl":
        for rec in records:
            head = _COMPACT.encode({name: rec[name] for name in _SCALARS})
            tail = ",".join(f'"{name}":{rec[name]}' for name in _NESTED)
            yield f"{head[:-1]},{tail}}}\n"
        if seal is not None:
            yield dumps({SEAL_KEY: seal().model_dump()}) + "\n"
        return
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")  # RFC 4180; also quotes a lone \r
    writer.writerow(RECORD_FIELDS)
    yield _drain(buf)
    for rec in records:
        writer.writerow([_cell(rec[name]) for name in RECORD_FIELDS])
        yield _drain(buf)
    if seal is not None:
        filler = [""] * (len(RECORD_FIELDS) - 2)
        writer.writerow([SEAL_KEY, seal().model_dump_json(), *filler])
        yield _drain(buf)


def _drain(buf: io.StringIO) -> str:
    text = buf.getvalue()
    buf.seek(0)
    buf.truncate()
    return text


# A spreadsheet runs a cell that starts with one of these as a formula; such a cell (and
# one that already starts with the quote) gets a leading ' that ``read`` takes off again.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)  # str() of a float is its shortest round-tripping repr
    return f"'{text}" if text.startswith(FORMULA_START) else text


def _uncell(cell: str) -> str:
    return cell[1:] if cell.startswith("'") else cell


def _nullable(name: str) -> bool:
    annotation = AuditRecord.model_fields[name].annotation
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


NULLABLE = frozenset(name for name in RECORD_FIELDS if _nullable(name))


def read(stream: Iterable[str], fmt: ExportFormat) -> Iterator[AuditRecord]:
    """Parse an export back into records (the inverse of ``lines``), its seal left out."""
    for item in items(stream, fmt):
        if isinstance(item, AuditRecord):
            yield item


_SEAL_LINE = f'{{"{SEAL_KEY}":'


def items(stream: Iterable[str], fmt: ExportFormat) -> Iterator[AuditRecord | Seal]:
    """Parse an export into its records and its seal, in file order."""
    if fmt == "jsonl":
        for line in stream:
            if line.startswith(_SEAL_LINE):
                yield Seal.model_validate(json.loads(line)[SEAL_KEY])
            elif line.strip():
                yield AuditRecord.model_validate_json(line)
        return
    for row in csv.DictReader(stream):
        if row["timestamp"] == SEAL_KEY:
            yield Seal.model_validate_json(row["request_id"])
            continue
        values: dict[str, Any] = {}
        for name, escaped in row.items():
            cell = _uncell(escaped)
            if name in JSON_FIELDS:
                values[name] = json.loads(cell)
            elif cell == "" and name in NULLABLE:
                values[name] = None
            else:
                values[name] = cell
        yield AuditRecord.model_validate(values)
