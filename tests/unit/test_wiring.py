"""The application's wiring, read from one place: the ordered list of capabilities in handlers/registry.py.

The golden file records which handlers, commands, menu buttons, links, hooks and due work the capabilities
plug in, and in which order; the first handler that matches an update wins, so an order change changes what
people get. Refresh it deliberately: `python -m tests.unit.test_wiring > tests/data/wiring_golden.json`.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import ConversationHandler

from bot.app import build_application, collect_wiring
from bot.capability import Capability, MenuEntry, Wiring, WiringError
from bot.commands import Audience, CommandSpec
from bot.config import Settings
from bot.roles import Role
from bot.services.views import HomeView, PersonView, RoleView

GOLDEN = Path(__file__).parents[1] / "data" / "wiring_golden.json"


def _name(function: Any) -> str:
    function = getattr(function, "__func__", function)
    return f"{function.__module__}.{function.__qualname__}"


def _describe(handler: Any) -> dict[str, Any]:
    inner = getattr(handler, "inner", None)
    if inner is not None:
        return {"yields": _describe(inner)}
    if isinstance(handler, ConversationHandler):
        return {
            "cls": "ConversationHandler",
            "name": handler.name,
            "entry": [_describe(h) for h in handler.entry_points],
            "states": {str(k): [_describe(h) for h in v] for k, v in handler.states.items()},
            "fallbacks": [_describe(h) for h in handler.fallbacks],
        }
    described: dict[str, Any] = {"cls": type(handler).__name__, "cb": _name(handler.callback)}
    pattern = getattr(handler, "pattern", None)
    if pattern is not None:
        described["pattern"] = getattr(pattern, "pattern", str(pattern))
    commands = getattr(handler, "commands", None)
    if commands:
        described["commands"] = sorted(commands)
    return described


def _people() -> dict[str, PersonView | None]:
    home = HomeView(1, 1, "幸福里", 1, "1栋", 1, "1单元", "101")
    people: dict[str, PersonView | None] = {
        "none": None,
        "bare": PersonView(1, 1, "x", None),
        "resident": PersonView(1, 1, "x", None, homes=[home]),
    }
    for role in Role:
        roles = [RoleView(role.value, 1)]
        people[role.value] = PersonView(1, 1, "x", None, roles=roles)
        people["resident+" + role.value] = PersonView(1, 1, "x", None, homes=[home], roles=roles)
    return people


def snapshot() -> dict[str, Any]:
    settings = Settings(database_url="sqlite+aiosqlite:///:memory:", _env_file=None)  # type: ignore[call-arg]
    application = build_application(settings, background=False)
    wiring = collect_wiring()
    people = _people()
    return {
        "handlers": {str(g): [_describe(h) for h in hs] for g, hs in sorted(application.handlers.items())},
        "commands": {k: [c.command for c in wiring.commands_for(p)] for k, p in people.items()},
        "menu": {k: [e.label_key for e in wiring.menu_for(p)] for k, p in people.items()},
        "due": [s.name for s in wiring.due_sources],
        "links": sorted(wiring.deep_links),
        "text_hooks": [_name(h) for h in wiring.text_hooks],
        "resumers": sorted(wiring.resumers),
        "on_start": [_name(h) for h in wiring.on_start],
        "on_stop": [_name(h) for h in wiring.on_stop],
        "activity": [_name(h) for h in wiring.on_activity],
        "choices": sorted(wiring.choices),
    }


def test_the_wiring_is_the_one_recorded() -> None:
    assert snapshot() == json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_a_resident_and_a_butler_see_their_own_commands_in_order() -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert golden["commands"]["none"][0] == "start"
    assert "report" in golden["commands"]["resident"]
    assert "tasks" not in golden["commands"]["resident"]
    assert golden["commands"]["butler"].index("tasks") < golden["commands"]["butler"].index("help")
    assert golden["menu"]["butler"][0] == "menu.tasks"


async def _noop(*args: object) -> None:
    return None


def test_two_capabilities_cannot_claim_the_same_command_or_button_order() -> None:
    first = Capability(name="a", commands=(CommandSpec("x", "k", Audience(), 1),))
    with pytest.raises(WiringError, match="command"):
        Wiring.collect([first, Capability(name="b", commands=(CommandSpec("x", "k", Audience(), 2),))])
    with pytest.raises(WiringError, match="command order"):
        Wiring.collect([first, Capability(name="b", commands=(CommandSpec("y", "k", Audience(), 1),))])
    with pytest.raises(WiringError, match="menu order"):
        Wiring.collect(
            [
                Capability(name="a", menu=(MenuEntry("m1", _noop, Audience(), 5),)),
                Capability(name="b", menu=(MenuEntry("m2", _noop, Audience(), 5),)),
            ]
        )
    with pytest.raises(WiringError, match="capability"):
        Wiring.collect([Capability(name="a"), Capability(name="a")])


def _top_level_calls(tree: ast.Module) -> list[int]:
    calls: list[int] = []
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, (ast.Call, ast.Await)):
            calls.append(node.lineno)
        elif isinstance(node, ast.If) and "__name__" not in ast.unparse(node.test):
            calls.extend(_top_level_calls(ast.Module(body=node.body + node.orelse, type_ignores=[])))
    return calls


def test_importing_a_module_registers_nothing() -> None:
    """No statement runs at import time but definitions: a capability plugs in only through the list in
    handlers/registry.py, never because some module happened to be imported."""
    root = Path(__file__).parents[2]
    offenders = []
    for package in ("bot", "handlers", "knowledge"):
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            offenders += [f"{path.relative_to(root)}:{line}" for line in _top_level_calls(tree)]
    assert offenders == []


if __name__ == "__main__":
    print(json.dumps(snapshot(), ensure_ascii=False, indent=1))
