"""The security middleware in front of the API and the pages, on a tiny ASGI app."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from swarmfeed.http.security import (
    CSRF_COOKIE,
    TOKEN_COOKIE,
    SecurityMiddleware,
    host_is_local_name,
)

TOKEN = "s3cret-token"
BASE = "http://127.0.0.1:8080"


async def echo(request: Request) -> PlainTextResponse:
    body = await request.body()
    return PlainTextResponse(f"{request.method} {request.url.path} {len(body)}")


def make_client(*, gated: bool) -> TestClient:
    app = Starlette(
        routes=[
            Route("/", echo, methods=["GET", "POST"]),
            Route("/api/thing", echo, methods=["GET", "POST"]),
            Route("/api/media/x/y", echo),
            Route("/static/app.css", echo),
        ]
    )
    wrapped = SecurityMiddleware(app, needs_token=lambda scope: gated, token=lambda scope: TOKEN)
    return TestClient(wrapped, base_url=BASE, follow_redirects=False)


def test_open_node_sets_headers_and_a_csrf_cookie_on_pages() -> None:
    client = make_client(gated=False)
    page = client.get("/")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert CSRF_COOKIE in page.cookies
    media = client.get("/api/media/x/y")
    assert media.headers["content-security-policy"].startswith("sandbox")


def test_open_node_refuses_dns_names_and_cross_site_writes() -> None:
    client = make_client(gated=False)
    assert client.get("/", headers={"host": "evil.example"}).status_code == 421
    assert client.get("/", headers={"host": "localhost:8080"}).status_code == 200
    assert client.post("/api/thing", headers={"origin": "http://evil.example"}).status_code == 403
    assert client.post("/api/thing", headers={"origin": "null"}).status_code == 403
    assert client.post("/api/thing", headers={"sec-fetch-site": "cross-site"}).status_code == 403
    assert client.post("/api/thing", headers={"origin": BASE}).status_code == 200
    assert client.post("/api/thing").status_code == 200  # curl and the CLI send no Origin


def test_gate_refuses_requests_without_the_token() -> None:
    client = make_client(gated=True)
    refused = client.get("/api/thing")
    assert refused.status_code == 401
    assert refused.json() == {"detail": "an access token is required"}
    assert refused.headers["www-authenticate"].startswith("Bearer")
    page = client.get("/", headers={"accept": "text/html"})
    assert page.status_code == 401 and "Access token required" in page.text
    assert client.get("/api/thing", headers={"authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/?token=wrong").status_code == 401
    assert client.get("/static/app.css").status_code == 200  # assets carry no secrets


def test_bearer_token_passes_without_csrf() -> None:
    client = make_client(gated=True)
    auth = {"authorization": f"Bearer {TOKEN}"}
    assert client.get("/api/thing", headers=auth).status_code == 200
    assert client.post("/api/thing", headers=auth, content=b"x").status_code == 200


def test_token_in_the_url_becomes_a_cookie_and_leaves_the_url() -> None:
    client = make_client(gated=True)
    login = client.get(f"/?token={TOKEN}&before=5")
    assert login.status_code == 303
    assert login.headers["location"] == "/?before=5"
    assert login.cookies[TOKEN_COOKIE] == TOKEN
    cookies = login.headers.get_list("set-cookie")
    assert all("HttpOnly" in c and "SameSite=Strict" in c for c in cookies)
    assert client.get("/").status_code == 200  # the cookie now authenticates


def test_cookie_authenticated_writes_need_the_csrf_token() -> None:
    client = make_client(gated=True)
    client.get(f"/?token={TOKEN}")
    csrf = client.cookies[CSRF_COOKIE]
    assert client.post("/api/thing").status_code == 403
    assert client.post("/api/thing", headers={"x-csrf-token": "wrong"}).status_code == 403
    assert client.post("/api/thing", headers={"x-csrf-token": csrf}).status_code == 200
    form = client.post("/", data={"csrf_token": csrf, "author": "x"})
    assert form.status_code == 200 and form.text.endswith(str(len(f"csrf_token={csrf}&author=x")))
    assert client.post(f"/?csrf_token={csrf}", files={"f": ("a", b"data")}).status_code == 200
    assert client.post("/", data={"csrf_token": "wrong"}).status_code == 403


def test_local_host_names() -> None:
    for host in ("127.0.0.1:8080", "localhost", "app.localhost:1", "[::1]:8080", "10.0.0.2"):
        assert host_is_local_name(host), host
    for host in ("example.org", "evil.example:8080", "127.0.0.1.nip.io"):
        assert not host_is_local_name(host), host


def test_browsers_without_the_token_get_a_login_page_api_clients_json() -> None:
    client = make_client(gated=True)
    page = client.get("/?before=5", headers={"accept": "text/html"})
    assert page.status_code == 401
    assert page.headers["content-type"].startswith("text/html")
    assert "web_token" in page.text and 'action="/login"' in page.text
    assert 'name="next" value="/?before=5"' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    api = client.get("/api/thing", headers={"accept": "text/html"})
    assert api.status_code == 401 and api.json() == {"detail": "an access token is required"}


def test_the_login_form_sets_the_cookie_and_returns_to_a_local_page() -> None:
    client = make_client(gated=True)
    wrong = client.post("/login", data={"token": "nope", "next": "/"})
    assert wrong.status_code == 401 and "not this node" in wrong.text
    assert TOKEN_COOKIE not in client.cookies
    for given, location in [
        ("/?before=5", "/?before=5"),
        ("//evil.com", "/evil.com"),
        ("/\t/evil.com", "/%09/evil.com"),
        ("https://evil.com/", "/"),
    ]:
        client.cookies.clear()
        login = client.post("/login", data={"token": TOKEN, "next": given})
        assert login.status_code == 303, given
        assert login.headers["location"] == location
        assert login.cookies[TOKEN_COOKIE] == TOKEN
    assert client.get("/").status_code == 200


def test_a_login_from_another_site_is_refused() -> None:
    client = make_client(gated=True)
    refused = client.post(
        "/login", data={"token": TOKEN}, headers={"origin": "http://evil.example"}
    )
    assert refused.status_code == 403


def test_the_token_in_a_url_redirects_only_within_this_node() -> None:
    client = make_client(gated=True)
    for path, location in [
        ("/%09/evil.com", "/%09/evil.com"),
        ("/%5C%5Cevil.com", "/evil.com"),
        ("/%C3%BC", "/%C3%BC"),  # a non-Latin-1 path, sent percent-encoded
    ]:
        client.cookies.clear()
        login = client.get(f"{path}?token={TOKEN}")
        assert login.status_code == 303, path
        assert login.headers["location"] == location


def test_a_malformed_origin_is_cross_site_not_a_crash() -> None:
    client = make_client(gated=False)
    assert client.post("/api/thing", headers={"origin": "http://[::1"}).status_code == 403
