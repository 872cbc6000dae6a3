"""A faithful, stateful fake Kibana for tests, benchmarks and the local demo.

    async with FakeKibana() as kibana:           # serves http://127.0.0.1:<port>
        kibana.add_rule(id="r1", active_alerts=["host-1"])
        kibana.fault("POST", r"/api/alerting/rule/[^/]+/_disable", status=503, times=1)
        ...                                      # drive the bot against kibana.url
        assert kibana.count("POST", "/api/alerting/rule/{id}/_disable") == 2

Behaviour follows real Kibana's (pipeline order, Boom bodies, idempotency, health computation,
case versions, APM specifics), as written up in the team's Kibana behaviour notes (behaviours.md,
the § numbers in this package); its answers are checked against the project's Kibana spec,
bot/devkit/openapi/kibana.yaml.
"""

from .demo import seed_demo
from .records import Exchange, RecordedRequest
from .routes import ROUTES, TEMPLATES
from .rules import Rule
from .server import FakeKibana
from .state import OPERATIONS

__all__ = ["OPERATIONS", "ROUTES", "TEMPLATES", "Exchange", "FakeKibana", "RecordedRequest", "Rule", "seed_demo"]
