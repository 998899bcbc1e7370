"""The header row: which column is which field, and what is wrong with it."""

from __future__ import annotations

from dataclasses import dataclass

from storage.importer.base import Kind
from storage.importer.errors import ProblemLog


@dataclass(frozen=True, slots=True)
class Header:
    """``known`` pairs each position with its field; ``present`` is the set of fields the file has."""

    width: int
    known: tuple[tuple[int, str], ...]
    present: frozenset[str]


def read_header(kind: Kind, values: list[str], line: int, log: ProblemLog) -> Header | None:
    """The header, with every problem logged; None when rows cannot be read with it.

    Names are compared without surrounding spaces and case. Unknown or unnamed columns are errors but
    the rows are still checked (their values are ignored); a missing required column or a column named
    twice makes the rows unreadable.
    """
    accepted = kind.columns()
    expected = ", ".join(accepted)
    known: list[tuple[int, str]] = []
    seen: set[str] = set()
    usable = True
    for index, raw in enumerate(values):
        name = raw.strip().lower()
        if not name:
            log.add(line, f"column {index + 1}", "has no name")
        elif name not in accepted:
            log.add(line, raw.strip(), f"unknown column (expected: {expected})")
        elif name in seen:
            log.add(line, name, "appears twice in the header")
            usable = False
        else:
            seen.add(name)
            known.append((index, name))
    for name in kind.required:
        if name not in seen:
            log.add(line, name, "required column is missing")
            usable = False
    if not usable:
        return None
    return Header(width=len(values), known=tuple(known), present=frozenset(seen))
