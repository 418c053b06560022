"""`pingfan web [--port N]` and `pingfan web user add|list|remove`: config in, exit code out."""

from __future__ import annotations

import asyncio
import getpass
import logging
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

from aiohttp import web

from alerts.web import accounts
from alerts.web.app import build_app, compile_templates
from monitor.config import Config
from monitor.errors import ConfigError
from monitor.store import Store
from monitor.store.console import ROLES
from nlp.search_tokens import jieba_search_tokens
from nlp.segment import warm_up

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


async def serve(
    config: Config,
    store: Store,
    stop: asyncio.Event,
    *,
    now: Callable[[], datetime] | None = None,
    port: int | None = None,
    started: Callable[[int], None] | None = None,
) -> None:
    """Serve the console on `[web] host` and `port` (or `port`) until `stop` is set."""
    host = config.web.host
    chosen = config.web.port if port is None else port
    app = build_app(config, store, now=now, stop=stop)
    compile_templates(app)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, chosen)
        try:
            await site.start()
        except OSError as err:
            raise ConfigError(
                f"cannot serve the console on {host}:{chosen}: {err.strerror or err}; set "
                "[web] port (or --port) to a free port"
            ) from err
        bound = int(runner.addresses[0][1]) if runner.addresses else chosen
        base = config.web.base_url or f"http://{host}:{bound}"
        log.info("console at %s (serving on %s:%d)", base, host, bound)
        if started is not None:
            started(bound)
        await stop.wait()
    finally:
        await runner.cleanup()


def web_command(config: Config, port: int | None) -> int:
    """`pingfan web`: the console alone, on the configured database, until SIGINT/SIGTERM."""
    if port is not None and not 0 <= port <= 65535:
        print(f"pingfan web: --port {port}: use a port from 1 to 65535", file=sys.stderr)
        return EXIT_USAGE

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        # jieba's tables (thread pages' keywords) are loaded once, before the first page needs them
        await asyncio.to_thread(warm_up, config.nlp.lexicon)
        with Store.for_config(config, search_tokens=jieba_search_tokens) as store:
            if not store.console.users():
                log.warning("no console account yet: add one with `pingfan web user add NAME`")
            await serve(config, store, stop, port=port)

    asyncio.run(run())
    return EXIT_OK


def read_password(stdin: TextIO, name: str) -> str | None:
    """From a terminal: asked twice, without echo; otherwise the first line of stdin."""
    if stdin.isatty():
        first = getpass.getpass(f"password for {name}: ")
        second = getpass.getpass("again: ")
        return first if first == second else None
    return stdin.readline().rstrip("\r\n")


def user_command(
    config: Config,
    action: str,
    name: str | None,
    role: str | None,
    *,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
) -> int:
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    with Store.for_config(config, search_tokens=jieba_search_tokens) as store:
        queries = store.console
        if action == "list":
            for user in queries.users():
                seen = user.last_visit_at.isoformat() if user.last_visit_at else "never"
                print(f"{user.name}\t{user.role}\tlast visit {seen}", file=out)
            return EXIT_OK
        assert name is not None
        if action == "remove":
            if not queries.remove_user(name):
                print(f"pingfan web user remove: no account {name!r}", file=sys.stderr)
                return EXIT_USAGE
            print(f"removed {name} and ended its sessions", file=out)
            return EXIT_OK
        problem = accounts.name_problem(name)
        if problem:
            print(f"pingfan web user add: {problem}", file=sys.stderr)
            return EXIT_USAGE
        if role not in ROLES:
            print("pingfan web user add: --role viewer or --role editor", file=sys.stderr)
            return EXIT_USAGE
        if queries.credentials(name) is not None:
            print(
                f"pingfan web user add: {name} exists; `pingfan web user remove {name}` first",
                file=sys.stderr,
            )
            return EXIT_USAGE
        password = read_password(stdin, name)
        if password is None:
            print("pingfan web user add: the two passwords differ; try again", file=sys.stderr)
            return EXIT_USAGE
        problem = accounts.password_problem(password)
        if problem:
            print(f"pingfan web user add: {problem} (read from stdin)", file=sys.stderr)
            return EXIT_USAGE
        queries.add_user(name, role, accounts.hash_password(password), datetime.now(UTC))
        print(f"added {name} ({role})", file=out)
        return EXIT_OK
