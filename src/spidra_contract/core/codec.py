"""One codec for the suite's records: a dataclass to a JSON-ready dict and back, by cattrs (the converter the attrs
project keeps), so no record writes its fields out by hand.

Enums travel as their values, tuples as lists, nested records as dicts. A record that shows readers a value it
derives (a reproduction's label, an outcome's headline) names it in `derived`: written, never read back. Reading
is lenient the way files written by an earlier version need: a field missing from the data takes its default, a
`fallbacks` field, or its type's empty value; unknown keys are ignored.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn

R = TypeVar("R", bound="Record")

converter = cattrs.Converter(unstruct_collection_overrides={tuple: list})


class Record:
    """A frozen dataclass that crosses a boundary (a report, an xdist worker, a baseline) as a dict."""

    # Properties written beside the fields for people and other tools (never read back).
    derived: ClassVar[tuple[str, ...]] = ()
    # A missing field read from another one: (field, the field that stands for it in an older file).
    fallbacks: ClassVar[tuple[tuple[str, str], ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = converter.unstructure(self)
        return data

    @classmethod
    def from_dict(cls: type[R], data: Mapping[str, Any]) -> R:
        return converter.structure(dict(data), cls)


def _is_record(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, Record) and dataclasses.is_dataclass(cls)


def _resolved(cls: type[Record]) -> type[Record]:
    """The record with its fields' types resolved (`from __future__ import annotations` leaves them strings, which
    cattrs would take for Any), as `attrs.resolve_types` does for attrs classes."""
    hints = typing.get_type_hints(cls)
    for item in dataclasses.fields(typing.cast(Any, cls)):
        item.type = hints[item.name]
    return cls


def _unstructure_factory(cls: type[Record]) -> Any:
    base = make_dict_unstructure_fn(_resolved(cls), converter)
    derived = cls.derived

    def unstructure(record: Record) -> dict[str, Any]:
        data: dict[str, Any] = base(record)
        for name in derived:
            data[name] = converter.unstructure(getattr(record, name))
        return data

    return unstructure


def _empty(hint: Any) -> Any:
    """What a field of this type holds when an older file did not write it (`dataclasses.MISSING`: no such
    value, the field is required)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint):
        return None
    if hint is str:
        return ""
    if hint in (int, float):
        return hint()
    if hint is bool:
        return False
    if origin in (tuple, list) or hint in (tuple, list):
        return []
    if origin is dict or hint is dict:
        return {}
    return dataclasses.MISSING


def _structure_factory(cls: type[Record]) -> Any:
    base = make_dict_structure_fn(_resolved(cls), converter)
    hints = typing.get_type_hints(cls)
    required = {
        item.name: _empty(hints[item.name])
        for item in dataclasses.fields(typing.cast(Any, cls))
        if item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING
    }
    fallbacks = dict(cls.fallbacks)

    def structure(data: Mapping[str, Any], _: Any) -> Record:
        given = dict(data)
        for name, empty in required.items():
            if name in given:
                continue
            if name in fallbacks and fallbacks[name] in given:
                given[name] = given[fallbacks[name]]
            elif empty is not dataclasses.MISSING:
                given[name] = empty
        record: Record = base(given, cls)
        return record

    return structure


converter.register_unstructure_hook_factory(_is_record, _unstructure_factory)
converter.register_structure_hook_factory(_is_record, _structure_factory)
# An enum as its plain value (a StrEnum is a str too: without its own hook, the str one would keep the member).
for _kind in (enum.Enum, enum.StrEnum):
    converter.register_unstructure_hook(_kind, lambda member: member.value)
