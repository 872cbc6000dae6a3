"""kibana-chatops core: settings, Kibana client, store, scheduler, access policy."""
