"""The layout keeps its promises: no import cycles, no hidden imports, roles kept apart.

A newcomer reads the architecture from the tree (ARCHITECTURE.md); these tests keep the
tree honest as the code grows: a module that needs a cycle, a function that imports to
hide one, a mail parser that reaches for the database, or the daemon pulling in the demo
servers fails here with the module and line that did it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "assistant"
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imported(module: str, node: ast.AST) -> list[str]:
    """The assistant modules one import statement loads (a package's __init__ included)."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".")[: -node.level] if not MODULES[module].name == "__init__.py" \
                else module.split(".")[: len(module.split(".")) - node.level + 1]
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
        else:
            target = node.module or ""
        names = [target] + [f"{target}.{alias.name}" for alias in node.names]
    loaded = []
    for name in names:
        parts = name.split(".")
        for end in range(1, len(parts) + 1):
            prefix = ".".join(parts[:end])
            # A module's own packages are already being initialised when it runs.
            if prefix in MODULES and prefix != "assistant" and not module.startswith(prefix + "."):
                loaded.append(prefix)
    return loaded


def _top_level_imports(module: str) -> dict[str, int]:
    """{imported module: line} for imports that run when `module` is imported."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: dict[str, int] = {}

    def visit(body):
        for node in body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for name in _imported(module, node):
                    found.setdefault(name, node.lineno)
            elif isinstance(node, ast.If) and not _is_type_checking(node):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
    visit(tree.body)
    found.pop(module, None)
    return found


GRAPH = {name: _top_level_imports(name) for name in MODULES}


def _cycle_from(start: str) -> list[str] | None:
    path, on_path, done = [], set(), set()

    def dfs(node: str) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for nxt in GRAPH[node]:
            if nxt in on_path:
                return path[path.index(nxt):] + [nxt]
            if nxt not in done:
                found = dfs(nxt)
                if found:
                    return found
        on_path.discard(path.pop())
        done.add(node)
        return None
    return dfs(start)


def test_no_module_of_the_assistant_imports_itself_round_a_cycle():
    for module in sorted(MODULES):
        cycle = _cycle_from(module)
        assert cycle is None, "import cycle: " + " -> ".join(
            f"{m} (line {GRAPH[m].get(n, '?')})" if n else m for m, n in zip(cycle, [*cycle[1:], None]))


def _function_imports(path: Path) -> list[tuple[int, str]]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    hidden = []
    for func in ast.walk(tree):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(func):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                said = " ".join(lines[max(0, node.lineno - 4): node.lineno]).lower()
                if "lazy" not in said and "lazily" not in said:
                    hidden.append((node.lineno, lines[node.lineno - 1].strip()))
    return hidden


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_inside_functions_are_only_deliberately_lazy_ones(module):
    """An import inside a function hides a cycle unless a comment says it is lazy on purpose."""
    hidden = _function_imports(MODULES[module])
    assert not hidden, f"{MODULES[module]}: import inside a function without a comment " \
                       f"saying why it is lazy: " + "; ".join(f"line {n}: {text}" for n, text in hidden)


def _reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        todo.extend(GRAPH[node])
    return seen


def test_the_daemon_never_imports_the_demo_or_its_test_servers():
    reached = _reachable("assistant.daemon.runner") | _reachable("assistant.app")
    demo = sorted(m for m in reached if m.startswith("assistant.demo"))
    assert not demo, f"the daemon loads {demo}"


def test_mail_values_need_no_database():
    """mail/ turns bytes into values and back: no table, no session, no store."""
    for module, path in MODULES.items():
        if not module.startswith("assistant.mail"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                named = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                for name in named:
                    assert not name.startswith(("sqlmodel", "sqlalchemy", "assistant.store")), \
                        f"{path}:{node.lineno} imports {name}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_module_stays_short_enough_to_hold_one_idea(module):
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{MODULES[module]} has {lines} lines; split it along its ideas"


def test_the_cycle_check_finds_a_cycle_when_there_is_one():
    """The check itself can fail: a two-module loop is reported with its lines."""
    GRAPH["assistant.errors"]["assistant.config"] = 1
    try:
        assert _cycle_from("assistant.config") is not None
    finally:
        del GRAPH["assistant.errors"]["assistant.config"]


def test_architecture_md_names_every_module_in_its_folder():
    """ARCHITECTURE.md is the newcomer's map: a module missing from it is a street off the map."""
    text = (PACKAGE.parent / "ARCHITECTURE.md").read_text(encoding="utf-8")
    tree = text[text.index("## The tree"):]
    missing = []
    for module, path in MODULES.items():
        if path.name == "__init__.py" or module in ("assistant.__main__",):
            continue
        folder = path.parent.name + "/" if path.parent != PACKAGE else ""
        if path.name not in tree or (folder and folder not in tree):
            missing.append(str(path.relative_to(PACKAGE)))
    assert not missing, f"ARCHITECTURE.md does not list: {', '.join(missing)}"
