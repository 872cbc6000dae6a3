"""`python -m devkit.demo`: try the bot in a Slack-like page, without a Slack workspace.

The real bot runs in HTTP mode against the devkit's fake Slack and (unless `--kibana-url`
names a real one) the devkit's fake Kibana seeded with demo data. The page plays the
Slack client: what the user does there becomes signed, real-shaped Slack requests.
"""

from devkit.demo.runner import Demo, running_demo, serve_demo

__all__ = ["Demo", "running_demo", "serve_demo"]
