"""Finding repeated natural keys in a file of any size, in memory that does not grow with the file.

Pass 1 feeds every key of every valid row to :class:`KeyLog`: an 8-byte hash of the key and the line
(with which of the kind's uniqueness rules it was) go into a small buffer, and every
:data:`BUFFER_ENTRIES` keys the buffer is appended to temporary files, split by the top bits of the
hash. Equal keys have equal hashes, so they always land in the same partition; once the file was read,
each partition is read back alone, sorted with numpy, and neighbours compared. That gives, for every
repeated key, the line of the repeat and the line of its first occurrence, without reading the CSV
file a third time.

Why not a set of hashes: a Python int in a set costs 70-100 bytes, which is hundreds of MB at 10 million
rows. Here the resident cost is the buffer (1 MB) plus one partition at a time (a few MB: the number of
partitions grows with the file's size), and the temporary files hold 16 bytes per key. A file with few
keys never touches the disk. The temporary directory is removed when the scan ends, however it ends.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType

import numpy as np
import numpy.typing as npt

# Keys buffered before they are written out: 16 bytes each, so about 1 MB.
BUFFER_ENTRIES = 1 << 16
# Keys per partition aimed at, assuming a key per 16 bytes of file (more than any kind has), so a
# partition read back is at most a few MB; partitions are a power of two, at most MAX_PARTITIONS.
PARTITION_ENTRIES = 1 << 18
MAX_PARTITIONS = 1 << 12
BYTES_PER_KEY = 16

# One key as stored: its hash, and (line << 8 | rule) so sorting by it orders by line, then rule.
ENTRY = np.dtype([("digest", "<u8"), ("place", "<u8")])
_RULE_BITS = 8
_MAX_RULES = 1 << _RULE_BITS

Entries = npt.NDArray[np.void]
UInt64s = npt.NDArray[np.uint64]


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A key repeated at ``line`` (under the rule named ``columns``) first seen at ``first``."""

    line: int
    columns: str
    first: int


@dataclass(frozen=True, slots=True)
class Duplicates:
    """The first ``limit`` duplicates by line (the kind's rule order within a line) and how many in all."""

    first: list[Duplicate]
    total: int


def partitions_for(size: int) -> int:
    """How many partitions a file of ``size`` bytes gets: a power of two, 1 for a small file."""
    wanted = max(1, size // BYTES_PER_KEY // PARTITION_ENTRIES)
    count = 1
    while count < wanted and count < MAX_PARTITIONS:
        count *= 2
    return count


class KeyLog:
    """Collects the keys of one pass; :meth:`duplicates` says which repeat. Use as a context manager."""

    def __init__(self, size: int) -> None:
        self._partitions = partitions_for(size)
        self._shift = np.uint64(64 - self._partitions.bit_length() + 1)
        self._digests = bytearray()
        self._places: array[int] = array("Q")
        self._rules: dict[str, int] = {}
        self._directory: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> KeyLog:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Remove the temporary files (also done on leaving the ``with`` block)."""
        self._digests = bytearray()
        self._places = array("Q")
        if self._directory is not None:
            self._directory.cleanup()
            self._directory = None

    def add(self, line: int, columns: str, value: str) -> None:
        """Note that ``line`` holds ``value`` under the uniqueness rule ``columns``."""
        rule = self._rules.get(columns)
        if rule is None:
            rule = self._rules[columns] = len(self._rules)
            if rule >= _MAX_RULES:
                raise ValueError(f"a kind has at most {_MAX_RULES} uniqueness rules")
        data = f"{columns}\x1f{value}".encode()
        self._digests += hashlib.blake2b(data, digest_size=8).digest()
        self._places.append(line << _RULE_BITS | rule)
        if len(self._places) >= BUFFER_ENTRIES:
            self._flush()

    def _buffered(self) -> Entries:
        entries = np.empty(len(self._places), dtype=ENTRY)
        entries["digest"] = np.frombuffer(self._digests, dtype="<u8")
        entries["place"] = np.frombuffer(self._places, dtype="<u8")
        self._digests = bytearray()
        self._places = array("Q")
        return entries

    def _partition_of(self, digests: UInt64s) -> UInt64s:
        if self._partitions == 1:
            return np.zeros(len(digests), dtype=np.uint64)
        return digests >> self._shift

    def _flush(self) -> None:
        """Append the buffer to the partition files; a stable sort keeps each partition in line order."""
        entries = self._buffered()
        if not len(entries):
            return
        if self._directory is None:
            self._directory = tempfile.TemporaryDirectory(prefix="touchpoint-import-")
        partition = self._partition_of(entries["digest"])
        order = np.argsort(partition, kind="stable")
        entries, partition = entries[order], partition[order]
        bounds = np.searchsorted(partition, np.arange(self._partitions + 1, dtype=np.uint64))
        for number in range(self._partitions):
            start, end = int(bounds[number]), int(bounds[number + 1])
            if start < end:
                with open(self._path(number), "ab") as handle:
                    entries[start:end].tofile(handle)

    def _path(self, number: int) -> str:
        # A plain string: pathlib interns every part it parses, which grows the interpreter's table.
        assert self._directory is not None
        return os.path.join(self._directory.name, f"{number:04d}.keys")

    def _parts(self) -> Iterator[Entries]:
        """Each partition's entries in line order, one at a time."""
        if self._directory is None:  # everything is still in the buffer: one partition in memory
            yield self._buffered()
            return
        self._flush()
        for number in range(self._partitions):
            path = self._path(number)
            if os.path.exists(path):
                yield np.fromfile(path, dtype=ENTRY)
                os.unlink(path)

    def duplicates(self, limit: int) -> Duplicates:
        """Every key seen more than once: the first ``limit`` repeats by line, and how many in all."""
        names = {rule: columns for columns, rule in self._rules.items()}
        total = 0
        kept: list[UInt64s] = []
        firsts: list[UInt64s] = []
        for entries in self._parts():
            order = np.argsort(entries["digest"], kind="stable")
            digests, places = entries["digest"][order], entries["place"][order]
            del entries, order
            repeat = np.flatnonzero(digests[1:] == digests[:-1]) + 1
            if not len(repeat):
                continue
            total += len(repeat)
            # Where each run of equal hashes starts: its first entry is the earliest line.
            starts = np.zeros(len(digests), dtype=np.intp)
            starts[repeat] = -1
            starts = np.where(starts == 0, np.arange(len(digests)), 0)
            run_start = np.maximum.accumulate(starts)[repeat]
            chosen = np.argsort(places[repeat], kind="stable")[:limit]
            kept.append(places[repeat][chosen])
            firsts.append(places[run_start][chosen])
        if not kept:
            return Duplicates([], 0)
        places_all, firsts_all = np.concatenate(kept), np.concatenate(firsts)
        best = np.argsort(places_all, kind="stable")[:limit]
        found = [
            Duplicate(
                int(place) >> _RULE_BITS, names[int(place) & (_MAX_RULES - 1)], int(first) >> _RULE_BITS
            )
            for place, first in zip(places_all[best], firsts_all[best], strict=True)
        ]
        return Duplicates(found, total)
