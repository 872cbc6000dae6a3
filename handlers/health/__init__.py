"""Alerting health: `/kibana health` on demand, and reports posted to channels on a schedule."""

from __future__ import annotations

from dataclasses import replace

from handlers.health import step, subscriptions
from handlers.health.actions import ACTIONS, HEALTH
from handlers.health.report import check_health, health_blocks, health_text
from handlers.shared.context import Invocation
from handlers.shared.feature import Contribution, Plumbing

__all__ = ["ACTIONS", "register"]


async def show_health(inv: Invocation) -> None:
    outcome = await check_health(inv.services.kibana, inv.space)
    await inv.reply(health_text(outcome), blocks=health_blocks(outcome))


def register(plumbing: Plumbing) -> Contribution:
    scheduled = subscriptions.register(plumbing)
    return replace(scheduled, commands={HEALTH.name: show_health, **scheduled.commands}, steps=step.listeners(plumbing))
