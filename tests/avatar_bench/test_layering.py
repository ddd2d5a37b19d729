"""avatar_bench's own joints: no import cycle between its modules (TYPE_CHECKING imports aside, late imports
included), nothing imported from pipeline / tavlo_model, and no private name imported across modules."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "avatar_bench"


def _module(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(imported module, names) of every import outside ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text())
    guarded = [n for n in ast.walk(tree) if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test)]
    skipped = {id(n) for node in guarded for n in ast.walk(node)}
    out = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
    return out


def _graph() -> dict[str, set[str]]:
    modules = {_module(p): p for p in PKG.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        for target, names in _imports(path):
            for cand in [f"{target}.{n}" for n in names] + [target]:
                if cand in modules and cand != mod and not mod.startswith(f"{cand}."):
                    graph[mod].add(cand)
                    break
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_inside_avatar_bench():
    graph = _graph()
    assert "avatar_bench.checks" in graph["avatar_bench.format"]  # the graph sees real edges
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_one_way_out_and_no_private_names_across_modules():
    for path in PKG.rglob("*.py"):
        for target, names in _imports(path):
            assert not target.startswith(("pipeline", "tavlo_model", "flows")), (path, target)
            if target.startswith("avatar_bench"):
                private = [n for n in names if n.startswith("_") and n != "__version__"]
                assert not private, (path, target, private)
