"""Generate engine/recipe/trl_fields.json: every TRL config class the method registry names → its fields' types and
defaults, read from the installed TRL (`python -m engine.worker.trl_fields`), so `reins validate` can check
`method.trl` without importing torch."""

from __future__ import annotations

import dataclasses
import enum
import importlib
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any

from engine.recipe.methods import METHODS
from engine.recipe.trl_settings import FIELD_TABLE

# JSON kinds a recipe value may take; "any" when the annotation is something a YAML value cannot be checked against.
_KINDS = {bool: "bool", int: "int", float: "float", str: "str", list: "list", tuple: "list", dict: "dict",
          type(None): "null"}


def _kinds(tp: Any) -> set[str]:
    """The JSON kinds a value of annotation `tp` may have (an int is accepted where a float is)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_kinds(a) for a in typing.get_args(tp)))
    if origin is typing.Literal:
        return {_KINDS.get(type(a), "any") for a in typing.get_args(tp)}
    if origin is not None:
        return {_KINDS.get(origin, "any")}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"str"}  # transformers' enums (OptimizerNames, SchedulerType) take their string values
    if tp is typing.Any or tp is None:
        return {"any"} if tp is typing.Any else {"null"}
    kinds = {_KINDS.get(tp, "any")}
    return kinds | {"int"} if kinds == {"float"} else kinds


def _type_text(tp: Any) -> str:
    return tp.__name__ if isinstance(tp, type) else str(tp).replace("typing.", "")


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        value = field.default
    elif field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
    else:
        return None
    value = value.value if isinstance(value, enum.Enum) else value
    try:
        json.dumps(value)
    except TypeError:
        return repr(value)
    return value


def field_table() -> dict[str, Any]:
    """{"trl": version, "configs": {"module:Class": {field: {"type", "kinds", "default"}}}} for every config the
    method registry names."""
    import trl

    configs: dict[str, Any] = {}
    for ref in sorted({spec.trl_config for spec in METHODS.values()}):
        module, _, name = ref.partition(":")
        cls = getattr(importlib.import_module(module), name)
        hints = typing.get_type_hints(cls)
        configs[ref] = {
            f.name: {"type": _type_text(hints.get(f.name, f.type)), "kinds": sorted(_kinds(hints.get(f.name, f.type))),
                     "default": _default(f)}
            for f in dataclasses.fields(cls) if f.init and not f.name.startswith("_")
        }
    return {"trl": trl.__version__, "configs": configs}


def dump(table: dict[str, Any]) -> str:
    """The table as JSON with one field per line, so a TRL upgrade's diff reads field by field."""
    configs = ",\n".join(
        f" {json.dumps(ref)}: {{\n" + ",\n".join(f"  {json.dumps(name)}: {json.dumps(info, sort_keys=True)}"
                                             for name, info in sorted(fields.items())) + "\n }"
        for ref, fields in sorted(table["configs"].items()))
    return f'{{"trl": {json.dumps(table["trl"])}, "configs": {{\n{configs}\n}}}}\n'


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else FIELD_TABLE
    out.write_text(dump(field_table()))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
