"""The `pingfan` command: argument parsing and wiring, nothing else.

`--config PATH` and `--log-level LEVEL` work before or after the subcommand
(`pingfan --config x.toml doctor` and `pingfan doctor --config x.toml`); given twice, the
one after the subcommand wins.

Exit codes (also in `pingfan --help`). Every failure prints one line on stderr that names the
file or argument and the fix, never a traceback:

    0    done
    1    failed: platform, network, disk (full, read-only), or a damaged or busy database
    2    bad config or arguments (and `doctor` found a problem; `backup` on PostgreSQL,
         which prints the `pg_dump` command to run instead)
    3    another pingfan run/collect holds the database (its run lock, `<db>.lock` beside the
         real file, whatever path leads to it)
    4    `collect --once`: the pass ran, but a platform blocked it (see the health alert)
    130  interrupted (Ctrl-C)
"""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from monitor.config import (
    Config,
    bot_mismatch,
    load_config,
    require_honest_mode,
    resolve_config_path,
)
from monitor.errors import CollectorError, ConfigError, PingfanError, SinkError
from monitor.runlock import AlreadyRunning, RunLock
from monitor.store.errors import DatabaseBusy, DatabaseDamaged, DatabaseUnavailable, QueryFailed
from nlp.search_tokens import jieba_search_tokens

if TYPE_CHECKING:
    from monitor.store import Store

log = logging.getLogger("pingfan")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ALREADY_RUNNING = 3
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = """\
exit codes:
  0    done
  1    failed: platform, network, disk (full, read-only), or a damaged or busy database
  2    bad config or arguments (and `doctor` found a problem; `backup` on PostgreSQL:
       it prints the pg_dump command to run instead)
  3    another pingfan run/collect holds the database (its run lock, <db>.lock)
  4    collect --once: the pass ran, but a platform blocked it (see the health alert)
  130  interrupted (Ctrl-C)
A failure prints one line on stderr naming the file or argument and the fix.
--config and --log-level may also follow the subcommand: pingfan doctor --config x.toml
"""
LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"]

# Subcommands whose issue is still open: they say so and exit 2.


