"""Signed, real-shaped Slack requests (HTTP mode) and Socket Mode deliveries for tests."""

from devkit.slack_driver.driver import SlackDriver
from devkit.slack_driver.signing import sign
from devkit.slack_driver.transport import Kind, body_for

__all__ = ["Kind", "SlackDriver", "body_for", "sign"]
