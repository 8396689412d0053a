"""The package's import graph has no cycle.

Every ``import`` and ``from ... import`` inside ``skmmat/`` is read with
:mod:`ast`, at module level and inside functions alike (a lazy import that
only hides a cycle still counts), and resolved to the skmmat module it
names. Python's implicit import of a module's parent packages is not an
edge: it is how packages work, not a dependency the code chose.
"""

import ast
from pathlib import Path

import skmmat

ROOT = Path(skmmat.__file__).resolve().parent


def module_name(path):
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph():
    """{module: set of skmmat modules it imports}."""
    modules = {module_name(p): p for p in ROOT.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                # "from pkg import sub" imports the submodule pkg.sub when there is one
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            edges |= {t for t in targets if t in modules and t != name}
        graph[name] = edges
    return graph


def find_cycle(graph):
    """One import cycle as a list of modules, or None."""
    state = {}  # 1: on the current path, 2: done
    path = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_is_read():
    """The parser sees the edges it should, so an empty result means something."""
    graph = import_graph()
    assert "skmmat.models._classifier" in graph["skmmat.models"]
    assert "skmmat.callbacks" in graph["skmmat.models._training"]
    assert "skmmat.embeddings" in graph["skmmat.adversarial._word_substitution"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_imports_itself_through_a_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle)


def _owned_private_names(tree):
    """Private names a module defines: functions, classes, assignments, attributes it sets."""
    owned = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            owned.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            owned.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            owned.add(node.attr)
        elif isinstance(node, ast.ClassDef):
            owned.add(node.name)
    # names listed in a class's __slots__
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets
        ):
            owned |= {e.value for e in ast.walk(node.value) if isinstance(e, ast.Constant)}
    return owned


def _is_private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_name_uses():
    """Uses, in one module of skmmat, of a private name that another object or module owns.

    An object's own private names (through ``self``, ``cls`` or ``super()``),
    names the module itself defines or sets, and a base class's
    ``_parameter_constraints`` (scikit-learn's extension point) are allowed.
    """
    uses = []
    for path in sorted(ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        owned = _owned_private_names(tree)
        where = path.relative_to(ROOT.parent)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if _is_private(alias.name):
                        uses.append(f"{where}:{node.lineno}: imports {alias.name}")
            elif isinstance(node, ast.Attribute) and _is_private(node.attr):
                value = node.value
                own = isinstance(value, ast.Name) and value.id in ("self", "cls")
                own |= isinstance(value, ast.Call) and getattr(value.func, "id", "") == "super"
                if own or node.attr in owned or node.attr == "_parameter_constraints":
                    continue
                uses.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
    return uses


def test_no_module_uses_another_objects_private_names():
    assert private_name_uses() == []
