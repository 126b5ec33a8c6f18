"""One model made from another whose fields it names alike: a fold's record of its event,
a view of a status, a receipt of what the store recorded."""

from __future__ import annotations

import dataclasses
from typing import TypeVar

from pydantic import BaseModel

Made = TypeVar("Made", bound=BaseModel)


def _field_names(source: object) -> set[str]:
    # Only declared fields count: a property or a method that happens to share a field's
    # name is not what the source holds.
    if isinstance(source, BaseModel):
        return set(type(source).model_fields)
    if dataclasses.is_dataclass(source):
        return {f.name for f in dataclasses.fields(source)}
    raise TypeError(f"{type(source).__name__} is neither a pydantic model nor a dataclass")


def alike(made: type[Made], source: object, **rest: object) -> Made:
    """A ``made`` with each field that ``source`` names alike taken from it; ``rest``
    gives those it names otherwise or does not carry. Validated like any other."""
    taken = (made.model_fields.keys() & _field_names(source)) - rest.keys()
    return made.model_validate({**{name: getattr(source, name) for name in taken}, **rest})
