"""Kibana's Boom error bodies (behaviours.md §1)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
API_VERSION = "2023-10-31"
INTERNAL_ERROR = "An internal server error occurred. Check Kibana server logs for details."


def reason_phrase(status: int) -> str:
    if status == 413:
        return "Request Entity Too Large"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def boom_body(status: int, message: str | None = None, attributes: Any = None) -> dict[str, Any]:
    """`{statusCode, error, message[, attributes]}`; the message defaults to the reason phrase."""
    phrase = reason_phrase(status)
    body: dict[str, Any] = {"statusCode": status, "error": phrase, "message": message or phrase}
    if attributes is not None:
        body["attributes"] = attributes
    return body


class Boom(Exception):
    """An error answer; raised anywhere in the pipeline and turned into a Boom body."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        attributes: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message or reason_phrase(status))
        self.status = status
        self.message = message or reason_phrase(status)
        self.attributes = attributes
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return boom_body(self.status, self.message, self.attributes)


def bad_request(message: str) -> Boom:
    return Boom(400, message)


def rule_not_found(rule_id: str) -> Boom:
    return Boom(404, f"Saved object [alert/{rule_id}] not found")


def case_not_found(case_id: str) -> Boom:
    return Boom(404, f"Saved object [cases/{case_id}] not found")
