"""`python -m devkit.fake_elasticsearch --port 9200 [--seed demo]`: run the fake Elasticsearch standalone."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from .server import FakeElasticsearch


def seed_demo(fake: FakeElasticsearch) -> None:
    """The alerts of the fake Kibana's demo rules (devkit/fake_kibana/demo.py)."""
    from devkit.fake_kibana import FakeKibana
    from devkit.fake_kibana import seed_demo as seed_kibana

    kibana = FakeKibana()
    seed_kibana(kibana)
    fake.alerts_from(kibana)


async def serve(host: str, port: int, seed: str | None, version: str) -> None:
    fake = FakeElasticsearch(version=version)
    if seed == "demo":
        seed_demo(fake)
    url = await fake.start(host, port)
    print(f"Fake Elasticsearch {version} listening on {url}", flush=True)
    print(f"  ELASTICSEARCH_URL={url}", flush=True)
    print(f"  ELASTICSEARCH_API_KEY={fake.api_key}   (or Basic elastic:changeme)", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devkit.fake_elasticsearch", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9200)
    parser.add_argument("--seed", choices=["demo"], default=None, help="alerts of the fake Kibana's demo rules")
    parser.add_argument("--version", default="8.17.0", help="the Elasticsearch version to claim (8.x or 9.x)")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.seed, args.version))


if __name__ == "__main__":
    main()
