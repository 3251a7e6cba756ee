"""The shape of the code: no import circle between the suite's modules (lazy imports included), and the
judgements stay records until a renderer draws them."""

from __future__ import annotations

import ast
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from spidra_contract.core.judgement import ExchangeRecord, Judgement, Kind, Place, Reproduction, TestFailure, Violation

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


texts = st.text(max_size=30)
violations = st.builds(
    Violation,
    clause=texts,
    message=texts,
    pointer=texts,
    place=st.sampled_from(Place),
    expected=texts,
    observed=texts,
    rule=texts,
)
exchanges = st.builds(
    ExchangeRecord,
    id=texts,
    request=texts,
    status=st.integers(0, 599),
    content_type=texts,
    excerpt=texts,
    curl=texts,
    location=texts,
    problem=texts,
    context=texts,
)
reproductions = st.builds(Reproduction, reads=st.integers(1, 3), violating=st.integers(0, 3), note=texts)
judgements = st.builds(
    Judgement,
    clause=texts,
    test=texts,
    violations=st.lists(violations, max_size=3).map(tuple),
    exchange=exchanges,
    seed=texts,
    earlier=st.none() | exchanges,
    kind=st.sampled_from(Kind),
    reproduction=reproductions,
)


@given(
    st.builds(
        TestFailure,
        test=texts,
        kind=st.sampled_from(Kind),
        message=texts,
        judgements=st.lists(judgements, max_size=2).map(tuple),
    )
)
def test_a_failure_and_its_judgements_cross_a_boundary_unchanged(failure):
    import json

    assert TestFailure.from_dict(json.loads(json.dumps(failure.to_dict()))) == failure
