"""The HTTP side: a stdlib ThreadingHTTPServer (HTTP/1.1 keep-alive, daemon threads), routing, auth, faults,
the request log, and optional TLS with a self-signed certificate.

Faults and auth apply to /rest/ only; /_fakejira/ (control) is always answered, unauthenticated.

Each connection has its own thread and latency is a sleep in it, holding no lock, so any number of
requests wait out their latency at once. Issues come from the render cache (:mod:`fakejira.render_cache`)
as bytes ready to send (:class:`~fakejira.web.RawJson`): a warm bulk fetch of 100 issues costs the server
about 2 ms of CPU, so one process serves some 25,000 issues/s to 32 clients at 100 ms latency.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import ssl
import sys
import tempfile
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fakejira.control import CONTROL
from fakejira.faults import Decision, Faults
from fakejira.render_cache import DEFAULT_BUDGET_MIB, RenderCache
from fakejira.reqlog import RequestLog
from fakejira.rest_api import ROUTES
from fakejira.search import SearchService
from fakejira.store import Account, NotFound, Site
from fakejira.web import JSON_TYPE, ApiError, RawJson, Request, Route, error_body, json_bytes

UNAUTHORIZED_TEXT = "Client must be authenticated to access this resource."
NOT_AUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."
FAULT_BODIES = {
    "500": (500, "Internal server error."),
    "502": (502, "Bad gateway."),
    "503": (503, "Service unavailable: please try again later."),
    "503-retry": (503, "Service unavailable: please try again later."),
    "504": (504, "Gateway timeout."),
}


class App:
    """Everything a request needs: the site, search, faults, the log, the render cache and the public base
    URL."""

    def __init__(
        self, site: Site, faults: Faults | None = None, render_cache_mib: float = DEFAULT_BUDGET_MIB
    ) -> None:
        self.site = site
        self.faults = faults or Faults()
        self.renders = RenderCache(site, render_cache_mib)
        self.search = SearchService(site, self.renders)
        self.log = RequestLog()
        self.read_only: str | None = None
        """Why the control API may only read (several server processes, each with its own site), if so."""
        self._request_ids = iter(range(1, 1 << 62))
        self._ids_lock = threading.Lock()
        self.configure_faults()

    def configure_faults(self, **changes: Any) -> None:
        config = self.faults.configure(**changes)
        self.site.search_lag = config.search_lag_ms / 1000
        self.site.clock_offset_ms = config.clock_offset_ms

    def authenticate(self, header: str | None) -> Account | None:
        """The account behind an Authorization header; raises 401 ApiError when one is given but wrong."""
        if not header:
            return None
        scheme, _, value = header.strip().partition(" ")
        account = None
        if scheme.lower() == "basic":
            try:
                email, _, token = base64.b64decode(value.strip()).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                email, token = "", ""
            account = self.site.authenticate_basic(email, token)
        elif scheme.lower() == "bearer":
            account = self.site.authenticate_bearer(value.strip())
        if account is None:
            raise ApiError(401, UNAUTHORIZED_TEXT)
        return account

    @property
    def base_url(self) -> str:
        """Where clients reach the server (known once it is bound): every `self` link starts with it."""
        return self.renders.base_url

    @base_url.setter
    def base_url(self, url: str) -> None:
        self.renders.base_url = url

    def request_id(self) -> str:
        with self._ids_lock:
            n = next(self._request_ids)
        return f"{int(time.time()) % 86_400 // 60}x{n}x1"


def _serialise(app: App, body: Any) -> tuple[bytes, str]:
    if isinstance(body, str):
        return body.encode(), "text/plain;charset=UTF-8"
    if isinstance(body, RawJson):
        return body.data, JSON_TYPE
    return json_bytes(body, app.base_url), JSON_TYPE


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's delayed
    # ACK (~40 ms on Linux), so every keep-alive request would take 40 ms more than it should.
    disable_nagle_algorithm = True
    server: FakeJiraHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is the record."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """Every answer's `Date` header (RFC 7231 IMF-fixdate), from the site's clock, which may be off."""
        return super().date_time_string(self.server.app.site.now_ms() / 1000 if timestamp is None else timestamp)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(
        self,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
        truncate: bool = False,
        trickle_s: float = 0.0,
    ) -> None:
        app = self.server.app
        payload, content_type = (b"", "") if body is None else _serialise(app, body)
        # logged before the answer leaves: a client that reads the log next finds this request in it
        self._log_request(status)
        self.send_response(status)
        if payload:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-AREQUESTID", app.request_id())
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if truncate:  # promise the whole body, send part of it, hang up
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if trickle_s > 0:
            self._trickle(payload, trickle_s)
            return
        self.wfile.write(payload)

    def _trickle(self, payload: bytes, pause_s: float) -> None:
        """Send the body one byte per `pause_s`: never silent long enough for a per-read timeout to fire.
        Stops when the client hangs up."""
        try:
            for i in range(len(payload)):
                time.sleep(pause_s)
                self.wfile.write(payload[i : i + 1])
        except (ConnectionError, TimeoutError, ssl.SSLError):
            self.close_connection = True

    def _dispatch(self, method: str) -> None:
        app = self.server.app
        url = urlsplit(self.path)
        req = Request.from_parts(method, url.path, url.query, dict(self.headers.items()), self._read_body())
        if url.path.startswith("/_fakejira/"):
            self._control(req)
            return
        decision = app.faults.decide() if url.path.startswith("/rest/") else Decision(None, 0.0, {})
        if decision.latency_s:
            time.sleep(decision.latency_s)
        route, params, known = ROUTES.match(method, url.path)
        endpoint = route.endpoint if route else f"{method} {url.path}"
        self._unlogged = (method, url.path, endpoint, req, decision)
        status = self._answer(req, route, params, known, decision)
        self._log_request(status)  # a dropped connection sends nothing: logged here

    _unlogged: tuple[str, str, str, Request, Decision] | None = None

    def _log_request(self, status: int) -> None:
        """Add the /rest/ request being answered to the request log, once."""
        if self._unlogged is None:
            return
        (method, path, endpoint, req, decision), self._unlogged = self._unlogged, None
        self.server.app.log.add(
            method,
            path,
            endpoint,
            status,
            jql=req.jql,
            account=req.account.account_id if req.account else None,
            fault=decision.kind,
        )

    def _answer(
        self, req: Request, route: Route | None, params: dict[str, str], known: bool, decision: Decision
    ) -> int:
        """Serve one /rest/ (or unknown) request; returns the status sent (0 = connection dropped)."""
        app = self.server.app
        kind = decision.kind
        if kind == "drop":
            self.close_connection = True
            return 0
        if kind == "429":
            self._send(429, error_body("Rate limit exceeded."), decision.headers)
            return 429
        if kind in FAULT_BODIES:
            status, message = FAULT_BODIES[kind]
            self._send(status, error_body(message), {"Retry-After": "1"} if kind == "503-retry" else {})
            return status
        try:
            if route is None:
                raise ApiError(
                    405 if known else 404,
                    error_body("null for uri: " + req.path)
                    if known
                    else error_body(f"No resource found for {req.method} {req.path}."),
                )
            req.params = params
            req.account = app.authenticate(req.headers.get("Authorization"))
            if route.auth and req.account is None:
                raise ApiError(401, error_body(NOT_AUTHENTICATED))
            status, body = 200, route.handler(app, req)
        except ApiError as e:
            status, body = e.status, e.body
            decision = Decision(kind, 0, {**decision.headers, **e.headers})
        except Exception:
            traceback.print_exc(file=sys.stderr)
            status, body = 500, error_body("Internal server error.")
        trickle_s = app.faults.config.trickle_interval_ms / 1000 if kind == "trickle" else 0.0
        self._send(status, body, decision.headers, truncate=kind == "truncate", trickle_s=trickle_s)
        return status

    def _control(self, req: Request) -> None:
        route, params, known = CONTROL.match(req.method, req.path)
        reason = self.server.app.read_only
        try:
            if reason and (req.method != "GET" or req.path.rstrip("/") == "/_fakejira/requests"):
                raise ApiError(409, {"error": reason})
            if route is None:
                raise ApiError(
                    405 if known else 404, {"error": f"no control endpoint {req.method} {req.path}"}
                )
            req.params = params
            result = route.handler(self.server.app, req)
            status, body = result if isinstance(result, tuple) else (200, result)
        except ApiError as e:
            status, body = e.status, e.body
        except NotFound as e:
            status, body = 404, {"error": f"not found: {e.args[0]}"}
        except (ValueError, TypeError) as e:
            status, body = 400, {"error": str(e)}
        self._send(status, body)


class FakeJiraHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, app: App, port: int = 0, tls_dir: Path | None = None) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.app = app
        self.cert_path: Path | None = None
        scheme = "http"
        if tls_dir is not None:
            self.cert_path, key_path = write_self_signed(tls_dir)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.cert_path, key_path)
            # The handshake then happens in the request thread, not in the accept loop.
            self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
            scheme = "https"
        app.base_url = f"{scheme}://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up mid-answer (or fail TLS) are routine here; stay quiet about them."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, ConnectionError | ssl.SSLError | TimeoutError):
            super().handle_error(request, client_address)


def write_self_signed(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (also its own CA bundle) and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fakejira")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "fakejira-cert.pem", directory / "fakejira-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def make_tls_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="fakejira-tls-"))
