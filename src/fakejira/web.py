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

from fakejira.catalog import BASE

JSON_TYPE = "application/json;charset=UTF-8"
NOT_FOUND_ISSUE = "Issue does not exist or you do not have permission to see it."


def paged(items: list[Any], start: int, size: int) -> tuple[list[Any], bool]:
    """One offset page of `items` and whether it is the last."""
    chunk = items[max(start, 0) : max(start, 0) + max(size, 0)]
    return chunk, max(start, 0) + len(chunk) >= len(items)


def page_bean(url: str, start: int, size: int, total: int, values: list[Any]) -> dict[str, Any]:
    """Jira's offset PageBean (self, nextPage, startAt, maxResults, total, isLast, values)."""
    last = start + len(values) >= total
    page: dict[str, Any] = {
        "self": f"{url}?startAt={start}&maxResults={size}",
        "maxResults": size,
        "startAt": start,
        "total": total,
        "isLast": last,
        "values": values,
    }
    if not last:
        page["nextPage"] = f"{url}?startAt={start + size}&maxResults={size}"
    return page


@dataclass(frozen=True, slots=True)
class RawJson:
    """An answer already serialised (UTF-8 JSON, the server's base URL filled in): what the render cache
    assembles from its stored issues, so the server sends the bytes without encoding them again."""

    data: bytes

    def value(self) -> Any:
        """The answer as JSON values again, for the rare wrapper that has to rewrite it (REST v2)."""
        return json.loads(self.data)


def json_bytes(value: Any, base_url: str) -> bytes:
    """`value` as the server sends JSON: compact, UTF-8, the base-URL placeholder replaced by `base_url`."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace(BASE, base_url).encode()


def raw_object(first: str, items: list[bytes], rest: dict[str, Any], base_url: str) -> RawJson:
    """The JSON object {first: [items...], **rest} from pre-serialised `items` (see :func:`json_bytes`), keys
    in that order: the same bytes :func:`json_bytes` makes of the whole object, copied once (an answer of
    100 full issues is 1.6 MB)."""
    parts = [b'{"' + first.encode() + b'":[']
    for item in items:
        parts += (item, b",")
    if items:
        parts.pop()
    parts.append(b"]," + json_bytes(rest, base_url)[1:] if rest else b"]}")
    return RawJson(b"".join(parts))


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
