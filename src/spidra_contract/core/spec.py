"""The contract: `openapi.yaml` loaded, checked, and read the way its authors meant it."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

OPERATION_PATH = "/crawl/{jobId}"
OPERATION_METHOD = "get"
JSON_MEDIA_TYPE = "application/json"


class SpecError(Exception):
    """The OpenAPI document cannot serve as the contract (missing, malformed, wrong operation)."""


@dataclass(frozen=True)
class SpecDefect:
    """A flaw in the document itself, with where it is and how to mend it."""

    pointer: str
    problem: str
    suggestion: str

    def as_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "problem": self.problem, "suggestion": self.suggestion}


def at_pointer(document: Any, pointer: str) -> Any:
    """The node a JSON pointer names (RFC 6901: `~1` is `/`, `~0` is `~`; a leading `#` allowed), or None."""
    node = document
    for raw in [part for part in pointer.removeprefix("#").split("/") if part]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def follow_ref(root: Any, node: Any) -> tuple[Any, str]:
    """A schema node with its local `$ref`s followed (at most 8), and the pointer it was found at ("" when it had
    no `$ref`)."""
    where = ""
    for _ in range(8):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/")):
            break
        where = node["$ref"]
        node = at_pointer(root, where)
    return node, where


def _pointer(parts: list[str]) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def find_defects(document: dict[str, Any]) -> list[SpecDefect]:
    """Every `nullable` keyword in an OpenAPI 3.1 document (3.1 uses JSON Schema 2020-12, which has none)."""
    version = str(document.get("openapi", ""))
    if not version.startswith("3.1"):
        return []
    defects: list[SpecDefect] = []

    def walk(node: Any, parts: list[str]) -> None:
        if isinstance(node, dict):
            if node.get("nullable") is True and "type" in node:
                typ = node["type"]
                suggested = [*typ, "null"] if isinstance(typ, list) else [typ, "null"]
                defects.append(
                    SpecDefect(
                        pointer=_pointer(parts),
                        problem=(
                            f"`nullable: true` is an OpenAPI 3.0 keyword; under `openapi: {version}` "
                            "(JSON Schema 2020-12) it is ignored, so null is literally invalid here"
                        ),
                        suggestion=f"replace `type: {typ}` + `nullable: true` with `type: {suggested}`",
                    )
                )
            for key, value in node.items():
                walk(value, [*parts, str(key)])
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, [*parts, str(index)])

    walk(document, [])
    return defects


def honour_nullable(node: Any) -> Any:
    """A copy of `node` where `nullable: true` becomes the 3.1 spelling `type: [T, "null"]` (the intent)."""
    if isinstance(node, list):
        return [honour_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: honour_nullable(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True and "type" in node:
        typ = node["type"]
        types = list(typ) if isinstance(typ, list) else [typ]
        result["type"] = [*types, "null"] if "null" not in types else types
        if "enum" in result and None not in result["enum"]:
            result["enum"] = [*result["enum"], None]
    return result


@dataclass(eq=False)
class Contract:
    """The operation's contract, read from the OpenAPI document with the `nullable` intent honoured."""

    path: Path
    raw: dict[str, Any]
    defects: list[SpecDefect] = field(default_factory=list)

    @cached_property
    def document(self) -> dict[str, Any]:
        """The whole document with nullability spelled the 3.1 way (what schemathesis is given)."""
        return honour_nullable(copy.deepcopy(self.raw))  # type: ignore[no-any-return]

    @property
    def operation(self) -> dict[str, Any]:
        return self.document["paths"][OPERATION_PATH][OPERATION_METHOD]  # type: ignore[no-any-return]

    @property
    def documented_statuses(self) -> frozenset[int]:
        return frozenset(int(code) for code in self.operation["responses"] if str(code).isdigit())

    def response_schema(self, status: int) -> dict[str, Any] | None:
        """The JSON schema of a documented response body, its `$ref`s resolvable against `components`."""
        response = self.operation["responses"].get(str(status))
        if response is None:
            return None
        schema = response.get("content", {}).get(JSON_MEDIA_TYPE, {}).get("schema")
        if schema is None:
            return None
        return {**schema, "components": self.document.get("components", {})}

    def property_schema(self, status: int, name: str) -> dict[str, Any] | None:
        schema = self.response_schema(status)
        if schema is None:
            return None
        prop = schema.get("properties", {}).get(name)
        if prop is None:
            return None
        return {**prop, "components": self.document.get("components", {})}

    def is_error_response(self, body: Any) -> bool:
        """Whether `body` is an ErrorResponse as the document's components describe it."""
        from jsonschema import Draft202012Validator

        schema = self.document.get("components", {}).get("schemas", {}).get("ErrorResponse")
        if schema is None or not isinstance(body, dict):
            return False
        return not any(Draft202012Validator(schema).iter_errors(body))

    @property
    def status_enum(self) -> tuple[str, ...]:
        prop = self.property_schema(200, "status") or {}
        return tuple(prop.get("enum", ()))

    @property
    def api_key_header(self) -> str:
        schemes = self.document.get("components", {}).get("securitySchemes", {})
        for scheme in schemes.values():
            if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
                return str(scheme["name"])
        return "x-api-key"

    @property
    def example_200(self) -> Any:
        return self.operation["responses"]["200"]["content"][JSON_MEDIA_TYPE].get("example")


def load_contract(path: str | Path) -> Contract:
    """Read and sanity-check the OpenAPI document; a `SpecError` names what is wrong in one line."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"cannot read spec {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        # Where the parser stopped (1-based, as editors count) and what it found there.
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context = getattr(exc, "context", None)
        said = f"{problem} ({context})" if context else problem
        raise SpecError(f"spec {path} is not valid YAML{where}: {said}") from None
    if not isinstance(raw, dict) or not str(raw.get("openapi", "")).startswith("3."):
        raise SpecError(f"spec {path} is not an OpenAPI 3.x document")
    operation = raw.get("paths", {}).get(OPERATION_PATH, {}).get(OPERATION_METHOD)
    if not isinstance(operation, dict) or not isinstance(operation.get("responses"), dict):
        raise SpecError(f"spec {path} has no GET {OPERATION_PATH} operation with responses")
    for code in ("200", "403", "404"):
        if code not in {str(key) for key in operation["responses"]}:
            raise SpecError(f"spec {path} documents no {code} response for GET {OPERATION_PATH}")
    return Contract(path=path, raw=raw, defects=find_defects(raw))
