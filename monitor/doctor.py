"""`pingfan doctor`: is this machine and config ready to run? One line per check."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from monitor.config import Config, bot_mismatch, missing_secrets, unsigned_http_problem
from monitor.errors import ConfigError, StoreError
from monitor.store import Store
from monitor.store.errors import DatabaseBusy, DatabaseDamaged, DatabaseUnavailable, damaged
from monitor.store.housekeeping import FileFacts, file_facts
from nlp.search_tokens import jieba_search_tokens

if TYPE_CHECKING:
    from monitor.store.postgres import ServerFacts

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str


def run_checks(config: Config) -> list[Check]:
    checks = [Check("config", "ok", f"{config.source} is valid")]
    checks.extend(_check_database(config))
    checks.extend(_check_platforms(config))
    if config.douyin.enabled and config.douyin.mode == "open_platform":
        checks.append(_check_open_platform_grants(config))
    unsigned = unsigned_http_problem(config)
    if unsigned:
        checks.append(Check("douyin mode", "fail", unsigned))
    mismatch = bot_mismatch(config)
    if mismatch:
        checks.append(Check("bot", "fail", mismatch))
    secrets = missing_secrets(config)
    checks.extend(Check("sink secret", "fail", problem) for problem in secrets)
    enabled = config.enabled_sinks()
    if not enabled:
        checks.append(Check("sinks", "warn", "no sink is enabled: alerts stay in the outbox"))
    elif not secrets:
        kinds = ", ".join(sink.type for sink in enabled)
        checks.append(Check("sinks", "ok", f"{len(enabled)} enabled ({kinds})"))
    checks.append(_check_sentiment_model(config))
    checks.append(
        Check(
            "watch list",
            "ok" if config.topics else "warn",
            f"{len(config.topics)} topic(s), {len(config.kols)} KOL(s), "
            f"{len(config.watch)} [[watch]] link(s)",
        )
    )
    return checks


def _check_database(config: Config) -> list[Check]:
    if config.storage.is_postgres:
        return _check_postgres(config)
    path = config.storage.path
    if not path.exists():
        # Do not create it here: doctor only looks.
        where = _nearest_existing(path.parent)
        if not where.is_dir():
            return [
                Check(
                    "database",
                    "fail",
                    f"no database at {path}, and {where} is a file, not a directory; check "
                    "[storage] path",
                )
            ]
        if not os.access(where, os.W_OK | os.X_OK):
            return [
                Check(
                    "database",
                    "fail",
                    f"no database at {path}, and {where} is not writable to create it; check "
                    "[storage] path and its permissions",
                )
            ]
        return [
            Check(
                "database",
                "warn",
                f"no database yet at {path}; `pingfan collect --once` or `pingfan run` creates it",
            )
        ]
    try:
        with Store.open(path, search_tokens=jieba_search_tokens) as store:
            problems = store.quick_check()
            if problems:
                more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
                raise damaged(store.path, f"quick_check: {problems[0]}{more}")
            posts = store.reports.table_counts()["posts"]
            facts = file_facts(store)
    except (DatabaseDamaged, DatabaseBusy, DatabaseUnavailable) as err:
        return [Check("database", "fail", str(err))]
    except StoreError as err:
        fix = "" if "; check " in str(err) else "; check [storage] path and its permissions"
        return [Check("database", "fail", f"{err}{fix}")]
    return [
        Check("database", "ok", f"{path} (schema current, pages sound, {posts} posts)"),
        Check("database file", "ok", describe_file(facts)),
    ]


def _check_postgres(config: Config) -> list[Check]:
    """Reachable, the password accepted, pg_trgm there, the schema this pingfan's: each
    problem is one line naming the fix. Nothing is created or migrated here."""
    from monitor.store.postgres import connect, server_facts

    storage = config.storage
    try:
        backend = connect(storage.where, storage.password_env, migrate_schema=False)
    except StoreError as err:  # unreachable, refused, a wrong password, an unset variable
        return [Check("database", "fail", str(err))]
    try:
        facts = server_facts(backend)
        schema = _schema_check(facts)
        posts = None
        if schema.status == "ok":
            with Store(backend) as store:
                posts = store.reports.table_counts()["posts"]
    except StoreError as err:  # it names the database
        return [Check("database", "fail", str(err))]
    finally:
        backend.close()
    shown = f"{storage.where} (PostgreSQL {facts.server_version}"
    shown += f", {posts} posts)" if posts is not None else ")"
    return [Check("database", "ok", shown), _trgm_check(facts), schema]


def _trgm_check(facts: ServerFacts) -> Check:
    if facts.pg_trgm is not None:
        return Check("pg_trgm", "ok", f"version {facts.pg_trgm} (full-text search)")
    if facts.pg_trgm_available and not facts.schema_version:
        return Check("pg_trgm", "ok", "available; the first `pingfan run` creates it")
    if facts.pg_trgm_available:
        return Check(
            "pg_trgm",
            "fail",
            "the extension is not created in this database; run `CREATE EXTENSION pg_trgm;` "
            "in it as its owner",
        )
    return Check(
        "pg_trgm",
        "fail",
        "the server does not have the extension; install Debian's `postgresql` package (it "
        "ships pg_trgm) on the database server",
    )


def _schema_check(facts: ServerFacts) -> Check:
    mine, theirs = facts.latest_migration, facts.schema_version
    if not theirs:
        return Check(
            "schema", "warn", "none yet; `pingfan collect --once` or `pingfan run` creates it"
        )
    if theirs == mine:
        return Check("schema", "ok", f"{theirs} (current)")
    if theirs < mine:
        return Check(
            "schema", "warn", f"{theirs}, older than {mine}; the next `pingfan run` migrates it"
        )
    return Check(
        "schema",
        "fail",
        f"{theirs}, newer than this pingfan's {mine}: a newer pingfan migrated it; upgrade "
        "pingfan on this machine",
    )


def describe_file(facts: FileFacts) -> str:
    """ "1.2 GB (WAL 4.1 MB), 310 free pages (1.2 MB), auto_vacuum incremental" """
    note = (
        "; free pages are reused by new rows (an older file: `VACUUM` it once to hand them back)"
        if facts.auto_vacuum == "none" and facts.free_pages
        else ""
    )
    return (
        f"{_size(facts.bytes)} (WAL {_size(facts.wal_bytes)}), {facts.free_pages:,} free pages"
        f" ({_size(facts.free_bytes)}), auto_vacuum {facts.auto_vacuum}{note}"
    )


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _check_sentiment_model(config: Config) -> Check:
    """Which sentiment model scores comments, and how it did on real text when it was made."""
    from nlp.sentiment import LinearModel, load_model

    spec = config.nlp.model
    try:
        model = load_model(spec)
    except (OSError, ValueError) as err:
        return Check("sentiment model", "fail", f"[nlp] model = {spec!r}: {err}")
    if not isinstance(model, LinearModel):
        return Check("sentiment model", "ok", f"{model.version} (stock baseline, not measured)")
    f1, lines = model.metrics.get("real_test_macro_f1"), model.metrics.get("real_test_lines")
    counted = f"{lines:,} " if isinstance(lines, int) else ""
    measured = (
        f"three-way macro-F1 {f1:.2f} on {counted}{REAL_TEST_NAME}"
        if isinstance(f1, int | float)
        else "no figure on real text recorded (train it with `pingfan nlp train`)"
    )
    return Check("sentiment model", "ok", f"{model.version}: {measured}")


REAL_TEST_NAME = "real Weibo comments (hand-labelled LCCC test split)"


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_platforms(config: Config) -> list[Check]:
    checks = []
    for name, platform in (("weibo", config.weibo), ("douyin", config.douyin)):
        if not platform.enabled:
            checks.append(Check(name, "ok", "disabled in config"))
            continue
        env = platform.cookie_env
        if env and os.environ.get(env) and name == "douyin":
            checks.append(_douyin_cookie(env, os.environ[env]))
        elif env and os.environ.get(env):
            checks.append(Check(f"{name} cookie", "ok", f"${env} is set"))
        else:
            checks.append(
                Check(
                    f"{name} cookie",
                    "warn",
                    f"${env or '(cookie_env unset)'} is not set: anonymous reads only; "
                    "search and comments may be refused",
                )
            )
    if config.douyin.enabled and config.douyin.mode == "http":
        signer = config.douyin.signer
        if signer.startswith("monitor.sim."):
            checks.append(
                Check(
                    "douyin signer",
                    "warn",
                    f"{signer} is the simulator's test signer: the real site rejects what it "
                    "adds (use browser mode against www.douyin.com)",
                )
            )
    if config.douyin.enabled and config.douyin.mode == "browser":
        if not config.douyin.headless and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        ):
            checks.append(
                Check(
                    "douyin headless",
                    "warn",
                    "headless = false needs a display and $DISPLAY is unset: run pingfan "
                    "under Xvfb (xvfb-run -a pingfan run; `make xvfb` installs it)",
                )
            )
        path = config.douyin.chromium_path
        if path.is_file() and os.access(path, os.X_OK):
            checks.append(Check("chromium", "ok", str(path)))
        else:
            checks.append(
                Check(
                    "chromium",
                    "warn",
                    f"{path} not found: install Debian's chromium (apt-get install chromium) "
                    "or set [douyin] chromium_path",
                )
            )
    return checks


def _check_open_platform_grants(config: Config) -> Check:
    """The grants' variables and, with refresh on, the client_key, as `run` will read them
    (no request is made; no token is shown)."""
    from monitor.collectors.douyin_open import read_grants, read_oauth
    from monitor.runtime.clock import WallClock

    settings = config.douyin
    try:
        grants = read_grants(settings.open_platform_token_envs, dict(os.environ))
        oauth = read_oauth(config, grants, dict(os.environ), WallClock())
    except ConfigError as err:
        return Check("douyin grants", "fail", str(err))
    if not grants:
        return Check("douyin grants", "warn", "open_platform mode without a grant: nothing to read")
    if oauth is None:
        refresh = "tokens are not refreshed (alerts only; open_platform_refresh = false)"
    else:
        refresh = (
            f"tokens are refreshed with the client_key in ${settings.open_platform_client_key_env}"
        )
    return Check("douyin grants", "ok", f"{len(grants)} grant(s); {refresh}")


def _douyin_cookie(env: str, cookie: str) -> Check:
    """The cookie is set; `__ac_*` in it are named (never their values) and why they go."""
    from monitor.collectors.douyin_client import drop_page_load_cookies

    _, dropped = drop_page_load_cookies(cookie)
    if not dropped:
        return Check("douyin cookie", "ok", f"${env} is set")
    return Check(
        "douyin cookie",
        "warn",
        f"${env} is set and holds {', '.join(dropped)}, which pingfan drops: they pair with "
        "one page load (the site's challenge and its answer), an old pair brings the captcha "
        "page, and the site sets fresh ones; export the cookie without them",
    )


def render(checks: list[Check]) -> str:
    marks = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
    lines = [f"[{marks[c.status]}] {c.name}: {c.detail}" for c in checks]
    failed = sum(c.status == "fail" for c in checks)
    lines.append("ready" if not failed else f"not ready: {failed} problem(s) above")
    return "\n".join(lines)
