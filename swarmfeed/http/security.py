"""The access-token gate, CSRF protection and security headers for the API and the web UI.

When ``settings.needs_token`` is true (the HTTP server is bound beyond loopback, or
``--require-token``), every request but static assets must carry the node's access token:
``Authorization: Bearer <token>`` (the CLI) or the cookie set by the login page (``POST
/login``) or by visiting ``/?token=<token>``. A browser asking for a page without it gets the
login page, API clients a JSON 401. State-changing requests authenticated by cookie must also
carry the CSRF token (double submit: the ``swarmfeed_csrf`` cookie and the same value in
``X-CSRF-Token``, the form field ``csrf_token``, or for multipart forms the ``csrf_token``
query parameter). Whatever the mode, a state-changing request sent by another site's page is
refused, and on a loopback-only node requests must name the host by IP or ``localhost`` (so a
DNS-rebinding page cannot reach it).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
from collections.abc import Callable, Sequence
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, parse_qsl, urlencode

from markupsafe import escape

from swarmfeed.http.headers import safe_local_path
from swarmfeed.http.limits import ASGIApp, Message, Receive, Scope, Send, read_body

TOKEN_COOKIE = "swarmfeed_token"  # noqa: S105 - a cookie name, not a secret
CSRF_COOKIE = "swarmfeed_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
LOGIN_PATH = "/login"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_FORM_BYTES = 64 * 1024

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob: data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Media files are author-controlled bytes with an author-chosen MIME type: opened directly they
# must never run script on this origin.
MEDIA_CSP = (
    "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'"
)


def constant_time_equal(given: str | None, expected: str | None) -> bool:
    """Compare two secrets without leaking where they differ; None never matches."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def parse_cookies(header: str) -> dict[str, str]:
    """Return the cookies of a ``Cookie`` header (malformed ones are skipped)."""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # a malformed cookie header means no cookies
        return {}
    return {key: morsel.value for key, morsel in jar.items()}


def host_is_local_name(host_header: str) -> bool:
    """Return True when a ``Host`` header names localhost or an IP literal (no DNS name)."""
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host[1:]
    else:
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _cookie(name: str, value: str, *, http_only: bool = True, secure: bool = False) -> str:
    flags = ("; HttpOnly" if http_only else "") + ("; Secure" if secure else "")
    return f"{name}={value}; Path=/; SameSite=Strict{flags}"


def _origin_host(origin: str) -> str:
    scheme, sep, rest = origin.partition("://")
    return rest.split("/", 1)[0].lower() if sep and scheme else ""


class _Request:
    """The parts of an ASGI HTTP scope the gate looks at."""

    def __init__(self, scope: Scope) -> None:
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.secure = scope.get("scheme") == "https"
        """Over TLS (directly, or at a trusted proxy: cookies then carry ``Secure``)."""
        self.query: str = scope.get("query_string", b"").decode("latin-1")
        self.headers: dict[str, str] = {}
        cookies: list[str] = []
        for raw_key, raw_value in scope.get("headers", []):
            key = raw_key.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            if key == "cookie":
                cookies.append(value)
            self.headers[key] = value
        self.headers["cookie"] = "; ".join(cookies)
        self.cookies = parse_cookies(self.headers.get("cookie", ""))

    @property
    def wants_json(self) -> bool:
        """Return True for API clients (JSON errors) rather than browsers loading a page."""
        if self.path.startswith("/api/") or self.path == "/openapi.json":
            return True
        return "text/html" not in self.headers.get("accept", "")

    @property
    def target(self) -> str:
        """Return the path and query this request asked for (to return to after login)."""
        return self.path + (f"?{self.query}" if self.query else "")

    def bearer(self) -> str | None:
        """Return the Bearer token of the ``Authorization`` header, if any."""
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else None

    def same_origin(self) -> bool:
        """Return False when a browser says the request comes from another site's page."""
        if self.headers.get("sec-fetch-site", "") == "cross-site":
            return False
        origin = self.headers.get("origin")
        if origin is None:
            return True
        if origin == "null":
            return False
        return _origin_host(origin) == self.headers.get("host", "").lower()


