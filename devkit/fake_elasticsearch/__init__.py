"""A fake Elasticsearch holding Kibana's alerts-as-data, for tests, benchmarks and the demo.

    async with FakeElasticsearch() as es:               # serves http://127.0.0.1:<port>
        es.add_alert(rule_id="r1", instance_id="host-1", tags=["prod"])
        es.recover(rule_id="r1", instance_id="host-1")
        es.alerts_from(fake_kibana)                     # one rule run of the fake Kibana's rules
        es.fire(fake_kibana, "r1", "host-1")            # that rule finds host-1 and runs: a new alert
        es.resolve(fake_kibana, "r1", "host-1", took=timedelta(seconds=20))
                                                        # … a 20 s run no longer finds it: it recovers,
                                                        #   its document stamped 20 s ago (the run's start)
        es.follow(fake_kibana)                          # disabling a rule with untrack untracks its alerts
        es.untrack(rule_id="r1", instance_id="host-2")  # status, end and time range change, nothing else
        es.deny_alerts_read()                           # 403 on every search, as ES words it
        es.fault("POST", r"/.+/_search", status=503, times=1)
        ...                                             # drive the official client against es.url
        assert len(es.searches()) == 1

Documents are written as Kibana's alerting framework writes them (devkit/fake_elasticsearch/writes.py):
stamped with the rule run's start, written at its end (`FakeElasticsearch(run_duration=…)`, or `took=`
per run); untracking changes only `kibana.alert.status`, `.end` and `.time_range`.

Faithful to Elasticsearch 8.x/9.x as the official Python client sees it: `X-Elastic-Product` on
every answer, `GET /` cluster info, REST compatibility headers (an 8.x server refuses
`compatible-with=9`), API key and Basic authentication with ES's 401 bodies and WWW-Authenticate
headers, 403 denials worded as ES words them, `_search` over `.alerts-*` aliases and their hidden
backing indices with a strict query DSL subset (bool, term, terms, range, exists, match_all),
sort, `search_after`, size limits, `track_total_hits` and `_source`, and
`_security/user/_has_privileges`. Credentials: API key `fake-es-key-id:fake-es-key-secret`
(`FakeElasticsearch.api_key` is the encoded form) or Basic `elastic:changeme`.
"""

from .alerts import RULE_TYPE_CONTEXTS, AlertDoc, alias_for, backing_index
from .server import FakeElasticsearch

__all__ = ["RULE_TYPE_CONTEXTS", "AlertDoc", "FakeElasticsearch", "alias_for", "backing_index"]
