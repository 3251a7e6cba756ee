"""Drift as a patch: `openapi.suggested.yaml` and `openapi.patch` (a unified diff against the spec judged), saying
in the spec's own YAML what the run observed and the spec leaves undescribed.

The document is edited in place through a round-trip YAML library (ruamel.yaml), so its order, quoting,
comments and block scalars stay as they are; only the lines that describe something new change.

A patch only *describes*: it widens a type where another type was observed, adds an observed enum value,
documents an observed 4xx response (its body schema and its rate-limit headers), names fields the spec did not
describe, and spells `nullable` the 3.1 way. It never makes a violation conformant: a change that would (a 5xx,
2xx or 3xx documented as an answer to a read, a required field made optional, a bound relaxed) is not written
but listed as "would hide a violation", and every clause the suite holds beyond the schema (who may read a job,
403 for a bad key, the job's semantics and lifecycle) is untouched by any spec.
"""

from __future__ import annotations

import copy
import difflib
import functools
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spidra_contract.clauses import CLAUSES
from spidra_contract.core.codec import Record
from spidra_contract.core.exchange import shape_of
from spidra_contract.core.judgement import Violation
from spidra_contract.core.model import Drift, DriftKind, Report
from spidra_contract.core.spec import JSON_MEDIA_TYPE, OPERATION_METHOD, OPERATION_PATH, at_pointer, follow_ref

SUGGESTED_NAME = "openapi.suggested.yaml"
PATCH_NAME = "openapi.patch"
# What a documented response may say about its headers: the ones clients act on.
DOCUMENTED_HEADERS = (
    "retry-after",
    "ratelimit",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "ratelimit-policy",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "www-authenticate",
)


@dataclass(frozen=True)
class Change(Record):
    """One change the patch makes: where (a JSON pointer into the spec) and what it says."""

    where: str
    what: str


@dataclass(frozen=True)
class Refused(Record):
    """A change drift would suggest but the patch does not make: it would hide a violation."""

    what: str
    why: str


@dataclass(frozen=True)
class SpecPatch:
    spec_name: str
    original: str
    suggested: str
    changes: tuple[Change, ...]
    refused: tuple[Refused, ...]

    @property
    def diff(self) -> str:
        """A unified diff `git apply` and `patch -p1` apply in the spec's folder (empty when nothing changed)."""
        lines = difflib.unified_diff(
            self.original.splitlines(keepends=True),
            self.suggested.splitlines(keepends=True),
            fromfile=f"a/{self.spec_name}",
            tofile=f"b/{self.spec_name}",
        )
        return "".join(lines)

    @property
    def empty(self) -> bool:
        return self.original == self.suggested


@functools.lru_cache(maxsize=4)
def _parsed(spec_text: str) -> Any:
    """The spec parsed round trip, once per text (a process that runs the suite many times parses it once)."""
    return _yaml().load(spec_text)


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()  # round trip: order, quotes, comments and block scalars kept
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-fold a line the author wrote
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.representer.add_representer(
        type(None), lambda representer, _: representer.represent_scalar("tag:yaml.org,2002:null", "null")
    )
    return yaml


def _flow(items: list[Any]) -> Any:
    """A short list in flow style (`[string, "null"]`), as a 3.1 type array is written."""
    from ruamel.yaml.comments import CommentedSeq

    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


OPERATION = f"#/paths/{_escape(OPERATION_PATH)}/{OPERATION_METHOD}"


def _schema_at(document: Any, status: int, path: str) -> tuple[Any, str]:
    """The schema node describing the body field at `path` (items folded as `*`) of a `status` response, and its
    pointer; (None, "") when the spec has no such node."""
    base = f"{OPERATION}/responses/{status}/content/{_escape(JSON_MEDIA_TYPE)}/schema"
    node, where = follow_ref(document, at_pointer(document, base))
    where = where or base
    for part in [p for p in path.split("/") if p]:
        if not isinstance(node, dict):
            return None, ""
        if part == "*":
            node, where = node.get("items"), f"{where}/items"
        else:
            props = node.get("properties")
            if not isinstance(props, dict) or part not in props:
                return None, ""
            node, where = props[part], f"{where}/properties/{_escape(part)}"
        resolved, moved = follow_ref(document, node)
        node, where = resolved, moved or where
    return node, where


