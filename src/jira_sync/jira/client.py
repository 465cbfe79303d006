"""HTTP to Jira Cloud in one class: auth, timeouts, retries, error messages, request counts.

Everything that touches the network goes through :meth:`JiraClient.get` / :meth:`JiraClient.post`, so every
call has a (connect, read) timeout, is retried by one tenacity policy and turns failures into one of the
three :mod:`~jira_sync.jira.errors` types with a message a user can act on. The client is safe to share
between the threads of its own pool (one ``requests.Session`` per thread, locked counters) and never touches
``_snowflake``: the credential is handed in.
"""

from __future__ import annotations

import base64
import datetime
import email.utils
import http
import http.client
import io
import json
import logging
import re
import socket
import threading
import time
import urllib.parse
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
import tenacity
import urllib3
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase, HTTPBasicAuth

from jira_sync import __version__, fastjson
from jira_sync.jira.concurrency import AdaptiveLimit
from jira_sync.jira.errors import JiraAuthError, JiraError, JiraRequestError, JiraUnavailableError

__all__ = ["JiraClient", "JiraCredentials", "RequestStats", "validate_base_url"]

_log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Answers worth asking again: rate limiting and the transient server errors. 4xx other than 429 never are."""
RETRY_AFTER_STATUSES = frozenset({429, 503})
"""Statuses whose ``Retry-After`` header is honoured (Jira sends it on 429 and on some 503s)."""
_MAX_BACKOFF_SECONDS = 30.0
_CONNECT_TIMEOUT_CAP = 10.0
_MAX_MESSAGES = 5
_MAX_MESSAGE_CHARS = 500
_GATEWAY_HOST = "api.atlassian.com"
MIN_TOKEN_LENGTH = 8
"""Shorter is no Jira API token (classic tokens are 24+ characters, scoped ones far longer), and a short
credential could not be redacted from messages without garbling them: it is refused up front instead."""
_DEADLINE_FACTOR = 2.0
_READ_BUFFER = 256 * 1024
"""Bytes read from the socket at a time: a bulk fetch answers 1-2 MB, and each read of the default 8 KiB costs
a timeout setting, a system call and a hand-over of the GIL between the pool's threads."""

SEARCH_PATH = "/rest/api/3/search/jql"
"""The enhanced search. The old ``/rest/api/3/search`` answers 410 Gone on Jira Cloud since 2025."""


USER_AGENT = f"jira-sync/{__version__}"


@dataclass(frozen=True)
class JiraCredentials:
    """A Jira credential: with ``email``, HTTP basic auth (account email + API token); without, a bearer
    token (OAuth 2.0 access token or service-account scoped token, which work only through the
    ``https://api.atlassian.com/ex/jira/<cloudId>`` gateway).

    The token is excluded from ``repr``/``str`` so it cannot end up in a log line or a run record.
    """

    token: str = field(repr=False)
    email: str | None = None

    def __post_init__(self) -> None:
        token = (self.token or "").strip()  # secrets pasted with a trailing newline are common
        email_address = (self.email or "").strip() or None
        if not token:
            raise ValueError("the Jira API token is empty; put the token in the secret")
        if not (token.isascii() and token.isprintable()) or any(c.isspace() for c in token):
            raise ValueError(
                "the Jira API token contains spaces, line breaks or non-ASCII characters, which an API token "
                "never has; copy the token again, exactly"
            )
        if len(token) < MIN_TOKEN_LENGTH:
            raise ValueError(
                f"the token is too short to be a Jira API token (under {MIN_TOKEN_LENGTH} characters); "
                "create one at https://id.atlassian.com/manage-profile/security/api-tokens"
            )
        object.__setattr__(self, "token", token)
        object.__setattr__(self, "email", email_address)

    @property
    def scheme(self) -> str:
        """``"basic"`` or ``"bearer"``."""
        return "basic" if self.email else "bearer"

    def describe(self) -> str:
        """Who is authenticating, for messages: the email, never the token."""
        return self.email if self.email else "the bearer token"

    def auth(self) -> AuthBase:
        """The requests auth object that sets the ``Authorization`` header."""
        if self.email:
            return HTTPBasicAuth(self.email, self.token)
        return _BearerAuth(self.token)

    def secrets(self) -> list[str]:
        """Every form of the credential that could show up in text, longest first, for redaction: raw, as a
        Python or JSON string literal or URL-encoded (echoed by a server or quoted in a message), and the
        basic-auth base64 of ``email:token``. Tokens are at least ``MIN_TOKEN_LENGTH`` long, so replacing
        every occurrence cannot garble a message."""
        forms = {
            self.token,
            repr(self.token)[1:-1],
            json.dumps(self.token)[1:-1],
            urllib.parse.quote(self.token, safe=""),
        }
        if self.email:
            forms.add(base64.b64encode(f"{self.email}:{self.token}".encode()).decode("ascii"))
        return sorted(forms, key=len, reverse=True)


