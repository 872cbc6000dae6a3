"""Shared Slack plumbing: the action catalog, the grammar, the reply helper, the payload codec,
the button/modal guard, Block Kit helpers and error sentences. It imports no feature."""
