"""(being written)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp

from bot.services import Services

if TYPE_CHECKING:
    from bot.app import Runtime


def register(app: AsyncApp, services: Services, runtime: Runtime) -> None:
    """Wire this feature's listeners."""
