"""Slack request signing (HTTP mode), via slack_sdk's own SignatureVerifier."""

from __future__ import annotations

import time

from slack_sdk.signature import SignatureVerifier


def sign(signing_secret: str, body: bytes | str, timestamp: int | None = None) -> dict[str, str]:
    """`X-Slack-Request-Timestamp` and `X-Slack-Signature` headers for `body`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=text)
    if signature is None:  # slack_sdk returns None only for a missing timestamp/body
        raise ValueError("cannot sign without a timestamp and a body")
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}
