"""A faithful, stateful fake Kibana for tests, benchmarks and the local demo.

    async with FakeKibana() as kibana:           # serves http://127.0.0.1:<port>
        kibana.add_rule(id="r1", active_alerts=["host-1"])
        kibana.fault("POST", r"/api/alerting/rule/[^/]+/_disable", status=503, times=1)
        ...                                      # drive the bot against kibana.url
        assert kibana.count("POST", "/api/alerting/rule/{id}/_disable") == 2

`FakeKibana(version="8.19.0", license="basic")` (or `--kibana-version` / `--license` on the command
line) plays that Kibana: routes by version (the snooze API from 8.19 / 9.1, absent from 9.0), 9.3's
alert check on `_mute`, the public rule API without snooze state, `GET /api/status` and
`/api/licensing/info`; agent keys are refused to API-key callers. `state.case_visibility_delay`,
`state.required_custom_fields` and `state.sourcemaps_mode` play refresh=false, required case custom
fields and APM without Fleet or with the source-map API off.

People with their own API keys (KIBANA_IDENTITY=person): `add_person(key, "alice", {"ops": {"rules": "all"}})`
accepts `key` as alice's, with her feature privileges per space (a missing one is Kibana's 403, with the
handler's real message); what she creates is `created_by` her; `grant(...)` adds a privilege and
`revoke(key)` makes any key answer 401 from then on (people.py).

Behaviour follows real Kibana's (pipeline order, Boom bodies, idempotency, health computation,
case versions, APM specifics), as written up in the team's Kibana behaviour notes (behaviours.md,
the § numbers in this package); its answers are checked against the project's Kibana spec,
devkit/openapi/kibana.yaml.
"""

from .demo import seed_demo
from .records import Exchange, RecordedRequest
from .routes import ROUTES, TEMPLATES
from .rules import Rule
from .server import FakeKibana
from .state import OPERATIONS

__all__ = ["OPERATIONS", "ROUTES", "TEMPLATES", "Exchange", "FakeKibana", "RecordedRequest", "Rule", "seed_demo"]