def _types(node: dict[str, Any]) -> list[str]:
    value = node.get("type")
    return list(value) if isinstance(value, list) else [value] if isinstance(value, str) else []


def _widen(node: Any, seen: str) -> bool:
    """Add `seen` to the node's type (3.1 type arrays); False when the node says nothing of types."""
    if not isinstance(node, dict) or "type" not in node:
        return False
    types = _types(node)
    if seen in types or (seen == "integer" and "number" in types):
        return True
    widened = [*types, seen]
    node["type"] = _flow([t for t in widened if t != "null"] + (["null"] if "null" in widened else []))
    return True


def _body_of(drift: Drift, document: Any) -> tuple[dict[str, Any] | None, bool]:
    """The observed body's shape and whether it was an ErrorResponse, as the run recorded them with the drift. A
    summary written before bodies' shapes were recorded has only the evidence excerpt: read what it holds."""
    shape = drift.detail.get("body_shape")
    if isinstance(shape, dict):
        return shape, bool(drift.detail.get("error_response"))
    body = _parse(drift.example.get("excerpt", ""))
    return (None, False) if body is None else (shape_of(body), _error_response(document, body))


def _mapped(node: Any) -> Any:
    """A plain schema as ruamel.yaml's round-trip maps (no `required`: what was seen once is not promised)."""
    from ruamel.yaml.comments import CommentedMap

    if isinstance(node, dict):
        return CommentedMap((str(key), _mapped(value)) for key, value in node.items())
    return node


def _error_response(document: Any, body: Any) -> bool:
    """Whether `body` is an ErrorResponse as the spec's components describe it."""
    from jsonschema import Draft202012Validator

    schema = at_pointer(document, "#/components/schemas/ErrorResponse")
    if schema is None or not isinstance(body, dict):
        return False
    plain = json.loads(json.dumps(schema))
    return not list(Draft202012Validator(plain).iter_errors(body))


def suggest(spec_text: str, spec_name: str, report: Report) -> SpecPatch:
    """The spec as it would describe what the run observed (see the module's docstring)."""
    from ruamel.yaml.comments import CommentedMap

    yaml = _yaml()
    document = copy.deepcopy(_parsed(spec_text))  # a copy to edit: the parse is kept for the next run
    changes: list[Change] = []
    refused: list[Refused] = []

    for defect in report.spec_defects:
        node = at_pointer(document, str(defect["pointer"]))
        if isinstance(node, dict) and node.get("nullable") is True and "type" in node:
            types = _types(node)
            del node["nullable"]
            node["type"] = _flow([*types, "null"] if "null" not in types else types)  # in place: its key stays
            changes.append(Change(str(defect["pointer"]), f"`nullable: true` as the 3.1 type {[*types, 'null']}"))

    responses = at_pointer(document, f"{OPERATION}/responses")
    for drift in report.drift:
        _apply(document, responses, drift, changes, refused, CommentedMap)
    for row in report.failing_clauses:
        if not all(_describable(v, j.exchange.status) for j in row.examples for v in j.violations):
            refused.append(
                Refused(
                    f"change the spec so that `{row.clause}` passes",
                    f"{row.failed} repl(ies) broke a rule of the contract ({row.title}): a violation, not a gap in "
                    "the description",
                )
            )

    out = io.StringIO()
    yaml.dump(document, out)
    suggested = out.getvalue() if changes else spec_text
    return SpecPatch(spec_name, spec_text, suggested, tuple(changes), tuple(refused))


