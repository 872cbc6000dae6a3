"""`python -m bench [name…] [--size tiny|full] [--json PATH]`: run the benchmarks, print the table.

Names: ack, kibana, fanout, memory, startup, storm, storm_kill, alerts_poll (all when none is given). Exit
status 0 when the benchmarks ran (whether or not every target was met: the table says), 1 when one failed to run.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

from bench.figures import Result
from bench.report import DEFAULT_JSON, document, machine, table, write_json
from bench.sizes import SIZES
from bot import aio

NAMES = ("ack", "kibana", "fanout", "memory", "startup", "storm", "storm_kill", "alerts_poll")


async def run_all(names: list[str], size_name: str) -> tuple[list[Result], list[str]]:
    size = SIZES[size_name]
    results: list[Result] = []
    broken: list[str] = []
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"running {name} ({size_name})…", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            result: Result = await module.run(size)
        except Exception:
            traceback.print_exc()
            broken.append(name)
            continue
        result.seconds = time.perf_counter() - started
        print(f"  {name}: {result.seconds:.1f} s", file=sys.stderr, flush=True)
        results.append(result)
    return results, broken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", choices=[*NAMES, []], metavar="name", help=", ".join(NAMES))
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"where to write the figures ({DEFAULT_JSON})")
    args = parser.parse_args(argv)
    names = list(dict.fromkeys(args.names)) or list(NAMES)
    started = time.perf_counter()
    results, broken = aio.run(run_all(names, args.size))  # the loop the bot runs on (uvloop)
    seconds = time.perf_counter() - started
    info = machine()
    print(
        f"\nkibana-chatops benchmarks ({args.size}), {info['cores']} cores, Python {info['python']}, {seconds:.0f} s\n"
    )
    print(table(results))
    for result in results:
        if result.details:
            print(f"\n{result.details}")
    write_json(args.json, document(results, args.size, seconds))
    print(f"\nfigures written to {args.json}")
    if broken:
        print(f"FAILED TO RUN: {', '.join(broken)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
