"""`python -m devkit.fake_kibana --port 5601 [--seed demo] [--kibana-version 8.19.0] [--license basic]`:
run the fake Kibana standalone, playing that Kibana version and licence."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from .demo import seed_demo
from .server import FakeKibana
from .state import DEFAULT_VERSION, LICENSES, version_tuple

DEMO_API_KEY = "fake-kibana-demo-key"


async def serve(
    host: str, port: int, seed: str | None, version: str = DEFAULT_VERSION, license: str = "platinum"
) -> None:
    fake = FakeKibana(api_keys=(DEMO_API_KEY,), version=version, license=license)
    if seed == "demo":
        seed_demo(fake)
    url = await fake.start(host, port)
    print(f"Fake Kibana {version} ({license} licence) listening on {url}", flush=True)
    print(f"  KIBANA_URL={url}", flush=True)
    print(f"  KIBANA_API_KEY={DEMO_API_KEY}   (or Basic elastic:changeme)", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devkit.fake_kibana", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5601)
    parser.add_argument("--seed", choices=["demo"], default=None, help="load a demo data set")
    parser.add_argument(
        "--kibana-version", default=DEFAULT_VERSION, help=f"the Kibana version to play (default {DEFAULT_VERSION})"
    )
    parser.add_argument("--license", choices=LICENSES, default="platinum", help="the licence (default platinum)")
    args = parser.parse_args(argv)
    try:
        version_tuple(args.kibana_version)
    except ValueError as error:
        parser.error(str(error))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.seed, args.kibana_version, args.license))


if __name__ == "__main__":
    main()
