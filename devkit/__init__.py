"""The devkit: a fake Kibana, a fake Slack and a signed-request driver."""
