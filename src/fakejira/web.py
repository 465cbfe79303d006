"""Small HTTP vocabulary shared by the REST and control handlers: requests, errors, a router.

Kept apart from the socket server so handlers are plain functions of (app, request) that return JSON-able
values or raise :class:`ApiError` with the exact body Jira sends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

JSON_TYPE = "application/json;charset=UTF-8"
NOT_FOUND_ISSUE = "Issue does not exist or you do not have permission to see it."


def error_body(*messages: str, errors: dict[str, str] | None = None) -> dict[str, Any]:
    """Jira's ErrorCollection."""
    return {"errorMessages": list(messages), "errors": errors or {}}


class ApiError(Exception):
    """An HTTP error answer: `body` is JSON-able (or str for text/plain bodies, like Jira's 401)."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}

    @classmethod
    def bad_request(cls, *messages: str) -> ApiError:
        return cls(400, error_body(*messages))

    @classmethod
    def not_found(cls, *messages: str) -> ApiError:
        return cls(404, error_body(*messages))


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)  # path parameters
    account: Any = None  # the authenticated Account, if any
    jql: str | None = None  # set by search handlers, for the request log

    @classmethod
    def from_parts(cls, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> Request:
        return cls(method, path, parse_qs(query, keep_blank_values=True), headers, body)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        """Repeated and comma-separated values alike (Jira accepts both for list parameters)."""
        return [part.strip() for v in self.query.get(name, ()) for part in v.split(",") if part.strip()]

    def int_arg(self, name: str, default: int) -> int:
        value = self.arg(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise ApiError.bad_request(f"The '{name}' parameter must be a number, got '{value}'.") from None

    def bool_arg(self, name: str, default: bool = False) -> bool:
        value = self.arg(name)
        return default if value is None else value.lower() == "true"

    def json(self) -> Any:
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body)
        except ValueError:
            raise ApiError.bad_request(
                "Unexpected character in the request body: it is not valid JSON."
            ) from None

    def json_object(self) -> dict[str, Any]:
        body = self.json()
        if not isinstance(body, dict):
            raise ApiError.bad_request("The request body must be a JSON object.")
        return body


Handler = Callable[[Any, Request], Any]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    auth: bool

    @property
    def endpoint(self) -> str:
        """What the request log counts: method + path template, e.g. GET /rest/api/3/issue/{issueIdOrKey}."""
        return f"{self.method} {self.template}"


class Router:
    """Method + path template -> handler; templates use {name} for one path segment."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, auth: bool = True) -> Callable[[Handler], Handler]:
        regex = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "/?$"

        def register(fn: Handler) -> Handler:
            self.routes.append(Route(method, template, re.compile(regex), fn, auth))
            return fn

        return register

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """(route, path params, whether the path exists for another method)."""
        path_known = False
        for route in self.routes:
            m = route.pattern.match(path)
            if m:
                if route.method == method:
                    return route, m.groupdict(), True
                path_known = True
        return None, {}, path_known
