"""Every Web API post of the bot goes through the reply helper (handlers/shared/replies.py): one place
that sets how links unfurl and turns Slack's channel errors into a hint naming the bot."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
POSTING = re.compile(r"\.chat_(?:postMessage|postEphemeral|update)\(")


def test_only_the_reply_helper_posts_to_slack() -> None:
    sources = sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")])
    posting = [str(path.relative_to(ROOT)) for path in sources if POSTING.search(path.read_text())]
    assert posting == ["handlers/shared/replies.py"]
