"""redbutler bench e2e: RedButler against a bare python-telegram-bot echo bot, end to end, through the
same fast fake Bot API server, on a generated community (10,000 households, 50,000 tickets).

Both bots run as their own processes (so CPU and RSS are theirs alone) and poll a small aiohttp server
that serves getUpdates from a queue per token and answers every send at once. They take turns (3 rounds,
medians) on each kind of update: a burst queued at once (updates/s, CPU per update, SQL statements per
update), then one at a time (p50/p99 latency from the update being offered to the first reply). Start-up
to the first answer and RSS idle and after the work are measured too. SQLite always; PostgreSQL as well
when REDBUTLER_TEST_DATABASE_URL names a database (the bench creates and drops its own next to it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.cli_commands.bench import bench_subparsers
from bot.config import EMULATOR_TOKEN, Settings

ROOT = Path(__file__).resolve().parents[2]
ECHO_TOKEN = "654321:BENCH-ECHO-TOKEN"
FIRST_RESIDENT = 70_000_000
COMPOUND = "压测花园"
KINDS: dict[str, str] = {
    "greeting": "你好",
    "points": "/points",
    "law": "邻居家的狗咬伤了我，谁来赔偿？",
    "start": "/start",
}

# The child that runs RedButler: counts the statements it sends to the database (SIGUSR1 writes the count
# to a file) and then runs `redbutler run` exactly as an operator would.
_RED_CHILD = """
import os, signal, sys
from sqlalchemy import event
from sqlalchemy.engine import Engine
count = [0]
@event.listens_for(Engine, "before_cursor_execute")
def _count(*_a):
    count[0] += 1
def _dump(*_a):
    path = os.environ["REDBUTLER_BENCH_SQL_FILE"]
    with open(path + ".tmp", "w") as f:
        f.write(str(count[0]))
    os.replace(path + ".tmp", path)
signal.signal(signal.SIGUSR1, _dump)
from bot.cli import main
sys.exit(main(["run"]))
"""

# The peer: a bare PTB bot that answers every message with its text.
_ECHO_CHILD = """
import logging, os
from telegram.ext import ApplicationBuilder, MessageHandler, filters
logging.basicConfig(level=logging.WARNING)
async def echo(update, context):
    await update.effective_message.reply_text(update.effective_message.text or "?")