class _BearerAuth(AuthBase):
    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(token=***)"


# --- a total deadline per request ---------------------------------------------------------------------------
# requests' read timeout bounds each socket read, not the answer: a server sending a byte every few seconds
# holds a request open forever. The client's sessions read answers through _DeadlineReader instead, which
# never waits past the deadline the sending thread set in _DEADLINE (headers and body alike).

_DEADLINE = threading.local()
_DEADLINE_PASSED = "the answer did not arrive in full before the request's deadline"


class DeadlineExceeded(TimeoutError):
    """The whole answer (headers and body) did not arrive by the request's deadline."""


class _DeadlineReader(io.RawIOBase):
    """A socket's receiving side where every read waits at most the read timeout, and never past ``deadline``.

    It reads through the socket's own raw file (``makefile``), which keeps the socket open while the answer is
    read even if the connection is closed meanwhile (``Connection: close``), as the standard file object does.
    """

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)
        self._deadline = deadline
        self._read_timeout = sock.gettimeout()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded(_DEADLINE_PASSED)
        self._sock.settimeout(remaining if self._read_timeout is None else min(self._read_timeout, remaining))
        try:
            return self._raw.readinto(buffer)
        except TimeoutError:
            if time.monotonic() >= self._deadline:
                raise DeadlineExceeded(_DEADLINE_PASSED) from None
            raise
        finally:
            if self._sock.fileno() != -1:
                self._sock.settimeout(self._read_timeout)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineSocket:
    """What ``http.client.HTTPResponse`` needs of a socket (``makefile``), reading through _DeadlineReader."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline), buffer_size=_READ_BUFFER)


class _DeadlineHTTPResponse(http.client.HTTPResponse):
    def __init__(self, sock: Any, *args: Any, **kwargs: Any) -> None:
        deadline = getattr(_DEADLINE, "at", None)
        super().__init__(sock if deadline is None else _DeadlineSocket(sock, deadline), *args, **kwargs)


class _DeadlineHTTPConnection(urllib3.connection.HTTPConnection):
    response_class = _DeadlineHTTPResponse


class _DeadlineHTTPSConnection(urllib3.connection.HTTPSConnection):
    response_class = _DeadlineHTTPResponse


class _DeadlineHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


class _DeadlineAdapter(HTTPAdapter):
    """requests' adapter, on connections whose answers are read with the deadline of ``_DEADLINE``."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _DeadlineHTTPPool, "https": _DeadlineHTTPSPool}


@dataclass
class RequestStats:
    """HTTP requests sent and retries made, counted across threads (for the run log)."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    """429 answers received."""
    waited_seconds: float = 0.0
    """Time spent sleeping between attempts."""
    most_in_flight: int = 0
    """The most requests in flight at once (the adaptive limit's high point)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count_request(self, in_flight: int = 1) -> None:
        with self._lock:
            self.requests += 1
            self.most_in_flight = max(self.most_in_flight, in_flight)

    def count_retry(self, wait_seconds: float, rate_limited: bool) -> None:
        with self._lock:
            self.retries += 1
            self.waited_seconds += wait_seconds
            if rate_limited:
                self.rate_limited += 1

    def as_dict(self) -> dict[str, float | int]:
        """A consistent snapshot, e.g. for the run log."""
        with self._lock:
            return {
                "requests": self.requests,
                "retries": self.retries,
                "rate_limited": self.rate_limited,
                "waited_seconds": round(self.waited_seconds, 3),
                "most_in_flight": self.most_in_flight,
            }


def validate_base_url(base_url: str) -> str:
    """Check a Jira base URL and return it without a trailing slash; raise ``ValueError`` saying what to fix.

    Accepted: ``https://<site>.atlassian.net``, the gateway ``https://api.atlassian.com/ex/jira/<cloudId>``,
    or any other http(s) URL (a self-hosted proxy, the emulator on ``http://127.0.0.1:PORT``). Credentials
    in the URL are refused: they belong in the secret, and exceptions quote URLs.
    """
    text = (base_url or "").strip()
    example = "use https://<site>.atlassian.net or https://api.atlassian.com/ex/jira/<cloudId>"
    authority = re.split(r"[/?#]", text.partition("://")[2] or text, maxsplit=1)[0]
    if "@" in authority:  # checked first, and the URL is not quoted: it holds a credential
        raise ValueError(
            "the Jira URL must not contain credentials (user:password@); put the email and API token in the "
            "secret (or the token's environment variable), never in the URL"
        )
    try:
        parts = urllib.parse.urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValueError(f"the Jira URL {text!r} is not a valid URL ({exc}); {example}") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"the Jira URL {text!r} must start with https:// and name a host; {example}")
    if parts.username or parts.password:
        raise ValueError(
            "the Jira URL must not contain credentials; put the email and API token in the secret"
        )
    if parts.query or parts.fragment:  # not quoted whole: a query string may hold a credential too
        bare = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        raise ValueError(f"the Jira URL {bare!r} must not have a query or fragment (?... or #...); {example}")
    path = parts.path.rstrip("/")
    if "/rest/" in f"{path}/":
        raise ValueError(f"the Jira URL {text!r} should be the site's base URL, without /rest/...; {example}")
    if host == _GATEWAY_HOST and not _is_gateway_path(path):
        raise ValueError(
            f"the Jira URL {text!r} uses the API gateway but lacks the site's cloudId: "
            "use https://api.atlassian.com/ex/jira/<cloudId> (the cloudId is at https://<site>.atlassian.net"
            "/_edge/tenant_info)"
        )
    if host.endswith(".atlassian.net") and path:
        raise ValueError(f"a Jira Cloud site URL has no path: use {parts.scheme}://{parts.netloc}")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _is_gateway_path(path: str) -> bool:
    segments = path.split("/")
    return len(segments) == 4 and segments[1:3] == ["ex", "jira"] and bool(segments[3])


