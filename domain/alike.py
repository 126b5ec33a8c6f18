"""One model made from another whose fields it names alike: a fold's record of its event,
a view of a status, a receipt of what the store recorded."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pydantic import BaseModel

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Made = TypeVar("Made", bound="BaseModel | DataclassInstance")


def _field_names(kind: object) -> set[str]:
    # Only declared fields count: a property or a method that happens to share a field's
    # name is not what the source holds.
    model = kind if isinstance(kind, type) else type(kind)
    if issubclass(model, BaseModel):
        return set(model.model_fields)
    if dataclasses.is_dataclass(model):
        return {f.name for f in dataclasses.fields(model)}
    raise TypeError(f"{model.__name__} is neither a pydantic model nor a dataclass")


def alike(made: type[Made], source: object, **rest: object) -> Made:
    """A ``made`` (a pydantic model, validated like any other, or a dataclass) with each
    field that ``source`` names alike taken from it; ``rest`` gives those it names
    otherwise or does not carry."""
    taken = (_field_names(made) & _field_names(source)) - rest.keys()
    values: dict[str, Any] = {**{name: getattr(source, name) for name in taken}, **rest}
    if issubclass(made, BaseModel):
        return cast("Made", made.model_validate(values))
    return made(**values)
