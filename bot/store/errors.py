"""Why the store refuses to open a database (the CLI prints these as one line and exits 2), and why
it refuses a new subscription (a cap reached)."""

from __future__ import annotations

from typing import Literal


class StoreSchemaError(Exception):
    """The database's schema is not one this kibana-chatops can use or upgrade."""


class StoreSchemaTooNew(StoreSchemaError):
    """The database was upgraded by a newer kibana-chatops: its revision is unknown here."""

    def __init__(self, revision: str, head: str) -> None:
        self.revision = revision
        self.head = head
        super().__init__(
            f"schema revision {revision} is newer than this kibana-chatops (knows up to {head}); "
            "upgrade the bot or point DATABASE_URL at another database"
        )


class StoreSchemaMismatch(StoreSchemaError):
    """Tables of ours exist without a schema revision, and they are not the baseline's."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "the tables found have no schema revision and differ from the first versioned schema "
            f"({'; '.join(problems)}); point DATABASE_URL at another database"
        )


def store_unreachable(error: BaseException) -> bool:
    """The database did not answer (refused or dropped the connection, timed out), as opposed to a
    query it refused (a constraint, a bug): the write may be tried again once it answers."""
    from sqlalchemy import exc

    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, (exc.OperationalError, exc.InterfaceError, exc.TimeoutError, OSError))


class StoreUnavailable(Exception):
    """A write was refused before anything was done, because the store could not check or record it."""

    def __init__(self, why: str) -> None:
        self.why = why
        super().__init__(why)

    def sentence(self) -> str:
        return (
            f"The bot's database is not answering ({self.why}), so nothing was done. "
            "Try again in a minute; if it keeps failing, an admin can look at the bot's log."
        )


class SubscriptionLimitReached(Exception):
    """A new subscription would be one too many: `where` ("channel" or "workspace") already has `count`,
    and `limit` is the most it may have. Checked in the transaction that would add it, so the cap
    holds when many subscribe at once (on every replica)."""

    def __init__(self, where: Literal["channel", "workspace"], count: int, limit: int) -> None:
        self.where = where
        self.count = count
        self.limit = limit
        super().__init__(f"the {where} already has {count} subscriptions, the most it may have ({limit})")