class _Transient(Exception):
    """A failure worth another attempt; carries what the final message needs if the attempts run out."""

    def __init__(
        self, kind: str, detail: str, *, status: int | None = None, retry_after: float | None = None
    ):
        super().__init__(detail)
        self.kind = kind  # "status", "connect", "timeout", "truncated"
        self.detail = detail
        self.status = status
        self.retry_after = retry_after


class JiraClient:
    """A Jira Cloud REST v3 client: one instance per sync run, shared by the threads of its pool.

    ``timeout`` is the read timeout of every request (the connect timeout is ``min(timeout, 10)``), and
    ``deadline`` (default twice ``timeout``) the most one attempt may take from sending to the last byte of
    the answer, however the server trickles it: an attempt past it fails as a timeout. Failed
    requests are retried (429, 500, 502, 503, 504, dropped connections, read timeouts, truncated bodies)
    with exponential backoff and full jitter starting at ``backoff_seconds``, never sooner than a
    ``Retry-After`` says, for at most ``max_attempts`` attempts and ``max_retry_seconds`` in total. Every
    request made here is a read (POST search and bulk fetch included), so repeating one is always safe.
    ``workers`` is the most requests in flight at once: the size of the thread pool of :meth:`run_parallel`
    and :meth:`submit` (used by bulk fetch), and the ceiling of the adaptive limit every request passes
    (:class:`~jira_sync.jira.concurrency.AdaptiveLimit`), which starts at ``start_workers`` and follows what
    Jira says about its rate limit; ``adaptive=False`` keeps it at ``workers`` (benchmarks compare both).
    """

    def __init__(
        self,
        base_url: str,
        credentials: JiraCredentials,
        *,
        timeout: float = 30.0,
        max_retry_seconds: float = 300.0,
        max_attempts: int = 8,
        verify: bool | str = True,
        workers: int = 8,
        backoff_seconds: float = 0.5,
        deadline: float | None = None,
        adaptive: bool = True,
        start_workers: int = 4,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if deadline is not None and deadline <= 0:
            raise ValueError("deadline must be positive")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if max_retry_seconds < 0:
            raise ValueError("max_retry_seconds must not be negative")
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.base_url = validate_base_url(base_url)
        self.credentials = credentials
        self.timeout = float(timeout)
        self.deadline = float(deadline) if deadline is not None else _DEADLINE_FACTOR * self.timeout
        self.max_retry_seconds = float(max_retry_seconds)
        self.max_attempts = int(max_attempts)
        self.verify = verify
        self.workers = int(workers)
        self.in_flight = AdaptiveLimit(self.workers, start=start_workers if adaptive else None)
        self.backoff_seconds = float(backoff_seconds)
        self.stats = RequestStats()
        split = urllib.parse.urlsplit(self.base_url)
        self.host = split.hostname or ""
        self._netloc = split.netloc
        self._port = split.port or (443 if split.scheme == "https" else 80)
        self._timeouts = (min(self.timeout, _CONNECT_TIMEOUT_CAP), self.timeout)
        self._backoff = tenacity.wait_random_exponential(
            multiplier=self.backoff_seconds, max=max(self.backoff_seconds, _MAX_BACKOFF_SECONDS)
        )
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False
        self._server_date: tuple[datetime.datetime, float] | None = None

    def __repr__(self) -> str:
        return f"JiraClient({self.base_url!r}, {self.credentials!r})"

    def __enter__(self) -> JiraClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the API used by the sync ------------------------------------------------------------------------

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET ``path`` (e.g. ``/rest/api/3/myself``) and return the parsed JSON."""
        return self._request("GET", path, params=params)

    def post(self, path: str, json_body: Any) -> Any:
        """POST ``json_body`` to ``path`` and return the parsed JSON (only reads are POSTed here)."""
        return self._request("POST", path, json_body=json_body)

    def myself(self) -> dict[str, Any]:
        """The authenticated account (``accountId``, ``displayName``, ``timeZone``, ...)."""
        return self._expect(dict, self.get("/rest/api/3/myself"), "GET /rest/api/3/myself")

    def time_zone(self) -> zoneinfo.ZoneInfo:
        """The account's time zone: Jira reads JQL dates as wall time in it."""
        name = self.myself().get("timeZone")
        profile = "https://id.atlassian.com/manage-profile/account-preferences"
        if not name or not isinstance(name, str):
            raise self._error(
                JiraRequestError,
                f"Jira's /rest/api/3/myself answer has no time zone for {self.credentials.describe()}; set one "
                f"in the account's Jira profile ({profile})",
            )
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            pass
        if not _has_zone_data():
            raise self._error(
                JiraRequestError,
                f"this Python has no time zone data to read the Jira account's time zone {name!r}; install "
                "the tzdata package (or list it in the procedure's PACKAGES)",
            )
        shown = self._redact(name)[:80]
        raise self._error(
            JiraRequestError,
            f"the time zone setting {shown!r} of the Jira account {self.credentials.describe()} is not a valid "
            f"IANA time zone name (such as Europe/Berlin); fix it in the account's Jira profile ({profile})",
        )

    def fields(self) -> list[dict[str, Any]]:
        """Every system and custom field of the site (``/rest/api/3/field``), for custom field discovery."""
        return self._expect(list, self.get("/rest/api/3/field"), "GET /rest/api/3/field")

    def search_page(
        self,
        jql: str,
        *,
        fields: Sequence[str] = ("id",),
        max_results: int = 5000,
        next_page_token: str | None = None,
        expand: str | Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """One page of the enhanced search (``POST /rest/api/3/search/jql``).

        Returns ``{"issues": [...], "nextPageToken": ..., "isLast": ...}``; see
        :func:`jira_sync.jira.search.iter_search_pages` to walk all pages. Jira caps ``max_results`` by
        itself (5,000 for ids only, fewer with more fields). A 400 quotes the JQL and Jira's reasons.
        """
        body: dict[str, Any] = {"jql": jql, "fields": _as_list(fields), "maxResults": int(max_results)}
        if next_page_token:
            body["nextPageToken"] = next_page_token
        if expand:
            body["expand"] = expand if isinstance(expand, str) else ",".join(expand)
        page = self._expect(dict, self._request("POST", SEARCH_PATH, json_body=body, jql=jql), "search")
        if not isinstance(page.get("issues", []), list):
            raise self._error(
                JiraRequestError, f"Jira's search answer has no issue list (keys: {sorted(page)[:10]})"
            )
        return page

    def bulk_fetch(
        self,
        ids: Sequence[str],
        fields: Sequence[str] = ("*all",),
        expand: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Full issues for ``ids`` in input order, 100 per call, calls run in parallel on the pool.

        See :func:`jira_sync.jira.search.bulk_fetch` (which this calls) for what happens to vanished ids.
        """
        from jira_sync.jira.search import bulk_fetch  # search builds on this module

        return bulk_fetch(self, ids, fields=fields, expand=expand)

    def submit(self, function: Callable[..., R], *args: Any) -> Future[R]:
        """Run ``function(*args)`` on the client's pool; its requests pass the same in-flight limit."""
        return self._executor().submit(function, *args)

    def run_parallel(self, function: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``[function(item) for item in items]`` on the client's pool of ``workers`` threads, in input order.

        The first failure cancels what has not started yet and is raised. A single item runs on the calling
        thread, so work already on the pool may ask for one (the window walk's look-ahead fetches one issue);
        more than one is not to be asked from a pool thread (it would wait on itself).
        """
        items = list(items)
        if len(items) <= 1 or self.workers == 1:
            return [function(item) for item in items]
        futures = [self._executor().submit(function, item) for item in items]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        failed = next((f for f in futures if f in done and f.exception() is not None), None)
        if failed is not None:
            for future in pending:
                future.cancel()
            wait(pending)
            raise _exception_of(failed)
        return [future.result() for future in futures]

    def close(self) -> None:
        """Stop the pool and close every thread's connections. The client cannot be used afterwards."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
            sessions, self._sessions = self._sessions, []
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        for session in sessions:
            session.close()

    # --- one request, retried ----------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, params: Any = None, json_body: Any = None, jql: str | None = None
    ) -> Any:
        url = self._url(path)
        started = time.monotonic()
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Transient),
            wait=self._wait,
            stop=self._stop,
            before_sleep=lambda state: self._before_sleep(state, method, path),
            reraise=False,
        )
        try:
            return retrying(self._send_once, method, url, path, params, json_body, jql)
        except tenacity.RetryError as exhausted:
            last = exhausted.last_attempt
            cause = last.exception()
            if not isinstance(cause, _Transient):  # only _Transient is retried, so only it can exhaust
                raise
            elapsed = time.monotonic() - started
            raise self._error(
                JiraUnavailableError,
                self._exhausted_message(cause, method, path, last.attempt_number, elapsed),
                status=cause.status,
            ) from None

    def _send_once(
        self, method: str, url: str, path: str, params: Any, json_body: Any, jql: str | None
    ) -> Any:
        """One attempt: raise ``_Transient`` for what deserves another, a ``JiraError`` for what does not."""
        if self._closed:
            raise RuntimeError("this JiraClient was closed")
        try:
            response = self._send_paced(method, url, params, json_body)
        except requests.exceptions.SSLError as exc:
            raise self._error(
                JiraUnavailableError,
                f"the TLS handshake with {self._netloc} failed ({_innermost_text(exc)}); check the site URL "
                "and, for a proxy with its own certificate authority, the client's verify setting",
            ) from None
        except requests.exceptions.ConnectTimeout:
            raise _Transient("connect", f"no connection within {self._timeouts[0]:g} s") from None
        except requests.exceptions.ReadTimeout:
            raise _Transient("timeout", f"no answer within {self.timeout:g} s") from None
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            raise _Transient("truncated", f"the body broke off ({_innermost_text(exc)})") from None
        except requests.exceptions.ConnectionError as exc:
            reason, permanent = _describe_connection_error(exc)
            if permanent:
                raise self._error(JiraUnavailableError, self._unreachable_message(reason)) from None
            raise _Transient("connect", reason) from None
        except requests.exceptions.RequestException as exc:
            raise self._error(
                JiraRequestError, f"cannot send {method} {path} to {self.base_url}: {_innermost_text(exc)}"
            ) from None
        self._note_server_date(response)
        status = response.status_code
        if status in RETRY_STATUSES:
            retry_after = _retry_after_seconds(response) if status in RETRY_AFTER_STATUSES else None
            raise _Transient("status", _status_text(status, response), status=status, retry_after=retry_after)
        if status >= 400:
            raise self._http_error(response, method, path, jql)
        return self._parse_body(response, method, path)

    def _send_paced(self, method: str, url: str, params: Any, json_body: Any) -> requests.Response:
        """One exchange inside a slot of the adaptive limit, its answer reported back to the limit."""
        with self.in_flight.slot() as epoch:
            self.stats.count_request(self.in_flight.in_flight)
            response = self._send_with_deadline(method, url, params, json_body)
            retry_after = (
                _retry_after_seconds(response) if response.status_code in RETRY_AFTER_STATUSES else None
            )
            if response.status_code == 429 or retry_after is not None:
                self.in_flight.refused(epoch, retry_after)
            else:
                headers = response.headers
                near = headers.get("X-RateLimit-NearLimit", "").strip().lower() == "true"
                self.in_flight.answered(epoch, near_limit=near or bool(headers.get("RateLimit-Reason")))
            return response

    def _send_with_deadline(self, method: str, url: str, params: Any, json_body: Any) -> requests.Response:
        """One HTTP exchange, whole answer read, within ``deadline`` (raises ``_Transient`` past it)."""
        _DEADLINE.at = time.monotonic() + self.deadline
        try:
            # `verify` per request: requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's own.
            return self._session().request(
                method, url, params=params, json=json_body, timeout=self._timeouts, verify=self.verify
            )
        except requests.exceptions.RequestException as exc:
            if any(isinstance(cause, DeadlineExceeded) for cause in _causes(exc)):
                raise _Transient(
                    "timeout", f"no complete answer within the {self.deadline:g} s deadline"
                ) from None
            raise
        finally:
            _DEADLINE.at = None

    def _note_server_date(self, response: requests.Response) -> None:
        """Remember Jira's clock (the ``Date`` header) next to ours, so windows follow Jira's time."""
        value = response.headers.get("Date")
        if not value:
            return
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return
        if when.tzinfo is None:
            return
        with self._lock:
            self._server_date = (when, time.monotonic())

    def server_now(self) -> datetime.datetime | None:
        """Jira's current time, from the ``Date`` header of the latest answer plus the time elapsed since
        (None before any answer). ``Date`` has whole seconds, so this may be up to a second behind Jira:
        a window bounded by it only ever ends early, never late."""
        with self._lock:
            seen = self._server_date
        if seen is None:
            return None
        when, at = seen
        return (when + datetime.timedelta(seconds=time.monotonic() - at)).astimezone(datetime.UTC)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        """Full-jitter exponential backoff (cut to the budget left), never shorter than ``Retry-After``.

        A ``Retry-After`` beyond the budget is kept as is, so :meth:`_stop` ends the retries at once instead
        of asking again too early.
        """
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None) or 0.0
        budget_left = max(0.0, self.max_retry_seconds - state.seconds_since_start)
        return max(min(self._backoff(state), budget_left), retry_after)

    def _stop(self, state: tenacity.RetryCallState) -> bool:
        """Stop after ``max_attempts``, once ``max_retry_seconds`` have passed, or when the coming wait would
        end beyond them. `_wait` cuts a wait to the budget left, so the last attempt comes at its very end.

        (tenacity >= 8.3 computes the wait before asking; older versions pass 0 and this stops by elapsed
        time.)
        """
        if state.attempt_number >= self.max_attempts:
            return True
        elapsed = state.seconds_since_start
        return elapsed >= self.max_retry_seconds or elapsed + state.upcoming_sleep > self.max_retry_seconds

    def _before_sleep(self, state: tenacity.RetryCallState, method: str, path: str) -> None:
        exc = state.outcome.exception() if state.outcome else None
        sleep = state.upcoming_sleep
        rate_limited = isinstance(exc, _Transient) and exc.status == 429
        self.stats.count_retry(sleep, rate_limited)
        _log.warning(
            "Jira %s %s: %s; attempt %d of %d failed, retrying in %.1f s",
            method,
            path,
            self._redact(str(exc)),
            state.attempt_number,
            self.max_attempts,
            sleep,
        )

    # --- answers -----------------------------------------------------------------------------------------

    def _parse_body(self, response: requests.Response, method: str, path: str) -> Any:
        body = response.content
        if not body.strip():
            return None
        content_type = response.headers.get("Content-Type", "")
        if "json" not in content_type.lower() and body.lstrip()[:1] not in (b"{", b"["):
            snippet = self._redact(body[:4096].decode("utf-8", "replace"))[:80].strip()
            raise self._error(
                JiraRequestError,
                f"Jira answered {method} {path} with {content_type or 'no content type'} instead of JSON "
                f"(starting {snippet!r}); {self.base_url} is probably not a Jira Cloud REST endpoint: "
                "check the site URL",
                status=response.status_code,
            )
        try:
            return fastjson.loads(body)
        except ValueError as exc:
            # JSON that does not parse is nearly always a body cut short by the network: ask again.
            raise _Transient("truncated", f"the JSON body was incomplete or malformed ({exc})") from None

    def _http_error(self, response: requests.Response, method: str, path: str, jql: str | None) -> JiraError:
        status = response.status_code
        messages = _jira_messages(response, self._redact)
        said = ": " + "; ".join(m.rstrip(". ") for m in messages) if messages else ""
        what = f"{method} {path}"
        if status == 400 and jql is not None:
            hidden = (
                f" Jira says the same of a project {self.credentials.describe()} may not see as of one that "
                "does not exist: check the key, and that the account has the Browse projects permission on it."
                if any(_NO_SUCH_PROJECT.search(m) for m in messages)
                else ""
            )
            return self._error(
                JiraRequestError,
                f"Jira rejected the JQL (400 Bad Request){said}. The JQL sent was: {jql} .{hidden} "
                "Fix the source's JQL (or its project keys) and run the sync again.",
                status=status,
                messages=messages,
            )
        if status == 401:
            who = f"the email {self.credentials.email}" if self.credentials.email else "the bearer token"
            gateway = (
                "A scoped API token or OAuth token only works through https://api.atlassian.com/ex/jira/<cloudId>."
                if self.host != _GATEWAY_HOST
                else "Basic auth with a classic API token uses https://<site>.atlassian.net, not the gateway."
            )
            return self._error(
                JiraAuthError,
                f"Jira rejected the credentials for {who} at {self.base_url} (401 Unauthorized){said}. "
                "Check the email and API token in the secret; tokens expire and can be revoked "
                "(create a new one at https://id.atlassian.com/manage-profile/security/api-tokens). "
                + gateway,
                status=status,
                messages=messages,
            )
        if status == 403:
            captcha = response.headers.get("X-Seraph-LoginReason", "") == "AUTHENTICATION_DENIED"
            fix = (
                "Jira wants a CAPTCHA after failed logins: sign in once in a browser with this account."
                if captcha
                else "The account needs the Browse projects permission on the synced projects, and a scoped "
                "token the scopes read:jira-work and read:jira-user."
            )
            return self._error(
                JiraAuthError,
                f"Jira refused {what} for {self.credentials.describe()} at {self.base_url} "
                f"(403 Forbidden){said}. " + fix,
                status=status,
                messages=messages,
            )
        if status == 404:
            return self._error(
                JiraRequestError,
                f"Jira answered 404 Not Found to {what} at {self.base_url}{said}. The site or the resource "
                "does not exist: check the site URL (https://<site>.atlassian.net) or the cloudId in "
                "https://api.atlassian.com/ex/jira/<cloudId>.",
                status=status,
                messages=messages,
            )
        if status == 410:
            return self._error(
                JiraRequestError,
                f"Jira answered 410 Gone to {what}{said}: Atlassian has removed this API. "
                "Upgrade jira-sync to a version that uses the current endpoints.",
                status=status,
                messages=messages,
            )
        return self._error(
            JiraRequestError,
            f"Jira answered {_status_text(status, response)} to {what} at {self.base_url}{said}.",
            status=status,
            messages=messages,
        )

    def _exhausted_message(
        self, cause: _Transient, method: str, path: str, attempts: int, elapsed: float
    ) -> str:
        spent = f"for {_seconds(elapsed)} s over {attempts} attempt{'s' if attempts != 1 else ''}"
        budget_left = self.max_retry_seconds - elapsed
        if cause.retry_after is not None and attempts < self.max_attempts and cause.retry_after > budget_left:
            asked = (
                f"; Jira then asked to wait {_seconds(cause.retry_after)} s (Retry-After), more than the "
                f"{_seconds(max(budget_left, 0.0))} s left of the {_seconds(self.max_retry_seconds)} s "
                "retry budget"
            )
        else:
            asked = ""
        if cause.kind == "status" and cause.status == 429:
            return (
                f"Jira kept answering {cause.detail} {spent} ({method} {path}){asked}; lower the sync's "
                "parallelism or schedule it less often."
            )
        if cause.kind == "status":
            return (
                f"Jira kept answering {cause.detail} {spent} ({method} {path}){asked}; Jira Cloud seems "
                "to be having trouble (see https://status.atlassian.com). The next run resumes from the last "
                "watermark."
            )
        if cause.kind == "connect":
            return self._unreachable_message(
                f"{cause.detail} ({attempts} attempt{'s' if attempts != 1 else ''} over {_seconds(elapsed)} s)"
            )
        if cause.kind == "timeout":
            return (
                f"Jira did not answer {method} {path} in time: {cause.detail}, {spent}. Jira may be "
                "overloaded; raise the timeout or lower the page size, or try again later."
            )
        return (
            f"Jira's answers to {method} {path} kept arriving broken ({cause.detail}) {spent}. The "
            f"connection to {self._netloc} is unreliable (a proxy or network problem); try again later."
        )

    def _unreachable_message(self, reason: str) -> str:
        return (
            f"cannot reach {self._netloc}: {reason}. Check the site URL ({self.base_url}) and that the "
            f"EXTERNAL ACCESS INTEGRATION's network rule allows {self.host}:{self._port}."
        )

    def _error(self, cls: type[JiraError], message: str, **kwargs: Any) -> JiraError:
        """Build an error whose text cannot contain the credential, whatever a server echoed back."""
        for secret in self.credentials.secrets():
            message = message.replace(secret, "***")
        kwargs["messages"] = [self._redact(m) for m in kwargs.get("messages", ())]
        return cls(message, **kwargs)

    def redact(self, text: str) -> str:
        """``text`` with every form of the credential replaced by ``***``: for server text quoted elsewhere
        (bulk-fetch ``issueErrors``, an account's display name)."""
        return self._redact(text)

    def _redact(self, text: str) -> str:
        for secret in self.credentials.secrets():
            text = text.replace(secret, "***")
        return text

    @staticmethod
    def _expect(kind: type[T], value: Any, what: str) -> T:
        if not isinstance(value, kind):  # names only types: nothing the server sent is quoted
            raise JiraRequestError(
                f"Jira's answer to {what} is a {type(value).__name__}, not a JSON {kind.__name__}; "
                "check that the site URL points at Jira Cloud"
            )
        return value

    # --- plumbing -----------------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        if not path.startswith("/") or path.startswith("//"):
            raise ValueError(f"a Jira API path starts with one '/', e.g. /rest/api/3/myself (got {path!r})")
        return self.base_url + path

    def _session(self) -> requests.Session:
        """This thread's session: a requests.Session is not documented as thread-safe (shared cookie jar)."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            for prefix in ("https://", "http://"):
                session.mount(prefix, _DeadlineAdapter())
            session.auth = self.credentials.auth()
            session.verify = self.verify
            session.headers.update(self._headers())
            with self._lock:
                if self._closed:
                    session.close()
                    raise RuntimeError("this JiraClient was closed")
                self._sessions.append(session)
            self._local.session = session
        return session

    @staticmethod
    def _headers() -> dict[str, str]:
        """Headers sent with every request.

        ``Accept-Language: en`` with ``X-Force-Accept-Language: true``: Jira words its error messages in the
        account's profile language unless forced; the sync quotes those messages in its errors and run log,
        which must read the same for every account (and in English for whoever supports it).
        """
        return {
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            "Accept-Language": "en",
            "X-Force-Accept-Language": "true",
        }

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("this JiraClient was closed")
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="jira-sync")
            return self._pool


def _as_list(values: str | Sequence[str]) -> list[str]:
    return [values] if isinstance(values, str) else list(values)


def _exception_of(future: Future[Any]) -> BaseException:
    exc = future.exception()
    assert exc is not None
    return exc


def _status_text(status: int, response: requests.Response) -> str:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = response.reason or "error"
    text = f"{status} {phrase}"
    if status == 429:
        reason = response.headers.get("RateLimit-Reason")
        text += f" (rate limited{': ' + reason if reason else ''})"
    return text


def _retry_after_seconds(response: requests.Response) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date (RFC 9110 allows both)."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _jira_messages(response: requests.Response, redact: Callable[[str], str]) -> list[str]:
    """Jira's reasons from an error body: ``errorMessages``, ``errors`` (field -> text), or ``message``.

    Each is redacted before it is cut to length: a credential cut in half would no longer be recognised.
    """
    try:
        body = json.loads(response.content)
    except ValueError:
        text = redact(response.content.decode("utf-8", "replace"))[:_MAX_MESSAGE_CHARS].strip()
        return [text] if text and not text.startswith("<") else []
    found: list[str] = []
    if isinstance(body, dict):
        found.extend(str(m) for m in body.get("errorMessages") or [] if m)
        errors = body.get("errors")
        if isinstance(errors, dict):
            found.extend(f"{key}: {value}" for key, value in errors.items())
        for key in ("message", "errorMessage", "error_description"):
            if isinstance(body.get(key), str) and body[key]:
                found.append(body[key])
    return [redact(m)[:_MAX_MESSAGE_CHARS] for m in found[:_MAX_MESSAGES]]


_NO_SUCH_PROJECT = re.compile(r"does not exist for the field '(project|projectKey)'", re.IGNORECASE)


def _has_zone_data() -> bool:
    """Can this Python read any IANA zone at all (the system's database or the tzdata package)?"""
    try:
        zoneinfo.ZoneInfo("Europe/Paris")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it wraps (requests -> urllib3 MaxRetryError -> reason -> socket error)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(arg for arg in current.args if isinstance(arg, BaseException))
        for linked in (getattr(current, "reason", None), current.__cause__, current.__context__):
            if isinstance(linked, BaseException):
                todo.append(linked)


def _describe_connection_error(exc: BaseException) -> tuple[str, bool]:
    """A short reason for a failed connection, and whether it is permanent (a name that does not exist)."""
    for cause in _causes(exc):
        if isinstance(cause, socket.gaierror):
            permanent = cause.errno in {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}
            return f"the host name does not resolve ({cause.strerror or cause})", permanent
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused", False
        if isinstance(cause, ConnectionResetError):
            return "the connection was reset", False
        if isinstance(cause, http.client.RemoteDisconnected):
            return "the server closed the connection without answering", False
    return _innermost_text(exc), False


def _innermost_text(exc: BaseException) -> str:
    *_, last = _causes(exc)
    return str(last) or type(last).__name__


def _seconds(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"
