"""Slack listeners and the Block Kit they render."""
