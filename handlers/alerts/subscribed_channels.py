"""Which channels an alert read from alerts-as-data goes to: the subscriptions of its space that match
it (`matches`: everything, its rule, or one of its rule's tags), and what those subscriptions ask
Elasticsearch for together (`interest_of`: one search per space)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.alerts_index import AlertChange, Interest
from bot.store import AlertSubscription


def matches(subscription: AlertSubscription, change: AlertChange) -> bool:
    if subscription.kind == "all":
        return True
    if subscription.kind == "rule":
        return change.rule_uuid == subscription.value
    return subscription.value in change.rule_tags


class SubscribedChannels:
    """The channels of one space's subscriptions that an alert matches (`matches`), in the order of the
    subscriptions, found by its rule and tags in dicts instead of by a loop over every subscription."""

    def __init__(self, subscriptions: Sequence[AlertSubscription]) -> None:
        self.every: list[tuple[int, str]] = []  # (position, channel) of the subscriptions to everything
        self.by_rule: dict[str, list[tuple[int, str]]] = {}
        self.by_tag: dict[str, list[tuple[int, str]]] = {}
        for position, s in enumerate(subscriptions):
            if s.kind == "all":
                self.every.append((position, s.channel))
            else:
                kind = self.by_rule if s.kind == "rule" else self.by_tag
                kind.setdefault(s.value, []).append((position, s.channel))

    def of(self, change: AlertChange) -> list[str]:
        found = [*self.every, *self.by_rule.get(change.rule_uuid, ())]
        for tag in change.rule_tags:
            found.extend(self.by_tag.get(tag, ()))
        found.sort()
        return list(dict.fromkeys(channel for _, channel in found))


def interest_of(subscriptions: Iterable[AlertSubscription]) -> Interest:
    interest = Interest()
    for s in subscriptions:
        if s.kind == "all":
            interest = interest | Interest.of(everything=True)
        elif s.kind == "rule":
            interest = interest | Interest.of(rule_ids=[s.value])
        else:
            interest = interest | Interest.of(tags=[s.value])
    return interest