class SecurityMiddleware:
    """ASGI middleware: token gate with a login page, CSRF double submit, Origin/Host checks."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        needs_token: Callable[[Scope], bool],
        token: Callable[[Scope], str | None],
    ) -> None:
        self.app = app
        self.needs_token = needs_token
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then pass it on with the security headers added."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = _Request(scope)
        gated = self.needs_token(scope)
        if not gated and not host_is_local_name(request.headers.get("host", "")):
            await _refuse(
                send,
                request,
                421,
                "this node only answers to localhost or an IP address; "
                "use --require-token to reach it through a proxy",
            )
            return
        if request.path.startswith("/static/"):
            await self.app(scope, receive, _with_headers(send, request, None))
            return

        csrf_cookie = request.cookies.get(CSRF_COOKIE)
        new_csrf = None if csrf_cookie else secrets.token_urlsafe(24)
        csrf = csrf_cookie or new_csrf or ""
        state = scope.setdefault("state", {})
        state["csrf_token"] = csrf

        auth = "open"
        if gated:
            token = self.token(scope)
            if constant_time_equal(request.bearer(), token):
                auth = "bearer"
            elif constant_time_equal(request.cookies.get(TOKEN_COOKIE), token):
                auth = "cookie"
            elif request.path == LOGIN_PATH and request.method == "POST":
                await self._login(request, receive, send, token, csrf)
                return
            elif request.method in SAFE_METHODS and "token" in parse_qs(request.query):
                given = parse_qs(request.query)["token"][0]
                if constant_time_equal(given, token):
                    rest = [
                        (k, v)
                        for k, v in parse_qsl(request.query, keep_blank_values=True)
                        if k != "token"
                    ]
                    target = request.path + (f"?{urlencode(rest)}" if rest else "")
                    await _login_redirect(send, request, target, given, csrf)
                    return
                await _refuse(send, request, 401, "the access token is wrong")
                return
            else:
                await _refuse(send, request, 401, "an access token is required", csrf=new_csrf)
                return
        state["auth"] = auth

        if request.method not in SAFE_METHODS and auth != "bearer":
            if not request.same_origin():
                await _refuse(send, request, 403, "cross-site request refused")
                return
            if auth == "cookie":
                sent = request.headers.get(CSRF_HEADER)
                if sent is None and request.headers.get("content-type", "").startswith(
                    "application/x-www-form-urlencoded"
                ):
                    body, receive = await read_body(receive, MAX_FORM_BYTES)
                    if body is None:
                        await _refuse(send, request, 413, "form too large")
                        return
                    fields = dict(parse_qsl(body.decode("utf-8", "replace"), max_num_fields=64))
                    sent = fields.get(CSRF_FIELD)
                if sent is None:  # multipart forms without JavaScript carry it in the URL
                    sent = parse_qs(request.query).get(CSRF_FIELD, [None])[0]
                if not constant_time_equal(sent, csrf_cookie):
                    await _refuse(send, request, 403, "missing or wrong CSRF token")
                    return

        await self.app(scope, receive, _with_headers(send, request, new_csrf))

    async def _login(
        self, request: _Request, receive: Receive, send: Send, token: str | None, csrf: str
    ) -> None:
        """Check the token pasted into the login page and set the cookies it earns."""
        if not request.same_origin():
            await _refuse(send, request, 403, "cross-site request refused")
            return
        body, _ = await read_body(receive, MAX_FORM_BYTES)
        if body is None:
            await _refuse(send, request, 413, "form too large")
            return
        try:
            fields = dict(parse_qsl(body.decode("utf-8"), max_num_fields=8))
        except (UnicodeDecodeError, ValueError):
            fields = {}
        target = fields.get("next", "/")
        given = fields.get("token", "").strip()
        if not constant_time_equal(given, token):
            await _send_page(send, request, 401, _login_page(target, wrong=bool(given)), csrf=None)
            return
        await _login_redirect(send, request, target, given, csrf)


def _security_headers(path: str) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),  # "no-referrer" makes form posts send Origin: null
    ]
    if path.startswith("/api/media/"):
        headers.append((b"content-security-policy", MEDIA_CSP.encode()))
    else:
        headers.append((b"content-security-policy", PAGE_CSP.encode()))
        headers.append((b"x-frame-options", b"DENY"))
    return headers


def _with_headers(send: Send, request: _Request, new_csrf: str | None) -> Send:
    """Wrap ``send`` so the response start carries the security headers (and a CSRF cookie)."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            present = {key.lower() for key, _ in headers}
            for key, value in _security_headers(request.path):
                if key not in present:
                    headers.append((key, value))
            if new_csrf and not request.path.startswith("/api/"):
                cookie = _cookie(CSRF_COOKIE, new_csrf, secure=request.secure)
                headers.append((b"set-cookie", cookie.encode()))
            message["headers"] = headers
        await send(message)

    return wrapped


