"""The shape of the code: no import circle between the suite's modules (lazy imports included), and the
judgements stay records until a renderer draws them."""

from __future__ import annotations

import ast
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from spidra_contract.core.judgement import Judgement, Violation

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "spidra_contract"


def import_graph() -> dict[str, set[str]]:
    """Module -> the suite's modules it imports, at the top or inside a function (a lazy import is an edge too);
    only `if TYPE_CHECKING:` blocks are left out (they never run)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if "suite" in path.relative_to(PACKAGE).parts:
            continue
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        edges = imports_of(ast.parse(path.read_text(encoding="utf-8")))
        edges.discard(module)
        graph[module] = edges
    return graph


def imports_of(tree: ast.AST) -> set[str]:
    edges: set[str] = set()

    class Imports(ast.NodeVisitor):
        def visit_If(self, node: ast.If) -> None:
            if isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
                for inner in node.orelse:
                    self.visit(inner)
                return
            self.generic_visit(node)

        def visit_Import(self, node: ast.Import) -> None:
            edges.update(alias.name for alias in node.names if alias.name.startswith("spidra_contract"))

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            if not node.module or not node.module.startswith("spidra_contract"):
                return
            for alias in node.names:  # `from spidra_contract.reporting import render` imports the module render
                name = f"{node.module}.{alias.name}"
                if (PACKAGE.parent / (name.replace(".", "/") + ".py")).is_file():
                    edges.add(name)
                else:
                    edges.add(node.module)

    Imports().visit(tree)
    return edges


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every circle found by a depth-first walk (each reported once, from where the walk met it)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the path, 2 done

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node, [node])
    return found


def test_no_module_of_the_suite_imports_itself_back_through_others():
    graph = import_graph()
    assert len(graph) > 20
    assert "spidra_contract.plugin" in graph
    assert circles(graph) == []


def test_the_circle_finder_finds_a_circle_made_of_lazy_imports():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c", "a"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_the_plugin_module_is_imported_by_no_other_module_of_the_suite():
    """The plugin's entry (`spidra_contract.plugin`) is what pytest loads in every environment; the suite's
    objects never reach back into it."""
    importers = [module for module, edges in import_graph().items() if "spidra_contract.plugin" in edges]
    assert importers == []


def test_the_layers_contract_holds_and_names_every_layer():
    """import-linter's layers contract (pyproject.toml) holds, and every subpackage of the suite is in it: a new
    folder outside the contract would be a layer nobody keeps."""
    import tomllib

    from importlinter.cli import EXIT_STATUS_SUCCESS, lint_imports

    config = tomllib.loads((PACKAGE.parent.parent / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(contract["layers"] for contract in contracts if contract["type"] == "layers")
    folders = {f"spidra_contract.{path.parent.name}" for path in PACKAGE.glob("*/__init__.py")}
    modules = {f"spidra_contract.{path.stem}" for path in PACKAGE.glob("*.py") if path.stem != "__init__"}
    assert folders - {"spidra_contract.mock"} | modules <= set(layers)
    pyproject = str(PACKAGE.parent.parent / "pyproject.toml")
    assert lint_imports(config_filename=pyproject, no_cache=True, no_logo=True) == EXIT_STATUS_SUCCESS


def test_a_violation_has_no_text_form_of_its_own_only_renderers_draw_it():
    assert "__str__" not in vars(Violation)
    assert "__str__" not in vars(Judgement)


# The facts that cross modules as types: a kind, a trip, a verdict, a severity, an aspect, a step, a clause's
# identity, and any sentence meant for people (message, reason, headline, title, what, note).
TYPED_FACTS = frozenset(
    {"kind", "trip", "verdict", "severity", "aspect", "clause", "category", "axis", "outcome"}
    | {"message", "reason", "headline", "title", "what", "note", "label", "suggestion"}
)


def literal_comparisons(tree: ast.AST) -> list[str]:
    """Every place a typed fact (an attribute, a name or a key named in TYPED_FACTS) is compared with a string
    literal, or tested with `startswith`/`endswith`/`in` on one: how a fact read back from text looks."""

    def fact(node: ast.AST) -> str | None:
        if isinstance(node, ast.Attribute):
            return node.attr if node.attr in TYPED_FACTS else None
        if isinstance(node, ast.Name):
            return node.id if node.id in TYPED_FACTS else None
        if isinstance(node, ast.Subscript):
            if isinstance(node.slice, ast.Constant) and node.slice.value in TYPED_FACTS:
                return str(node.slice.value)
            return fact(node.value)  # `trip[0]`: a part of a fact
        return None

    def literal(node: ast.AST) -> bool:
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str)
        if isinstance(node, ast.JoinedStr):
            return True
        return isinstance(node, (ast.Tuple, ast.List, ast.Set)) and any(literal(item) for item in node.elts)

    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(fact(side) for side in sides) and any(literal(side) for side in sides):
                found.append(f"{node.lineno}: {ast.unparse(node)}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("startswith", "endswith")
            and fact(node.func.value)
        ):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_kind_trip_or_message_is_compared_with_a_string_literal():
    """Facts cross the suite's modules as enums and records; a module that matched a title or a message would
    break the day the wording changes (and a typo would pass silently). The mock is a program of its own."""
    found = {
        str(path.relative_to(PACKAGE)): hits
        for path in PACKAGE.rglob("*.py")
        if not {"suite", "mock"} & set(path.relative_to(PACKAGE).parts)
        and (hits := literal_comparisons(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert found == {}


def test_the_literal_walker_finds_each_form_it_looks_for():
    code = (
        "a = drift.kind == 'undocumented status code'\n"
        "b = e.trip[0] in ('not-answering', 'x')\n"
        "c = row['verdict'] != 'fail'\n"
        "d = failure.message.startswith('schema:')\n"
        "e = drift.kind is DriftKind.STATUS_CODE\n"
    )
    assert [hit.split(":")[0] for hit in literal_comparisons(ast.parse(code))] == ["1", "2", "3", "4"]


def _records() -> list[type]:
    """Every record the codec carries, found in the package (a new record is covered without a list to keep)."""
    import importlib
    import inspect

    from spidra_contract.core.codec import Record

    found: dict[str, type] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if {"suite", "mock"} & set(parts):
            continue
        module = importlib.import_module(".".join(parts).removesuffix(".__init__"))
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, Record) and value is not Record:
                found[f"{value.__module__}.{name}"] = value
    return list(found.values())


def strategy_for(hint: object) -> st.SearchStrategy[object]:
    """Values of a record field's type, every field drawn (nested records, enums, optionals, tuples, dicts)."""
    import dataclasses
    import enum
    import types
    import typing

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return st.one_of([strategy_for(arg) for arg in args])
    if hint is type(None):
        return st.none()
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return st.sampled_from(hint)
    if hint is str:
        return st.text(max_size=12)
    if hint is bool:
        return st.booleans()
    if hint is int:
        return st.integers(-(10**6), 10**6)
    if hint is float:
        return st.floats(allow_nan=False, allow_infinity=False, width=32)
    if origin is tuple:
        return st.lists(strategy_for(args[0]), max_size=2).map(tuple)
    if origin is list:
        return st.lists(strategy_for(args[0]), max_size=2)
    if origin is dict:
        values = st.integers() | st.text(max_size=6) if args[1] is typing.Any else strategy_for(args[1])
        return st.dictionaries(st.text(max_size=6), values, max_size=3)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        fields = {item.name: strategy_for(hints[item.name]) for item in dataclasses.fields(hint) if item.init}
        return st.builds(hint, **fields)
    raise AssertionError(f"no strategy for {hint!r}: teach strategy_for the new field type")


def test_every_record_crosses_a_json_boundary_unchanged_over_every_field():
    """One codec (cattrs) for every record: whatever its fields hold, to JSON and back is the same record."""
    import json

    records = _records()
    assert len(records) >= 10, records
    for record in records:

        @given(strategy_for(record))
        def round_trip(value: object) -> None:
            assert type(value).from_dict(json.loads(json.dumps(value.to_dict()))) == value  # type: ignore[attr-defined]

        round_trip()
