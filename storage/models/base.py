"""The declarative base every model derives from, with the constraint naming convention.

The convention gives every index, unique constraint, check, foreign key and primary key a predictable
name, so Alembic migrations can refer to them by name on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import enum

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _enum_values(e: type[enum.StrEnum]) -> list[str]:
    return [m.value for m in e]