async def _refuse(
    send: Send, request: _Request, code: int, reason: str, *, csrf: str | None = None
) -> None:
    """Answer with a JSON error for API clients, the login page or a small page for browsers."""
    if request.wants_json:
        body = json.dumps({"detail": reason}).encode()
        headers = [(b"content-type", b"application/json")]
        if code == 401:
            headers.append((b"www-authenticate", b'Bearer realm="swarmfeed"'))
        await _send(send, request, code, body, headers)
        return
    if code == 401:
        page = _login_page(request.target, wrong=reason == "the access token is wrong")
    else:
        page = _refusal_page(reason)
    await _send_page(send, request, code, page, csrf=csrf)


async def _send_page(
    send: Send, request: _Request, code: int, page: str, *, csrf: str | None
) -> None:
    headers = [(b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"no-store")]
    if code == 401:
        headers.append((b"www-authenticate", b'Bearer realm="swarmfeed"'))
    if csrf:
        headers.append((b"set-cookie", _cookie(CSRF_COOKIE, csrf, secure=request.secure).encode()))
    await _send(send, request, code, page.encode(), headers)


async def _send(
    send: Send,
    request: _Request,
    code: int,
    body: bytes,
    headers: Sequence[tuple[bytes, bytes]],
) -> None:
    start = [*headers, (b"content-length", str(len(body)).encode())]
    start += _security_headers(request.path)
    await send({"type": "http.response.start", "status": code, "headers": start})
    await send({"type": "http.response.body", "body": body})


def _shell(title: str, content: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title} · swarmfeed</title>"
        '<link rel="stylesheet" href="/static/app.css"></head>'
        f'<body><main class="page narrow" id="main">{content}</main></body></html>'
    )


def _refusal_page(reason: str) -> str:
    return _shell(
        "Request refused",
        '<section class="card notice"><h1>Request refused</h1>'
        f"<p>{escape(reason[:1].upper() + reason[1:])}.</p>"
        "<p>Reload the page and try again.</p></section>",
    )


def _login_page(target: str, *, wrong: bool) -> str:
    """Return the page that asks a browser for the node's access token."""
    problem = (
        '<p class="error" role="alert">That is not this node\'s access token.</p>' if wrong else ""
    )
    return _shell(
        "Access token required",
        '<section class="card notice login"><h1>Access token required</h1>'
        "<p>This swarmfeed node is reachable from the network, so it asks for its access "
        "token before it shows anything.</p>"
        "<p>The token is in the file <code>web_token</code> in the node's home folder "
        "(<code>~/.swarmfeed/web_token</code> unless <code>--home</code> says otherwise), and "
        "the node printed it when it started, in the address that ends in "
        "<code>?token=…</code>.</p>"
        f"{problem}"
        f'<form method="post" action="{LOGIN_PATH}" class="login-form">'
        '<label for="token">Access token</label>'
        '<input id="token" name="token" type="password" class="mono" required '
        'autocomplete="current-password" autofocus>'
        f'<input type="hidden" name="next" value="{escape(safe_local_path(target))}">'
        '<button type="submit">Open</button></form></section>',
    )


async def _login_redirect(
    send: Send, request: _Request, target: str, token: str, csrf: str
) -> None:
    """Set the token cookie and redirect to ``target`` (a path on this node, made safe)."""
    location = safe_local_path(target)
    headers = [
        (b"location", location.encode("ascii")),
        (b"content-length", b"0"),
        (b"cache-control", b"no-store"),
        (b"set-cookie", _cookie(TOKEN_COOKIE, token, secure=request.secure).encode()),
        (b"set-cookie", _cookie(CSRF_COOKIE, csrf, secure=request.secure).encode()),
        *_security_headers(request.path),
    ]
    await send({"type": "http.response.start", "status": 303, "headers": headers})
    await send({"type": "http.response.body", "body": b""})
