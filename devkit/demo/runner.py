"""Start the whole demo in this event loop: fake Kibana (seeded) unless a real one is named,
fake Slack, the real bot in HTTP mode, and the page — all on 127.0.0.1.

    async with running_demo(port=0) as demo:
        print(demo.page_url)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bot import aio
from bot.logs import configure_logging
from bot.settings import Settings, load_settings
from devkit.demo.conversation import DEMO_CHANNEL, DEMO_USER, Conversation
from devkit.demo.samples import SampleAlerts, fake_kibana_rules, kibana_rules
from devkit.demo.server import DemoPage
from devkit.fake_elasticsearch import FakeElasticsearch
from devkit.fake_kibana import FakeKibana, seed_demo
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot, running_bot
from devkit.slack_driver import SlackDriver

# The demo user may do everything, so every button and command can be tried.
POLICY = f"""
default_role = "responder"

[[grants]]
role = "admin"
users = ["{DEMO_USER}"]
"""


@dataclass
class Demo:
    page: DemoPage
    bot: RunningBot
    slack: FakeSlack
    kibana: FakeKibana | None  # None with a real Kibana
    settings: Settings
    elasticsearch: FakeElasticsearch | None = None  # the fake Kibana's alerts-as-data, when polled

    @property
    def page_url(self) -> str:
        return self.page.url


def demo_settings(
    slack: FakeSlack,
    kibana_url: str,
    workdir: Path,
    *,
    signing_secret: str,
    webhook_token: str,
    kibana_api_key: str | None = None,
    env: Mapping[str, str] | None = None,
    elasticsearch: FakeElasticsearch | None = None,
) -> Settings:
    """Settings built here, not from the environment: no Slack app is needed.
    With a real Kibana, its credentials come from KIBANA_API_KEY or KIBANA_USERNAME/KIBANA_PASSWORD."""
    env = os.environ if env is None else env
    policy = workdir / "policy.toml"
    policy.write_text(POLICY)
    values: dict[str, object] = {
        "_env_file": None,
        "slack_bot_token": slack.bot_token,
        "slack_app_token": None,
        "slack_signing_secret": signing_secret,
        "slack_api_url": slack.api_url,
        "slack_command": "/kibana",
        "kibana_url": kibana_url,
        "kibana_public_url": kibana_url,
        "kibana_space": "default",
        "database_url": f"sqlite+aiosqlite:///{workdir / 'demo.db'}",
        "alert_webhook_token": webhook_token,
        "alert_channel": DEMO_CHANNEL,
        "access_policy": policy,
        "health_channel": None,
        "health_schedule": None,
        "log_level": env.get("LOG_LEVEL", "WARNING"),
    }
    if elasticsearch is not None:  # the demo channel subscribes to every alert, read from alerts-as-data
        values.update(
            elasticsearch_url=elasticsearch.url,
            elasticsearch_api_key=elasticsearch.api_key,
            alerts_subscription_channel=DEMO_CHANNEL,
            alerts_subscription="--all",
            alerts_poll_interval=2,
        )
    if kibana_api_key is not None:  # the fake Kibana: nothing of a real one's settings applies
        values.update(
            kibana_api_key=kibana_api_key,
            kibana_username=None,
            kibana_password=None,
            kibana_ca_cert=None,
            kibana_verify_tls=True,
        )
    else:
        values.update(
            kibana_api_key=env.get("KIBANA_API_KEY") or None,
            kibana_username=env.get("KIBANA_USERNAME") or None,
            kibana_password=env.get("KIBANA_PASSWORD") or None,
            kibana_public_url=env.get("KIBANA_PUBLIC_URL") or kibana_url,
            kibana_space=env.get("KIBANA_SPACE") or "default",
        )
    return load_settings(**values)


@contextlib.asynccontextmanager
async def running_demo(
    *,
    kibana_url: str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    env: Mapping[str, str] | None = None,
    alerts_as_data: bool = False,
) -> AsyncIterator[Demo]:
    """Everything the demo needs, started in order and stopped in reverse.

    `alerts_as_data` (with the fake Kibana): a fake Elasticsearch holds the alerts its rules write
    (a rule run every RULE_RUN_SECONDS), and the demo channel subscribes to them all, so alerts
    arrive by polling, with no webhook."""
    signing_secret = secrets.token_hex(16)
    webhook_token = secrets.token_urlsafe(24)
    async with contextlib.AsyncExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kibana-chatops-demo-")))
        kibana: FakeKibana | None = None
        api_key: str | None = None
        if kibana_url is None:
            api_key = secrets.token_urlsafe(18)
            kibana = FakeKibana(api_keys=(api_key,))
            seed_demo(kibana)
            kibana_url = await kibana.start(host)
            stack.push_async_callback(kibana.stop)
        es: FakeElasticsearch | None = None
        if alerts_as_data and kibana is not None:
            es = FakeElasticsearch(run_duration=RULE_RUN_TAKES)
            es.follow(kibana)  # disabling a rule with untrack untracks its alerts there, as Kibana does
            await es.start(host)
            stack.push_async_callback(es.stop)
        slack = await stack.enter_async_context(FakeSlack())
        settings = demo_settings(
            slack,
            kibana_url,
            workdir,
            signing_secret=signing_secret,
            webhook_token=webhook_token,
            kibana_api_key=api_key,
            env=env,
            elasticsearch=es,
        )
        bot = await stack.enter_async_context(running_bot(settings, mode="http"))
        if es is not None and kibana is not None:
            runs = asyncio.create_task(_rule_runs(es, kibana), name="demo-rule-runs")
            stack.push_async_callback(aio.cancel, runs)
        driver = SlackDriver(signing_secret=signing_secret, events_url=bot.events_url, fake_slack=slack)
        source = (
            fake_kibana_rules(kibana)
            if kibana is not None
            else kibana_rules(bot.runtime.services.kibana, settings.kibana_space)
        )
        alerts = SampleAlerts(source, settings.kibana_link_base)
        label = "a fake Kibana with demo data" if kibana is not None else f"the Kibana at {kibana_url}"
        page = DemoPage(
            Conversation(slack), driver, alerts, bot_url=bot.url, webhook_token=webhook_token, kibana_label=label
        )
        await page.start(host, port)
        stack.push_async_callback(page.stop)
        yield Demo(page=page, bot=bot, slack=slack, kibana=kibana, settings=settings, elasticsearch=es)


RULE_RUN_SECONDS = 10.0
RULE_RUN_TAKES = timedelta(seconds=2)


async def _rule_runs(es: FakeElasticsearch, kibana: FakeKibana) -> None:
    """The fake Kibana's rules run: each run takes RULE_RUN_TAKES and writes its alerts to the fake
    Elasticsearch when it ends, stamped with its start, as Kibana does (then the bot's poller finds them)."""
    while True:
        await es.run_rules(kibana)
        await asyncio.sleep(RULE_RUN_SECONDS)


async def serve_demo(*, kibana_url: str | None, port: int, announce: bool = True) -> None:
    """`python -m devkit.demo`: run until SIGINT/SIGTERM, then stop everything."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with running_demo(kibana_url=kibana_url, port=port, alerts_as_data=kibana_url is None) as demo:
        settings = demo.settings
        configure_logging(settings.log_level, settings.log_format, settings.secret_values)
        if announce:
            where = "a real Kibana at " + kibana_url if kibana_url else "a fake Kibana with demo data"
            print(f"kibana-chatops demo: open {demo.page_url}", flush=True)
            print(f"  the real bot, a fake Slack and {where}; Ctrl-C to stop.", flush=True)
        await stop.wait()
    if announce:
        print("kibana-chatops demo: stopped.", flush=True)
