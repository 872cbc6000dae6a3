"""`python -m devkit.demo [--kibana-url URL] [--port P]`: try the bot in a Slack-like page, without Slack.

A configuration error (a bad `KIBANA_*` setting with `--kibana-url`) is one line and exit status 2,
as for `python -m bot serve`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot import aio
from bot.cli import run_reporting_errors


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devkit.demo",
        description="Try the bot in a Slack-like page, without Slack (a fake Kibana unless --kibana-url).",
    )
    parser.add_argument(
        "--kibana-url", help="a real Kibana (credentials from KIBANA_API_KEY or KIBANA_USERNAME/PASSWORD)"
    )
    parser.add_argument("--port", type=int, default=0, help="the page's port on 127.0.0.1 (default: any free port)")
    return run_reporting_errors(_demo, parser.parse_args(argv))


def _demo(args: argparse.Namespace) -> int:
    from devkit.demo import serve_demo

    aio.run(serve_demo(kibana_url=args.kibana_url, port=args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
