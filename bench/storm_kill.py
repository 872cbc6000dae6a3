"""`storm_kill`: the `storm` (bench/storm.py) with one of its two replicas killed (SIGKILL) in the middle.

The other replica takes over what the dead one held (its alert groups, once their leases run out; its
deliveries in flight come again as Kibana's retries). Targets: nothing lost, nothing counted twice, no
rule with two top-level messages, the final state reached; it reports how long that took after the kill.
"""

from __future__ import annotations

from bench.figures import Result
from bench.sizes import Size
from bench.storm import run as storm


async def run(size: Size) -> Result:
    return await storm(size, kill_after=size.storm_kill_after, name="storm_kill")