def _common_options() -> argparse.ArgumentParser:
    """--config and --log-level for every subcommand; SUPPRESS keeps a value given before it."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="config file (default: $PINGFAN_CONFIG, else ./config.toml)",
    )
    common.add_argument(
        "--log-level",
        default=argparse.SUPPRESS,
        choices=LOG_LEVELS,
        help="logging threshold for stderr (default: INFO)",
    )
    return common


_INVALID_CHOICE = re.compile(r"invalid choice: '([^']*)' \(choose from (.*)\)")


class _Parser(argparse.ArgumentParser):
    """argparse's parser, which also names the closest choice to a mistyped one
    (`pingfan colect` → "did you mean 'collect'?"); its subcommands' parsers are of its class."""

    def error(self, message: str) -> NoReturn:
        found = _INVALID_CHOICE.search(message)
        if found:
            choices = re.findall(r"'([^']*)'", found.group(2))
            close = difflib.get_close_matches(found.group(1), choices, n=1)
            if close:
                message += f"; did you mean '{close[0]}'?"
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pingfan",
        description="Social-listening monitor for city campaigns on Weibo and Douyin.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=None,
        help="config file (default: $PINGFAN_CONFIG, else ./config.toml)",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=LOG_LEVELS,
        help="logging threshold for stderr (default: INFO)",
    )
    common = _common_options()
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(
        name: str, summary: str, parent: argparse._SubParsersAction = sub
    ) -> argparse.ArgumentParser:
        return parent.add_parser(name, help=summary, parents=[common])

    add("run", "run the monitoring daemon until stopped (SIGTERM/SIGINT)")

    collect = add("collect", "one full pass: collect, score, rules, dispatch")
    collect.add_argument("--once", action="store_true", help="one pass, then exit")
    collect.add_argument("--platform", choices=["weibo", "douyin"], help="only this platform")
    collect.add_argument(
        "--until-done",
        action="store_true",
        help="with --once: run the sources cut at their time budget again until nothing is "
        "left (back-fills)",
    )

    demo = add("demo", "the embedded default: the bundled campaign replayed in simulated time")
    demo.add_argument("--out", metavar="DIR", help="keep the database and summary in DIR")
    demo.add_argument(
        "--until",
        metavar="DATE",
        help="stop at this simulated date, e.g. 2019-08-20 (default: the campaign's end)",
    )

    sim = add("sim", "serve the Weibo/Douyin platform simulator alone")
    sim.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    sim.add_argument("--port", type=int, default=0, help="listen port (default: a free one)")
    sim.add_argument("--scenario", metavar="FILE", help="scenario file (default: dalian-2019)")
    sim.add_argument("--speed", type=float, help="simulated seconds per real second")

    nlp = add("nlp", "sentiment scoring and model training")
    nlp_sub = nlp.add_subparsers(dest="nlp_command", metavar="ACTION", required=True)
    score = add("score", "score stdin, one text a line, to JSON lines on stdout", nlp_sub)
    score.add_argument("--model", help="'default', 'snownlp' or a trained model file")
    score.add_argument("--jobs", type=int, default=0, help="worker processes (default: all cores)")
    train = add("train", "train a sentiment model from labelled JSON lines", nlp_sub)
    train.add_argument("--data", metavar="FILE", help="JSON lines {text, label}")
    train.add_argument("--from-db", action="store_true", help="add the labels the team gave")
    train.add_argument("--out", metavar="MODEL", required=True, help="where to write the model")
    train.add_argument(
        "--base-limit",
        type=int,
        metavar="N",
        help="use only N examples of the base data (quick trials; default: all)",
    )
    train.add_argument(
        "--version-name", help="version recorded in the model (default: a UTC timestamp)"
    )
    label = add("label", "label the comments the model is least sure about (1/2/3, s, q)", nlp_sub)
    label.add_argument("--n", type=int, default=50, help="how many to ask about (default: 50)")
    adapt = add("adapt", "adapt to stored comments by their emoticons; report on labels", nlp_sub)
    adapt.add_argument("--out", metavar="MODEL", help="also write the adapted model here")

    digest = add("digest", "write (and optionally send) the weekly digest")
    digest.add_argument("--week", metavar="YYYY-Www", help="ISO week (default: last week)")
    digest.add_argument("--out", metavar="DIR", help="output directory")
    digest.add_argument("--send", action="store_true", help="also send it to the sinks")

    export = add("export", "write stored records as JSON lines or CSV")
    export.add_argument(
        "kind", choices=["posts", "comments", "topics", "accounts", "alerts"], help="what"
    )
    export.add_argument(
        "--format",
        choices=["jsonl", "csv"],
        help="jsonl (default) or csv; in CSV a text cell starting with = + - @, a tab or CR "
        "gets a leading ' so that a spreadsheet shows it as text and never runs it",
    )
    export.add_argument(
        "--excel",
        action="store_true",
        help="CSV for Excel: starts with a UTF-8 byte-order mark so that Chinese opens "
        "correctly (implies --format csv; off by default because other tools read the mark "
        "as part of the first column name)",
    )
    export.add_argument(
        "--since", metavar="ISO", help="only records from then on (no offset: Asia/Shanghai)"
    )
    export.add_argument(
        "--out",
        metavar="FILE",
        help="write to FILE instead of stdout (replaced only once the export is complete)",
    )

    backup = add("backup", "copy the database safely, even while pingfan runs")
    backup.add_argument(
        "path",
        metavar="PATH",
        help="file to write, or a directory (then pingfan-YYYYmmdd-HHMMSS.db inside it)",
    )
    backup.add_argument("--force", action="store_true", help="replace PATH if it exists")

    watch = add("watch", "posts and videos watched by link (the campaign's own)")
    watch_sub = watch.add_subparsers(dest="watch_command", metavar="ACTION", required=True)
    watch_add = add("add", "watch a post or video by its share link", watch_sub)
    watch_add.add_argument("url", metavar="URL", help="a Weibo or Douyin share link")
    watch_add.add_argument("--note", default="", help="a note for the team")
    add("list", "what is watched (added here, and [[watch]] in the config)", watch_sub)
    watch_remove = add("remove", "stop watching (an item added with `watch add`)", watch_sub)
    watch_remove.add_argument("key", metavar="URL|ID", help="the link, or the post's id")
    watch_resolve = add("resolve", "print the platform and id a link names, as JSON", watch_sub)
    watch_resolve.add_argument("url", metavar="URL", help="a Weibo or Douyin share link")

    web = add("web", "serve the team's web console ([web] host and port)")
    web.add_argument("--port", type=int, help="listen port (default: [web] port, 8080)")
    web_sub = web.add_subparsers(dest="web_command", metavar="ACTION")
    web_user = add("user", "the console's accounts", web_sub)
    user_sub = web_user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    user_add = add("add", "add an account; the password is read from stdin", user_sub)
    user_add.add_argument("name", metavar="NAME", help="lower-case letters, digits, . _ -")
    user_add.add_argument(
        "--role", choices=["viewer", "editor"], required=True, help="viewers only read"
    )
    add("list", "list the accounts", user_sub)
    user_remove = add("remove", "remove an account and end its sessions", user_sub)
    user_remove.add_argument("name", metavar="NAME", help="the account to remove")

    add("reindex", "rebuild the full-text search index of the stored posts and comments")
    add("doctor", "check config, database, environment and browser")
    add("status", "what the database holds and what is pending")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler = HANDLERS[args.command]
    try:
        return handler(args)
    except AlreadyRunning as err:
        return _fail(err, EXIT_ALREADY_RUNNING)
    except (DatabaseDamaged, DatabaseBusy, DatabaseUnavailable, CollectorError, SinkError) as err:
        return _fail(err, EXIT_FAILED)
    except QueryFailed:
        raise  # a statement SQLite refused is a bug: its traceback is for the developer
    except PingfanError as err:
        return _fail(err, EXIT_USAGE)
    except KeyboardInterrupt:
        # Ctrl-C before a command's own handling starts (e.g. while the demo starts up).
        print("pingfan: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_OK


def _fail(err: Exception, code: int) -> int:
    print(f"pingfan: {err}", file=sys.stderr)
    return code


def _quiet_stdout() -> None:
    """The reader went away (`pingfan export posts | head`): no second error at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _usage(command: str, message: str) -> int:
    print(f"pingfan {command}: {message}", file=sys.stderr)
    return EXIT_USAGE


def _config(args: argparse.Namespace) -> Config:
    return load_config(resolve_config_path(args.config))


def cmd_doctor(args: argparse.Namespace) -> int:
    from monitor.doctor import render, run_checks

    checks = run_checks(_config(args))
    print(render(checks))
    return EXIT_USAGE if any(c.status == "fail" for c in checks) else EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from monitor.export import export_records, parse_since, write_file, write_records

    config = _config(args)
    fmt = args.format or ("csv" if args.excel else "jsonl")
    if args.excel and fmt != "csv":
        return _usage("export", "--excel writes CSV; drop --format jsonl or drop --excel")
    try:
        since = parse_since(args.since, config.ui.timezone) if args.since is not None else None
    except ValueError as err:
        return _usage("export", str(err))
    out = Path(args.out) if args.out is not None else None
    if out is not None:
        if out.is_dir():
            return _usage("export", f"--out {out} is a directory; give a file name")
        if not out.parent.is_dir():
            return _usage(
                "export", f"--out {out}: directory {out.parent} does not exist; create it first"
            )
    db = config.storage.path
    if not config.storage.is_postgres and not db.exists():
        return _usage(
            "export",
            f"no database at {db}; check [storage] path in {config.source}, or run "
            "`pingfan collect --once` first",
        )
    with _open_to_read(config) as store:
        store.read_campaign(config.campaign.id)  # [campaign]: its rows only
        records = export_records(store, args.kind, since)
        if out is None:
            count = write_records(records, args.kind, fmt, sys.stdout, excel=args.excel)
        else:
            try:
                count = write_file(records, args.kind, fmt, out, excel=args.excel)
            except OSError as err:
                print(
                    f"pingfan export: cannot write --out {out}: {err.strerror or err}; check "
                    "the free space and the permissions there",
                    file=sys.stderr,
                )
                return EXIT_FAILED
    log.info("exported %d %s", count, args.kind)
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from monitor.status import no_database_yet, render_status

    config = _config(args)
    if not config.storage.is_postgres and not config.storage.path.exists():
        print(no_database_yet(config.storage.path))
        return EXIT_OK
    with _open_to_read(config) as store:
        store.read_campaign(config.campaign.id)  # [campaign]: its rows only
        print(render_status(store, config))
    return EXIT_OK


def _open_to_read(config: Config) -> Store:
    """The store for a command that only reads: the SQLite file (read-only when it cannot be
    written), or the PostgreSQL database; no campaign enrolled (`read_campaign` picks it)."""
    from monitor.store import Store

    if config.storage.is_postgres:
        return Store.for_config(config, search_tokens=jieba_search_tokens, enroll=False)
    return Store.open_to_read(config.storage.path, search_tokens=jieba_search_tokens)


def cmd_backup(args: argparse.Namespace) -> int:
    from monitor.store import Store

    config = _config(args)
    if config.storage.is_postgres:
        return _usage("backup", pg_dump_advice(config, Path(args.path)))
    db = config.storage.path
    if not db.exists():
        return _usage(
            "backup",
            f"no database at {db}; nothing to back up (check [storage] path in {config.source})",
        )
    target = _backup_target(config, Path(args.path), ".db")
    if not target.parent.is_dir():
        return _usage(
            "backup", f"{target}: directory {target.parent} does not exist; create it first"
        )
    if target.exists() and os.path.samefile(target, db):
        return _usage("backup", f"{target} is the database itself; give another path")
    if target.exists() and not args.force:
        return _usage(
            "backup", f"{target} exists; pass --force to replace it, or give another path"
        )
    try:
        with Store.open_to_read(db, search_tokens=jieba_search_tokens) as store:
            size = store.backup_to(target)
    except OSError as err:
        print(
            f"pingfan backup: cannot write {target}: {err.strerror or err}; check the free "
            "space and the permissions there",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(f"backed up {db} to {target} ({size:,} bytes, quick_check ok)")
    return EXIT_OK


def _backup_target(config: Config, path: Path, suffix: str) -> Path:
    """`path`, or a new pingfan-YYYYmmdd-HHMMSS file inside it when it is a directory."""
    from zoneinfo import ZoneInfo

    if not path.is_dir():
        return path
    stamp = datetime.now(ZoneInfo(config.ui.timezone)).strftime("%Y%m%d-%H%M%S")
    return path / f"pingfan-{stamp}{suffix}"


def pg_dump_advice(config: Config, path: Path) -> str:
    """`backup` on PostgreSQL: the server's own tool copies a live database consistently;
    the one line gives its command (the address holds no password: the config refuses one)."""
    import shlex

    storage = config.storage
    assert storage.url is not None
    target = _backup_target(config, path, ".dump")
    password = f'PGPASSWORD="${storage.password_env}" ' if storage.password_env else ""
    command = (
        f"{password}pg_dump --format=custom --file={shlex.quote(str(target))} "
        f"{shlex.quote(storage.url)}"
    )
    return (
        f"the database is PostgreSQL ({storage.url}), which pingfan does not copy itself: "
        f"run `{command}` (consistent while pingfan runs; restore with `pg_restore --dbname=URL "
        "FILE` into an empty database); nothing was written"
    )


def cmd_reindex(args: argparse.Namespace) -> int:
    from monitor.store import Store

    config = _config(args)
    if config.storage.is_postgres:
        print(
            "reindex rebuilds SQLite's full-text index; on PostgreSQL the server keeps the "
            "pg_trgm index itself as rows are written: nothing to do"
        )
        return EXIT_OK
    db = config.storage.path
    if not db.exists():
        return _usage(
            "reindex",
            f"no database at {db}; nothing to index (check [storage] path in {config.source})",
        )
    # A long write: one at a time, and never under a running collector. The configured
    # tokenizer and lexicon ([storage] fts_tokenizer, [nlp] lexicon) are the ones used.
    with RunLock(db), Store.for_config(config, search_tokens=jieba_search_tokens) as store:
        count = store.content.reindex()
    print(f"reindexed {count:,} posts and comments in {db}")
    return EXIT_OK


def cmd_nlp(args: argparse.Namespace) -> int:
    from monitor.nlp_cli import run_nlp

    return run_nlp(args)


def cmd_sim(args: argparse.Namespace) -> int:
    import asyncio

    from monitor.sim.serve import serve
    from monitor.sim.world import ScenarioError

    try:
        asyncio.run(serve(args.host, args.port, args.scenario, args.speed))
    except ScenarioError as err:
        print(f"pingfan sim: {err}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as err:
        print(f"pingfan sim: cannot listen on {args.host}:{args.port}: {err}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_watch(args: argparse.Namespace) -> int:
    from monitor import watch
    from monitor.parse.links import parse_link
    from monitor.store import Store

    if args.watch_command == "resolve":
        link = parse_link(args.url)  # garbage: LinkError, exit 2, before any config is read
        if link.short is not None:
            link = watch.resolve_link(_config(args), args.url)
        print(watch.resolve_json(link))
        return EXIT_OK
    config = _config(args)
    now = datetime.now(UTC)
    with Store.for_config(config, search_tokens=jieba_search_tokens) as store:
        if args.watch_command == "add":
            print(watch.watch_add(store, config, args.url, args.note, now))
        elif args.watch_command == "remove":
            print(watch.watch_remove(store, args.key))
        else:
            store.watch.sync_config_watches(watch.config_watches(config), now)
            print("\n".join(watch.watch_lines(store.watch.watched())))
    return EXIT_OK


def cmd_collect(args: argparse.Namespace) -> int:
    from monitor.app.collect import collect_command

    if not args.once:
        print("pingfan collect: only --once is built; `pingfan run` is the daemon", file=sys.stderr)
        return EXIT_USAGE
    config = _config(args)
    require_honest_mode(config, args.platform)
    return collect_command(config, args.platform, until_done=args.until_done)


def cmd_run(args: argparse.Namespace) -> int:
    from monitor.app.run import run_command

    config = _config(args)
    require_honest_mode(config)
    mismatch = bot_mismatch(config)  # the bot and the telegram sink must be one bot
    if mismatch:
        raise ConfigError(mismatch)
    return run_command(config)


def cmd_digest(args: argparse.Namespace) -> int:
    from alerts.digest import digest_command

    out = Path(args.out) if args.out else None
    return digest_command(
        _config(args), week=args.week, out=out, send=args.send, now=datetime.now(UTC)
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from monitor.demo import DemoOptions, parse_until, run_demo

    until = None
    if args.until:
        try:
            until = parse_until(args.until)
        except ValueError as err:
            print(f"pingfan demo: {err}", file=sys.stderr)
            return EXIT_USAGE
    out = Path(args.out) if args.out else None
    return run_demo(DemoOptions(out=out, until=until))


def cmd_web(args: argparse.Namespace) -> int:
    from alerts.web import user_command, web_command

    config = _config(args)
    if args.web_command == "user":
        name = getattr(args, "name", None)
        return user_command(config, args.user_command, name, getattr(args, "role", None))
    return web_command(config, args.port)


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": cmd_run,
    "doctor": cmd_doctor,
    "export": cmd_export,
    "status": cmd_status,
    "backup": cmd_backup,
    "reindex": cmd_reindex,
    "demo": cmd_demo,
    "nlp": cmd_nlp,
    "sim": cmd_sim,
    "collect": cmd_collect,
    "digest": cmd_digest,
    "watch": cmd_watch,
    "web": cmd_web,
}


if __name__ == "__main__":
    sys.exit(main())
