"""Dataclasses read from rows whose columns bear their field names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Row = TypeVar("Row", bound="DataclassInstance")


def from_row(cls: type[Row], row: Mapping[str, Any], **converted: Any) -> Row:
    """An instance of ``cls`` with each field taken from the column of its name, except
    those given as ``converted``: values the column holds in another form (JSON text,
    an array for a tuple). Columns that no field names are passed over, so one query
    may feed a larger record."""
    taken = {f.name: row[f.name] for f in fields(cls) if f.name not in converted}
    return cls(**taken, **converted)
