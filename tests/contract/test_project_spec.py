"""The project's Kibana spec (devkit/openapi/kibana.yaml) describes exactly the calls of
`KibanaClient`: one operation per call, each naming the client method that sends it."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.kibana import client as client_module
from devkit.contract import DEFAULT_SPEC, load_spec

METHODS = {"get", "post", "put", "patch", "delete"}


def _calls_in(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[tuple[str, ast.expr]]:
    """(HTTP method, path expression) of each `self._kibana.call(...)` in `function`."""
    found = []
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "call":
            method, path = node.args[:2]
            assert isinstance(method, ast.Constant), ast.unparse(node)
            found.append((str(method.value).lower(), path))
    return found


def client_operations() -> dict[tuple[str, str], str]:
    """{(path, method): client method} read from bot/kibana/client.py."""
    tree = ast.parse(Path(client_module.__file__).read_text())
    (cls,) = (node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "KibanaClient")
    functions = {f.name: f for f in cls.body if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)}
    # `_rule_action(rule_id, "_enable", …)` posts to a path built from its second argument
    ((action_method, action_path),) = _calls_in(functions["_rule_action"])
    assert isinstance(action_path, ast.BinOp) and isinstance(action_path.left, ast.Constant)
    operations: dict[tuple[str, str], str] = {}
    for name, function in functions.items():
        if name.startswith("_"):
            continue
        for method, path in _calls_in(function):
            assert isinstance(path, ast.Constant), f"{name}: path is not a literal: {ast.unparse(path)}"
            operations[(str(path.value), method)] = name
        for node in ast.walk(function):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "_rule_action":
                action = node.args[1]
                assert isinstance(action, ast.Constant)
                operations[(str(action_path.left.value) + str(action.value), action_method)] = name
    return operations


def spec_operations() -> dict[tuple[str, str], str]:
    spec = load_spec(DEFAULT_SPEC)
    return {
        (path, method): str(operation.get("x-client-method", "")).removeprefix("KibanaClient.")
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def test_the_client_scan_finds_every_kind_of_call() -> None:
    operations = client_operations()
    assert operations[("/api/alerting/_health", "get")] == "health"
    assert operations[("/api/alerting/rule/{id}/_mute_all", "post")] == "mute_all"
    assert operations[("/api/apm/sourcemaps/{id}", "delete")] == "delete_sourcemap"


def test_the_spec_has_exactly_the_clients_operations() -> None:
    assert spec_operations() == client_operations()


def test_the_spec_ships_with_the_devkit() -> None:
    repository = Path(client_module.__file__).resolve().parents[2]
    assert DEFAULT_SPEC.relative_to(repository) == Path("devkit/openapi/kibana.yaml")