def _apply(
    document: Any,
    responses: Any,
    drift: Drift,
    changes: list[Change],
    refused: list[Refused],
    mapping: Any,
) -> None:
    detail = drift.detail
    if drift.kind is DriftKind.STATUS_CODE and detail:
        status, method = int(detail.get("status", 0)), str(detail.get("method", "GET"))
        if method != "GET":
            return  # another method's answer: the spec documents GET only
        if not 400 <= status < 500:
            refused.append(
                Refused(
                    f"document {status} as an answer to GET /crawl/{{jobId}}",
                    "a read answered with a server error, a redirect or another success is a violation of "
                    "`documented-status` (and of `hostile-id` for a bad id), not a behaviour to document",
                )
            )
            return
        if not isinstance(responses, dict) or str(status) in {str(key) for key in responses}:
            return
        response = mapping()
        response["description"] = "Observed by the contract suite (not yet described: say when it is sent)"
        headers = {
            name: value
            for name, value in (detail.get("headers") or {}).items()
            if name.lower() in DOCUMENTED_HEADERS or name.lower().startswith(("ratelimit", "x-ratelimit"))
        }
        if headers:
            described = mapping()
            for name in headers:
                header = mapping()
                header["schema"] = mapping(type="integer" if str(headers[name]).strip().isdigit() else "string")
                described[name] = header
            response["headers"] = described
        content_type = str(drift.example.get("content_type", "")).split(";")[0].strip().lower()
        shape, is_error = _body_of(drift, document)
        if shape is not None and content_type == JSON_MEDIA_TYPE:
            media = mapping()
            media["schema"] = mapping([("$ref", "#/components/schemas/ErrorResponse")]) if is_error else _mapped(shape)
            response["content"] = mapping([(JSON_MEDIA_TYPE, media)])
        responses[str(status)] = response
        changes.append(Change(f"{OPERATION}/responses/{status}", f"document the observed {status} response"))
    elif drift.kind is DriftKind.ENUM_VALUE:
        value = detail.get("value")
        if not isinstance(value, str) or not value or not value.isprintable():
            refused.append(Refused(f"add {value!r} to the status enum", "not a printable string: a fault"))
            return
        node, where = _schema_at(document, 200, "/status")
        if isinstance(node, dict) and isinstance(node.get("enum"), list) and value not in node["enum"]:
            node["enum"].append(value)
            changes.append(Change(f"{where}/enum", f"add the observed status value {value!r}"))
    elif drift.kind is DriftKind.FIELD_TYPE:
        path, seen, status = str(detail.get("path", "")), str(detail.get("type", "")), int(detail.get("status", 200))
        node, where = _schema_at(document, status, path)
        if seen and _widen(node, seen):
            changes.append(Change(f"{where}/type", f"allow {seen} at {path} (observed)"))
    elif drift.kind is DriftKind.UNDESCRIBED_FIELD:
        path, seen, status = str(detail.get("path", "")), str(detail.get("type", "")), int(detail.get("status", 200))
        if detail.get("credential"):
            refused.append(Refused(f"describe {path}", "it carried a credential: a leak to remove, not a field"))
            return
        parent_path, _, name = path.rpartition("/")
        node, where = _schema_at(document, status, parent_path)
        if not isinstance(node, dict) or not name:
            return
        properties = node.get("properties")
        if properties is None:
            node["properties"] = properties = mapping()
        if not isinstance(properties, dict):
            return
        if name in properties:
            _widen(properties[name], seen)
            return
        properties[name] = mapping(type=seen)
        changes.append(Change(f"{where}/properties/{_escape(name)}", f"describe {path} ({seen}, optional)"))


def _describable(violation: Violation, status: int) -> bool:
    """Whether a violation is the spec's silence rather than a broken rule: another type or enum value observed
    where the schema names one, or a 4xx status the spec does not list."""
    # Only a clause registered as showing drift (a status code, an enum value, a type); every other clause's
    # failure is a violation no spec change may hide.
    registered = CLAUSES.get(violation.clause)
    drift = registered.drift if registered is not None else None
    if drift is DriftKind.STATUS_CODE:
        return 400 <= status < 500
    if drift is None:
        return False
    return violation.rule.rsplit("/", 1)[-1] in ("type", "anyOf", "oneOf", "enum")


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def validate(text: str) -> str:
    """'' when `text` is a valid OpenAPI 3.1 document, else the first problem."""
    import yaml as pyyaml
    from openapi_spec_validator import validate as validate_spec

    try:
        validate_spec(pyyaml.safe_load(text))
    except Exception as exc:  # the validator's own error types vary by version
        return str(exc).splitlines()[0][:300]
    return ""


def write(directory: Path, patch: SpecPatch) -> None:
    (directory / SUGGESTED_NAME).write_text(patch.suggested, encoding="utf-8")
    (directory / PATCH_NAME).write_text(patch.diff, encoding="utf-8")


def from_summary(summary_path: Path, spec_path: Path) -> SpecPatch:
    report = Report.from_dict(json.loads(summary_path.read_text(encoding="utf-8")))
    return suggest(spec_path.read_text(encoding="utf-8"), spec_path.name, report)
