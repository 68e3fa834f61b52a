"""CSV one line at a time, for streamed downloads in constant memory (pure).

csv.writer writes into a file; given `Echo`, its `writerow` hands back the line it wrote instead,
so a generator can yield each line to a StreamingHttpResponse:

    writer = LineWriter()
    yield writer.writerow(["time", "value"])

(carbon's readings download and the ESG report's CSVs.)
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

__all__ = ["Echo", "LineWriter", "csv_lines"]


class Echo:
    """A file-like sink for csv.writer that hands back the one line just written."""

    def write(self, value: str) -> str:
        return value


class LineWriter:
    """A csv.writer whose `writerow` returns the line (with its `\\r\\n`) instead of storing it."""

    def __init__(self) -> None:
        self._writer = csv.writer(Echo())

    def writerow(self, row: Iterable[object]) -> str:
        line: str = self._writer.writerow(row)
        return line


def csv_lines(rows: Iterable[Iterable[object]], header: Iterable[object] | None = None) -> Iterator[str]:
    """Each row (the header first, when given) as one CSV line."""
    writer = LineWriter()
    if header is not None:
        yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)
