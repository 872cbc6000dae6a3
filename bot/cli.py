"""`python -m bot serve|check` (also the `kibana-chatops` console script).

Configuration errors end with one message naming the setting and exit status 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from bot import aio
from bot.access import PolicyError, load_policy
from bot.settings import ConfigError, Settings, load_settings, require_http_mode
from bot.store.errors import StoreSchemaError

log = logging.getLogger("bot")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return run_reporting_errors(args.run, args)


def run_reporting_errors(command: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Runs a command; a configuration error is one line on stderr and exit status 2, never a traceback."""
    try:
        return int(command(args))
    except ConfigError as error:
        setting = "ACCESS_POLICY: " if isinstance(error, PolicyError) else ""
        print(f"configuration error: {setting}{error}", file=sys.stderr)
        return 2
    except StoreSchemaError as error:
        print(f"database: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kibana-chatops", description="Run Kibana alerting from Slack.")
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="run the bot")
    serve.add_argument("--mode", choices=["socket", "http"], help="default: socket when SLACK_APP_TOKEN is set")
    serve.add_argument("--host", default="0.0.0.0", help="listen address (default 0.0.0.0)")  # noqa: S104
    serve.add_argument("--port", type=int, help="HTTP port (default: $PORT or 3000)")
    serve.set_defaults(run=_serve)

    check = sub.add_parser("check", help="check the configuration against the real services")
    check.set_defaults(run=_check)

    return parser


def _settings() -> Settings:
    settings = load_settings()
    from bot.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format, settings.secret_values)
    return settings


def _serve(args: argparse.Namespace) -> int:
    aio.pause_gc_for_startup()  # until serve() freezes the start-up heap, once it listens
    settings = _settings()
    mode = args.mode or ("socket" if settings.socket_mode else "http")
    if mode == "socket" and settings.slack_app_token is None:
        raise ConfigError("SLACK_APP_TOKEN: expected an app-level token starting with xapp- (for --mode socket)")
    if mode == "http":
        require_http_mode(settings)
    from bot.app import create_runtime
    from bot.server import serve

    async def run() -> None:
        runtime = await create_runtime(settings)
        await serve(runtime, mode=mode, host=args.host, port=args.port or settings.port)

    aio.run(run())
    return 0


def _check(args: argparse.Namespace) -> int:
    settings = _settings()
    load_policy(settings.access_policy)  # a bad policy is a configuration error here too (exit 2)
    from bot.checks import Subscribing, run_checks
    from handlers import build_catalog

    catalog = build_catalog()
    subscribing = Subscribing(alerts=catalog.action("alerts subscribe"), health=catalog.action("health subscribe"))
    results = aio.run(run_checks(settings, subscribing))
    for result in results:
        print(result.line())
    return 0 if all(r.ok for r in results) else 1