base = os.environ["BENCH_BASE_URL"]
app = ApplicationBuilder().token(os.environ["BENCH_TOKEN"]).base_url(base).build()
app.add_handler(MessageHandler(filters.ALL, echo))
app.run_polling(poll_interval=0, timeout=10)
"""


def register(subparsers: Any) -> None:
    bench = bench_subparsers(subparsers)
    parser = bench.add_parser(
        "e2e", help="RedButler vs a bare PTB echo bot through a fast fake Bot API: throughput, latency, RSS"
    )
    parser.add_argument("--updates", type=int, default=500, help="updates per burst (default 500)")
    parser.add_argument(
        "--one-at-a-time", type=int, default=100, help="updates timed one by one (default 100)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument(
        "--residents", type=int, default=1_000, help="registered residents who write (default 1000)"
    )
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated: " + ",".join(KINDS))
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument(
        "--telegram-limits",
        action="store_true",
        help="keep the bot's overall flood budget (29/s); lifted by default: the echo bot keeps none",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.set_defaults(handler=cmd_bench_e2e)


# -- the fake Bot API


@dataclass
class _Peer:
    """What the server holds for one bot token: its queue of updates and the replies it sent."""

    queue: list[dict[str, Any]] = field(default_factory=list)
    offset: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    replies: int = 0
    first_reply: dict[int, float] = field(default_factory=dict)  # chat → time of its first reply since reset
    replied: asyncio.Event = field(default_factory=asyncio.Event)
    next_message_id: int = 1


class FakeBotApi:
    def __init__(self) -> None:
        self.peers: dict[str, _Peer] = {}
        self.next_update_id = 1
        self.runner: Any = None
        self.base_url = ""

    def peer(self, token: str) -> _Peer:
        return self.peers.setdefault(token, _Peer())

    async def start(self) -> None:
        from aiohttp import web

        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/bot"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def offer(self, token: str, updates: list[dict[str, Any]]) -> None:
        peer = self.peer(token)
        for update in updates:
            update["update_id"] = self.next_update_id
            self.next_update_id += 1
            peer.queue.append(update)
        peer.arrived.set()

    async def _params(self, request: Any) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        return params

    async def _handle(self, request: Any) -> Any:
        from aiohttp import web

        token, method = request.match_info["token"], request.match_info["method"]
        peer = self.peer(token)
        params = await self._params(request)
        result: Any = True
        name = method.lower()
        if name == "getme":
            bot_id = int(token.split(":")[0])
            result = {"id": bot_id, "is_bot": True, "first_name": "Bench", "username": "RedButlerBot"}
        elif name == "getupdates":
            result = await self._get_updates(peer, params)
        elif name.startswith("send") or name.startswith("edit") or name == "copymessage":
            chat_id = int(params.get("chat_id") or 0)
            now = time.perf_counter()
            peer.replies += 1
            peer.first_reply.setdefault(chat_id, now)
            peer.replied.set()
            peer.next_message_id += 1
            result = {
                "message_id": int(params.get("message_id") or peer.next_message_id),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group", "title": "群"},
                "from": {"id": int(token.split(":")[0]), "is_bot": True, "first_name": "Bench"},
                "text": str(params.get("text") or ""),
            }
        elif name == "getchat":
            chat_id = int(params.get("chat_id") or 0)
            result = {"id": chat_id, "type": "private" if chat_id > 0 else "group"}
        elif name in ("getmycommands", "getchatadministrators"):
            result = []
        return web.json_response({"ok": True, "result": result})

    async def _get_updates(self, peer: _Peer, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        if offset:
            peer.queue = [u for u in peer.queue if u["update_id"] >= offset]
        if not peer.queue:
            peer.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(peer.arrived.wait(), float(params.get("timeout") or 0))
        limit = int(params.get("limit") or 100)
        return peer.queue[:limit]


def _message(user_id: int, text: str) -> dict[str, Any]:
    entities = (
        [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}] if text[0] == "/" else []
    )
    user = {
        "id": user_id,
        "is_bot": False,
        "first_name": f"居民{user_id % 10000}",
        "language_code": "zh-hans",
    }
    message: dict[str, Any] = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": user["first_name"]},
        "from": user,
        "text": text,
    }
    if entities:
        message["entities"] = entities
    return {"message": message}


# -- the bots as processes


@dataclass
class Proc:
    name: str
    token: str
    popen: subprocess.Popen[bytes]
    sql_file: Path | None = None

    def cpu(self) -> float:
        """Seconds of CPU (user + system) the process has used."""
        fields = Path(f"/proc/{self.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    async def statements(self) -> int | None:
        if self.sql_file is None:
            return None
        before = self.sql_file.stat().st_mtime_ns if self.sql_file.exists() else 0
        self.popen.send_signal(signal.SIGUSR1)
        for _ in range(200):
            await asyncio.sleep(0.01)
            if self.sql_file.exists() and self.sql_file.stat().st_mtime_ns != before:
                with contextlib.suppress(ValueError):
                    return int(self.sql_file.read_text())
        return None

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def _start_red(base_url: str, database_url: str, work: Path, telegram_limits: bool) -> Proc:
    sql_file = work / "statements.txt"
    env = dict(os.environ)
    # A warm start, as deployed: with PYTHONDONTWRITEBYTECODE set (some shells and CI images set it) the bot
    # compiled all its own sources again on every start, ~0.3 s of CPU the echo bot (site-packages only,
    # already compiled) never paid.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not telegram_limits:
        # The bot answers at most 29 messages a second (Telegram's ~30/s); the echo bot keeps no budget and
        # the fake server enforces none, so with the budget kept both bots would be compared at that cap.
        env["REDBUTLER_OUTBOX_GLOBAL_PER_SECOND"] = "100000"
        # And one a second per chat: the one-at-a-time phase writes first to the person the burst has just
        # answered, so its first latency was Telegram's per-chat wait (70-140 ms), not the bot's work.
        env["REDBUTLER_OUTBOX_CHAT_PER_SECOND"] = "100000"
    env.update(
        REDBUTLER_TELEGRAM_TOKEN=EMULATOR_TOKEN,
        REDBUTLER_TELEGRAM_BASE_URL=base_url,
        REDBUTLER_DATABASE_URL=database_url,
        REDBUTLER_LOG_LEVEL="WARNING",
        REDBUTLER_BENCH_SQL_FILE=str(sql_file),
        PYTHONPATH=str(ROOT),
    )
    popen = subprocess.Popen(
        [sys.executable, "-c", _RED_CHILD], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=None
    )
    return Proc("RedButler", EMULATOR_TOKEN, popen, sql_file)


def _start_echo(base_url: str) -> Proc:
    env = dict(os.environ, BENCH_BASE_URL=base_url, BENCH_TOKEN=ECHO_TOKEN)
    # Its stderr is PTB's complaint about the long poll cut short at the end.
    popen = subprocess.Popen(
        [sys.executable, "-c", _ECHO_CHILD],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return Proc("echo", ECHO_TOKEN, popen)


# -- the generated community


async def seed(database_url: str, households: int, tickets: int, residents: int) -> None:
    """One compound: `households` homes in buildings of 2 units × 25 floors × 4 rooms, `residents` registered
    people (Telegram ids from FIRST_RESIDENT) each in their own home with a points account and 20 ledger rows,
    and `tickets` repair tickets, most from the first residents so /mytickets meets long histories."""
    from sqlalchemy import insert, select

    from bot.db.engine import make_engine
    from bot.db.migrate import upgrade_async
    from bot.db.models import Building, Compound, Household, Person, Residency, Unit
    from bot.db.models.points import PointsAccount, PointsEntry
    from bot.db.models.repairs import RepairTicket

    await upgrade_async(database_url)
    engine = make_engine(database_url)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(Compound).values(name=COMPOUND, timezone="Asia/Shanghai", created_at=now)
            )
            compound_id = (
                await conn.execute(select(Compound.id).where(Compound.name == COMPOUND))
            ).scalar_one()
            per_building = 2 * 25 * 4
            buildings = -(-households // per_building)
            await conn.execute(
                insert(Building),
                [{"compound_id": compound_id, "name": f"{b + 1}栋"} for b in range(buildings)],
            )
            building_ids = list(
                (
                    await conn.execute(
                        select(Building.id).where(Building.compound_id == compound_id).order_by(Building.id)
                    )
                ).scalars()
            )
            await conn.execute(
                insert(Unit),
                [{"building_id": b, "name": f"{u + 1}单元"} for b in building_ids for u in range(2)],
            )
            unit_ids = list(
                (
                    await conn.execute(
                        select(Unit.id).where(Unit.building_id.in_(building_ids)).order_by(Unit.id)
                    )
                ).scalars()
            )
            rows = [
                {"unit_id": unit, "room": f"{floor + 1}{room + 1:02d}", "floor_area": 89}
                for unit in unit_ids
                for floor in range(25)
                for room in range(4)
            ][:households]
            for start in range(0, len(rows), 5000):
                await conn.execute(insert(Household), rows[start : start + 5000])
            household_ids = list(
                (
                    await conn.execute(
                        select(Household.id).where(Household.unit_id.in_(unit_ids)).order_by(Household.id)
                    )
                ).scalars()
            )
            await conn.execute(
                insert(Person),
                [
                    {
                        "telegram_id": FIRST_RESIDENT + i,
                        "display_name": f"居民{i}",
                        "language": "zh_CN",
                        "reachable": True,
                        "public_name_opt_in": False,
                        "created_at": now,
                    }
                    for i in range(residents)
                ],
            )
            people = list(
                (
                    await conn.execute(
                        select(Person.id)
                        .where(Person.telegram_id >= FIRST_RESIDENT)
                        .order_by(Person.telegram_id)
                    )
                ).scalars()
            )
            await conn.execute(
                insert(Residency),
                [
                    {
                        "person_id": p,
                        "household_id": household_ids[i],
                        "relation": "resident",
                        "created_at": now,
                    }
                    for i, p in enumerate(people)
                ],
            )
            await conn.execute(
                insert(PointsAccount),
                [
                    {"person_id": p, "compound_id": compound_id, "balance": 100, "created_at": now}
                    for p in people
                ],
            )
            accounts = dict(
                (await conn.execute(select(PointsAccount.person_id, PointsAccount.id))).tuples().all()
            )
            entries = [
                {
                    "account_id": accounts[p],
                    "person_id": p,
                    "compound_id": compound_id,
                    "amount": 5,
                    "balance_after": 5 * (k + 1),
                    "kind": "earn",
                    "earning": True,
                    "reason": "志愿服务",
                    "ref_type": "manual",
                    "idempotency_key": f"bench-{p}-{k}",
                    "created_at": now - timedelta(days=20 - k),
                }
                for p in people
                for k in range(20)
            ]
            for start in range(0, len(entries), 5000):
                await conn.execute(insert(PointsEntry), entries[start : start + 5000])
            kinds = ["水电", "电梯", "门窗", "公共设施"]
            ticket_rows = []
            for t in range(tickets):
                # Half of the tickets belong to the first 20 residents: long histories for /mytickets.
                reporter = people[t % 20] if t % 2 == 0 else people[t % len(people)]
                ticket_rows.append(
                    {
                        "compound_id": compound_id,
                        "reporter_id": reporter,
                        "household_id": household_ids[t % len(people)],
                        "building_id": building_ids[0],
                        "place_label": "1栋",
                        "public_label": "1栋",
                        "kind": kinds[t % 4],
                        "description": "水管漏水",
                        "status": "closed" if t % 10 else "open",
                        "last_person_action_at": now - timedelta(minutes=t),
                        "created_at": now - timedelta(minutes=t),
                    }
                )
            for start in range(0, len(ticket_rows), 5000):
                await conn.execute(insert(RepairTicket), ticket_rows[start : start + 5000])
    finally:
        await engine.dispose()


# -- measuring


@dataclass
class Burst:
    rate: float
    cpu_ms: float
    statements: float | None


async def _wait_replies(peer: _Peer, count: int, timeout: float) -> bool:
    deadline = time.perf_counter() + timeout
    while peer.replies < count:
        peer.replied.clear()
        left = deadline - time.perf_counter()
        if left <= 0:
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(peer.replied.wait(), left)
    return True


async def _quiet(peer: _Peer, for_seconds: float = 0.3) -> None:
    """Until no reply has come for a moment (late follow-ups land before the next measurement)."""
    last = -1
    while peer.replies != last:
        last = peer.replies
        await asyncio.sleep(for_seconds)


async def _replies_per_update(api: FakeBotApi, proc: Proc, text: str, user: int) -> int:
    peer = api.peer(proc.token)
    await _quiet(peer)
    before = peer.replies
    api.offer(proc.token, [_message(user, text)])
    await _wait_replies(peer, before + 1, 30)
    await _quiet(peer, 0.5)
    return max(1, peer.replies - before)


async def burst(api: FakeBotApi, proc: Proc, text: str, users: list[int], per_update: int) -> Burst:
    peer = api.peer(proc.token)
    await _quiet(peer)
    sql_before = await proc.statements()
    cpu_before = proc.cpu()
    before = peer.replies
    started = time.perf_counter()
    api.offer(proc.token, [_message(u, text) for u in users])
    ok = await _wait_replies(peer, before + per_update * len(users), 600)
    elapsed = time.perf_counter() - started
    await _quiet(peer, 0.2)
    cpu = proc.cpu() - cpu_before
    sql_after = await proc.statements()
    if not ok:
        print(
            f"  ! {proc.name}: {peer.replies - before} of {per_update * len(users)} replies", file=sys.stderr
        )
    statements = (
        (sql_after - sql_before) / len(users) if sql_before is not None and sql_after is not None else None
    )
    return Burst(len(users) / elapsed, 1000 * cpu / len(users), statements)


async def one_at_a_time(api: FakeBotApi, proc: Proc, text: str, users: list[int]) -> list[float]:
    peer = api.peer(proc.token)
    await _quiet(peer)
    latencies = []
    for user in users:
        peer.first_reply.pop(user, None)
        peer.replied.clear()
        started = time.perf_counter()
        api.offer(proc.token, [_message(user, text)])
        deadline = started + 30
        while user not in peer.first_reply and time.perf_counter() < deadline:
            peer.replied.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(peer.replied.wait(), deadline - time.perf_counter())
        if user in peer.first_reply:
            latencies.append(1000 * (peer.first_reply[user] - started))
        await _quiet(peer, 0.02)
    return latencies


async def start_up(api: FakeBotApi, launch: Any, token: str, user: int) -> tuple[Proc, float]:
    """Launch with a /start already waiting; seconds until its first reply."""
    peer = api.peer(token)
    peer.first_reply.pop(user, None)
    api.offer(token, [_message(user, "/start")])
    started = time.perf_counter()
    proc: Proc = launch()
    while user not in peer.first_reply:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}")
        if time.perf_counter() - started > 120:
            raise RuntimeError(f"{proc.name} gave no first answer in 120 s")
        await asyncio.sleep(0.005)
    elapsed = peer.first_reply[user] - started
    await _quiet(peer)
    return proc, elapsed


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class DbFigures:
    database: str
    startup: dict[str, float] = field(default_factory=dict)
    rss_idle: dict[str, float] = field(default_factory=dict)
    rss_loaded: dict[str, float] = field(default_factory=dict)
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)


async def run_database(args: argparse.Namespace, label: str, database_url: str, work: Path) -> DbFigures:
    figures = DbFigures(label)
    print(
        f"[{label}] seeding {args.households} households, {args.tickets} tickets, {args.residents} residents",
        file=sys.stderr,
    )
    t0 = time.perf_counter()
    await seed(database_url, args.households, args.tickets, args.residents)
    print(f"[{label}] seeded in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    api = FakeBotApi()
    await api.start()
    procs: list[Proc] = []
    try:
        red, figures.startup["red"] = await start_up(
            api,
            lambda: _start_red(api.base_url, database_url, work, args.telegram_limits),
            EMULATOR_TOKEN,
            FIRST_RESIDENT,
        )
        procs.append(red)
        echo, figures.startup["echo"] = await start_up(
            api, lambda: _start_echo(api.base_url), ECHO_TOKEN, FIRST_RESIDENT
        )
        procs.append(echo)
        await asyncio.sleep(1)
        figures.rss_idle = {"red": red.rss_mb(), "echo": echo.rss_mb()}
        kinds = [k for k in args.kinds.split(",") if k]
        residents = [FIRST_RESIDENT + i for i in range(args.residents)]
        per_update = {
            (p.name, kind): await _replies_per_update(api, p, KINDS[kind], residents[-1])
            for kind in kinds
            for p in (red, echo)
        }
        results: dict[tuple[str, str], list[Burst]] = {}
        latencies: dict[tuple[str, str], list[float]] = {}
        for round_no in range(args.rounds):
            for kind in kinds:
                for p in (red, echo) if round_no % 2 == 0 else (echo, red):
                    offset = (round_no * args.updates) % max(1, len(residents) - args.updates)
                    users = [residents[(offset + i) % len(residents)] for i in range(args.updates)]
                    b = await burst(api, p, KINDS[kind], users, per_update[(p.name, kind)])
                    results.setdefault((p.name, kind), []).append(b)
                    lat = await one_at_a_time(api, p, KINDS[kind], users[: args.one_at_a_time])
                    latencies.setdefault((p.name, kind), []).extend(lat)
                    print(
                        f"[{label}] round {round_no + 1} {kind:8} {p.name:9} {b.rate:8.1f} updates/s "
                        f"{b.cpu_ms:6.2f} ms CPU  p50 {_pct(lat, 0.5):6.1f} ms",
                        file=sys.stderr,
                    )
        figures.rss_loaded = {"red": red.rss_mb(), "echo": echo.rss_mb()}
        for kind in kinds:
            row: dict[str, Any] = {}
            for name, key in (("RedButler", "red"), ("echo", "echo")):
                bursts = results[(name, kind)]
                lat = latencies[(name, kind)]
                statements = [b.statements for b in bursts if b.statements is not None]
                row[key] = {
                    "rate": statistics.median(b.rate for b in bursts),
                    "cpu_ms": statistics.median(b.cpu_ms for b in bursts),
                    "p50": _pct(lat, 0.5),
                    "p99": _pct(lat, 0.99),
                    "statements": statistics.median(statements) if statements else None,
                    "replies": per_update[(name, kind)],
                }
            row["ratio"] = row["red"]["rate"] / row["echo"]["rate"] if row["echo"]["rate"] else 0.0
            figures.rows[kind] = row
    finally:
        for p in procs:
            p.stop()
        await api.stop()
    return figures


def _print(figures: DbFigures) -> None:
    print(f"\n{figures.database}")
    print(
        f"{'':10} {'RedButler':>10} {'echo':>8} {'ratio':>6} {'CPU ms':>13} {'p50/p99 ms':>19} {'SQL/upd':>8}"
    )
    for kind, row in figures.rows.items():
        red, echo = row["red"], row["echo"]
        sql = f"{red['statements']:.1f}" if red["statements"] is not None else "-"
        print(
            f"{kind:10} {red['rate']:10.1f} {echo['rate']:8.1f} {row['ratio']:6.2f} "
            f"{red['cpu_ms']:6.1f}/{echo['cpu_ms']:<6.1f} "
            f"{red['p50']:5.1f}/{red['p99']:<5.1f} {echo['p50']:4.1f}/{echo['p99']:<4.1f} {sql:>8}"
        )
    print(
        f"start-up to first answer: RedButler {figures.startup['red']:.2f} s, "
        f"echo {figures.startup['echo']:.2f} s"
    )
    print(
        f"RSS idle: RedButler {figures.rss_idle['red']:.0f} MB, echo {figures.rss_idle['echo']:.0f} MB; "
        f"after the work: RedButler {figures.rss_loaded['red']:.0f} MB, "
        f"echo {figures.rss_loaded['echo']:.0f} MB"
    )


async def _pg_admin(url: str, *statements: str) -> None:
    import asyncpg

    base, _, _name = url.rpartition("/")
    conn = await asyncpg.connect(base.replace("postgresql+asyncpg", "postgresql") + "/postgres")
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _bench(args: argparse.Namespace) -> list[DbFigures]:
    out: list[DbFigures] = []
    with tempfile.TemporaryDirectory(prefix="redbutler-e2e-") as tmp:
        work = Path(tmp)
        out.append(await run_database(args, "SQLite", f"sqlite+aiosqlite:///{work / 'bench.sqlite3'}", work))
        pg = os.environ.get("REDBUTLER_TEST_DATABASE_URL", "")
        if pg and not args.sqlite_only:
            name = pg.rpartition("/")[2] + "_e2e"
            url = pg.rpartition("/")[0] + "/" + name
            await _pg_admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
            try:
                out.append(await run_database(args, "PostgreSQL", url, work))
            finally:
                await _pg_admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return out


def cmd_bench_e2e(args: argparse.Namespace, settings: Settings) -> int:
    figures = asyncio.run(_bench(args))
    print(
        f"\n{args.updates} updates per burst, {args.one_at_a_time} one at a time, "
        f"medians of {args.rounds} rounds; "
        f"{args.households} households, {args.tickets} tickets; {os.cpu_count()} CPUs; "
        + ("the bot keeps its 29/s flood budget" if args.telegram_limits else "the bot's flood budget lifted")
    )
    for f in figures:
        _print(f)
    if args.json is not None:
        args.json.write_text(json.dumps([f.__dict__ for f in figures], ensure_ascii=False, indent=2))
    return 0
