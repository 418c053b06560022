"""The `pingfan` command: argument parsing and wiring, nothing else."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from monitor.config import Config, load_config, resolve_config_path
from monitor.errors import PingfanError

log = logging.getLogger("pingfan")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

# Subcommands whose issue is still open: they say so and exit 2.
NOT_BUILT = {
    "run": "the daemon",
    "digest": "the weekly digest",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pingfan",
        description="Social-listening monitor for city campaigns on Weibo and Douyin.",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $PINGFAN_CONFIG, else ./config.toml)",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging threshold for stderr (default: INFO)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sub.add_parser("run", help="run the monitoring daemon until stopped (SIGTERM/SIGINT)")

    collect = sub.add_parser("collect", help="one full pass: collect, score, rules, dispatch")
    collect.add_argument("--once", action="store_true", help="one pass, then exit")
    collect.add_argument("--platform", choices=["weibo", "douyin"], help="only this platform")

    demo = sub.add_parser(
        "demo", help="the embedded default: a compressed replay of the bundled campaign"
    )
    demo.add_argument("--out", metavar="DIR", help="keep the database and summary in DIR")

    sim = sub.add_parser("sim", help="serve the Weibo/Douyin platform simulator alone")
    sim.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    sim.add_argument("--port", type=int, default=0, help="listen port (default: a free one)")
    sim.add_argument("--scenario", metavar="FILE", help="scenario file (default: dalian-2019)")
    sim.add_argument("--speed", type=float, help="simulated seconds per real second")

    nlp = sub.add_parser("nlp", help="sentiment scoring and model training")
    nlp_sub = nlp.add_subparsers(dest="nlp_command", metavar="ACTION", required=True)
    score = nlp_sub.add_parser(
        "score", help="score stdin, one text a line, to JSON lines on stdout"
    )
    score.add_argument("--model", help="'default', 'snownlp' or a trained model file")
    score.add_argument("--jobs", type=int, default=0, help="worker processes (default: all cores)")
    train = nlp_sub.add_parser("train", help="train a sentiment model from labelled JSON lines")
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

    digest = sub.add_parser("digest", help="write (and optionally send) the weekly digest")
    digest.add_argument("--week", metavar="YYYY-Www", help="ISO week (default: last week)")
    digest.add_argument("--out", metavar="DIR", help="output directory")
    digest.add_argument("--send", action="store_true", help="also send it to the sinks")

    export = sub.add_parser("export", help="write stored records as JSON lines or CSV")
    export.add_argument(
        "kind", choices=["posts", "comments", "topics", "accounts", "alerts"], help="what"
    )
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl", help="format")
    export.add_argument(
        "--since", metavar="ISO", help="only records from then on (no offset: Asia/Shanghai)"
    )

    sub.add_parser("doctor", help="check config, database, environment and browser")
    sub.add_parser("status", help="what the database holds and what is pending")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler = HANDLERS.get(args.command)
    try:
        if handler is None:
            print(
                f"pingfan {args.command}: not built yet ({NOT_BUILT[args.command]} comes in a "
                "later issue)",
                file=sys.stderr,
            )
            return EXIT_USAGE
        return handler(args)
    except PingfanError as err:
        print(f"pingfan: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


def _config(args: argparse.Namespace) -> Config:
    return load_config(resolve_config_path(args.config))


def cmd_doctor(args: argparse.Namespace) -> int:
    from monitor.doctor import render, run_checks

    checks = run_checks(_config(args))
    print(render(checks))
    return EXIT_USAGE if any(c.status == "fail" for c in checks) else EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from monitor.export import export_records, parse_since, write_records
    from monitor.store import Store

    config = _config(args)
    try:
        since = parse_since(args.since, config.ui.timezone) if args.since else None
    except ValueError as err:
        print(f"pingfan export: {err}", file=sys.stderr)
        return EXIT_USAGE
    with Store.open(config.storage.path) as store:
        count = write_records(
            export_records(store, args.kind, since), args.kind, args.format, sys.stdout
        )
    log.info("exported %d %s", count, args.kind)
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from monitor.status import render_status
    from monitor.store import Store

    config = _config(args)
    with Store.open(config.storage.path) as store:
        print(render_status(store, config))
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


def cmd_collect(args: argparse.Namespace) -> int:
    import asyncio

    from monitor.collect import collect_once

    if not args.once:
        print("pingfan collect: only --once is built; `pingfan run` is the daemon", file=sys.stderr)
        return EXIT_USAGE
    if args.platform == "douyin":
        print("pingfan collect: the Douyin collector is not built yet", file=sys.stderr)
        return EXIT_USAGE
    for line in asyncio.run(collect_once(_config(args), args.platform)):
        print(line)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from monitor.demo import run_demo

    return run_demo(args.out)


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "doctor": cmd_doctor,
    "export": cmd_export,
    "status": cmd_status,
    "demo": cmd_demo,
    "nlp": cmd_nlp,
    "sim": cmd_sim,
    "collect": cmd_collect,
}


if __name__ == "__main__":
    sys.exit(main())
