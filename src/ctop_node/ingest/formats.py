"""Choosing a reader by ``--format`` or by file extension (``.gz`` variants included)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ctop_node.errors import UsageError
from ctop_node.i18n import _
from ctop_node.ingest.csv_ import CsvReader
from ctop_node.ingest.interfaces import Reader
from ctop_node.ingest.json_ import JsonReader
from ctop_node.ingest.ndjson import NdjsonReader
from ctop_node.ingest.xml_ import XmlReader

READERS: dict[str, Callable[[], Reader]] = {
    "ndjson": NdjsonReader,
    "json": JsonReader,
    "xml": XmlReader,
    "csv": CsvReader,
}
EXTENSIONS = {
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json": "json",
    ".xml": "xml",
    ".csv": "csv",
}


def format_of(path: Path) -> str | None:
    """The format a file name implies (``a.ndjson.gz`` -> ``ndjson``), or None."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return EXTENSIONS.get(suffixes[-1]) if suffixes else None


def reader_for(path: Path, fmt: str | None = None) -> Reader:
    """The reader for ``fmt`` (``ndjson|json|xml|csv``), else for the file's extension.
    Gzipped files are recognised by their content by every reader."""
    name = fmt.lower().strip() if fmt else format_of(path)
    if name is None or name not in READERS:
        known = ", ".join(READERS)
        if fmt:
            message = _("unknown input format {fmt!r}; use one of: {known}")
        else:
            message = _("cannot tell the format of {path} from its name; give --format ({known})")
        raise UsageError(message.format(fmt=fmt, path=path, known=known), code="usage.format")
    return READERS[name]()
