"""What one capability plugs into the application, declared in one place: the bottom of its handlers module.

`handlers/registry.py` lists the capabilities in order; `bot/app.py: build_application` collects them into a
`Wiring` and hands it to whatever needs it (the menu, the scheduler, the unit of work). Importing a module
registers nothing: a capability exists for the application only once it is in that list.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from bot.commands import Audience, CommandSpec

if TYPE_CHECKING:
    from telegram import Update
    from telegram.ext import Application, BaseHandler

    from bot.context import BotContext, Services
    from bot.scheduling import DueSource
    from bot.services.activity import ActivityListener

    Callback = Callable[[Update, BotContext], Awaitable[object]]
    # Opening t.me/<bot>?start=<prefix>_<rest> calls the callback with <rest>.
    DeepLinkCallback = Callable[[Update, BotContext, str], Awaitable[object]]
    # Private text that no conversation took; True when the hook handled it.
    TextHook = Callable[[Update, BotContext], Awaitable[bool]]
    # How a conversation shows its current step again ("继续填写").
    Resume = Callable[[Update, BotContext, object], Awaitable[object]]
    # A routing choice button ("您是想…？") pressed for this intent, with the text that was typed.
    ChoiceHandler = Callable[[Update, BotContext, str], Awaitable[None]]
    Hook = Callable[[Application[Any, Any, Any, Any, Any, Any], Services], Awaitable[None]]
    HandlersFactory = Callable[["Wiring"], Sequence[BaseHandler[Any, Any, Any]]]


@dataclass(frozen=True)
class MenuEntry:
    """One of the big reply-keyboard buttons."""

    label_key: str
    callback: Callback
    audience: Audience
    order: int
    # The button shares the person's location instead of its label (📍 签到: one tap checks in).
    request_location: bool = False


@dataclass(frozen=True)
class TextHookSpec:
    hook: TextHook
    # Lower runs first: a typed phone number must be read as a phone before the law hook reads it as help.
    order: int


class Placement(IntEnum):
    """Where a capability's handlers go in handler group 0, where the first handler that matches wins."""

    # Danger is answered from any state, ahead of every conversation (handlers/emergency.py).
    AHEAD = 0
    # Conversations first (a person in the middle of a flow is answered by it), then the other handlers.
    NORMAL = 1
    # Catch-alls: an answer to whatever nobody else took.
    LAST = 2


def _no_handlers(wiring: Wiring) -> Sequence[BaseHandler[Any, Any, Any]]:
    return ()


@dataclass(frozen=True)
class Capability:
    name: str
    handlers: HandlersFactory = _no_handlers
    placement: Placement = Placement.NORMAL
    commands: Sequence[CommandSpec] = ()
    menu: Sequence[MenuEntry] = ()
    deep_links: Mapping[str, DeepLinkCallback] = field(default_factory=dict)
    text_hooks: Sequence[TextHookSpec] = ()
    due_sources: Sequence[DueSource] = ()
    # Run inside the transaction that records a volunteer activity (the points capability awards from here).
    on_activity: Sequence[ActivityListener] = ()
    resumers: Mapping[str, Resume] = field(default_factory=dict)
    choices: Mapping[str, ChoiceHandler] = field(default_factory=dict)
    on_start: Sequence[Hook] = ()
    on_stop: Sequence[Hook] = ()


class WiringError(ValueError):
    pass


@dataclass(frozen=True)
class Wiring:
    """Everything the capabilities plug in, collected once, in the list's order."""

    capabilities: tuple[Capability, ...] = ()
    commands: tuple[CommandSpec, ...] = ()
    menu: tuple[MenuEntry, ...] = ()
    deep_links: Mapping[str, DeepLinkCallback] = field(default_factory=dict)
    text_hooks: tuple[TextHook, ...] = ()
    due_sources: tuple[DueSource, ...] = ()
    on_activity: tuple[ActivityListener, ...] = ()
    resumers: Mapping[str, Resume] = field(default_factory=dict)
    choices: Mapping[str, ChoiceHandler] = field(default_factory=dict)
    on_start: tuple[Hook, ...] = ()
    on_stop: tuple[Hook, ...] = ()

    @classmethod
    def collect(cls, capabilities: Sequence[Capability]) -> Wiring:
        """Refuses two capabilities claiming the same name, command, button, link, source or order: with
        a duplicate, which one wins would depend on the list's order, and nobody reading one file would
        see it."""
        _unique("capability", [c.name for c in capabilities])
        commands = [spec for c in capabilities for spec in c.commands]
        _unique("command", [s.command for s in commands])
        _unique("command order", [s.order for s in commands])
        menu = [entry for c in capabilities for entry in c.menu]
        _unique("menu button", [e.label_key for e in menu])
        _unique("menu order", [e.order for e in menu])
        _unique("deep-link prefix", [p for c in capabilities for p in c.deep_links])
        hooks = [spec for c in capabilities for spec in c.text_hooks]
        _unique("text-hook order", [h.order for h in hooks])
        due_sources = [s for c in capabilities for s in c.due_sources]
        _unique("due source", [s.name for s in due_sources])
        _unique("resumer", [n for c in capabilities for n in c.resumers])
        _unique("routing choice", [i for c in capabilities for i in c.choices])
        return cls(
            capabilities=tuple(capabilities),
            commands=tuple(sorted(commands, key=lambda s: s.order)),
            menu=tuple(sorted(menu, key=lambda e: e.order)),
            deep_links={p: cb for c in capabilities for p, cb in c.deep_links.items()},
            text_hooks=tuple(h.hook for h in sorted(hooks, key=lambda h: h.order)),
            due_sources=tuple(due_sources),
            on_activity=tuple(listener for c in capabilities for listener in c.on_activity),
            resumers={n: r for c in capabilities for n, r in c.resumers.items()},
            choices={i: h for c in capabilities for i, h in c.choices.items()},
            on_start=tuple(h for c in capabilities for h in c.on_start),
            on_stop=tuple(h for c in capabilities for h in c.on_stop),
        )

    def handlers(self) -> list[BaseHandler[Any, Any, Any]]:
        return [handler for capability in self.capabilities for handler in capability.handlers(self)]

    def commands_for(self, person: Any) -> list[CommandSpec]:
        return [c for c in self.commands if c.audience.admits(person)]

    def menu_for(self, person: Any) -> list[MenuEntry]:
        return [e for e in self.menu if e.audience.admits(person)]


def _unique(what: str, values: Sequence[object]) -> None:
    seen: set[object] = set()
    for value in values:
        if value in seen:
            raise WiringError(f"two capabilities declare the same {what}: {value!r}")
        seen.add(value)
