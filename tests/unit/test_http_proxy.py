"""X-Forwarded-* believed only from trusted proxies (http/proxy.py), with the security gate."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from swarmfeed.http.proxy import ForwardedHeaders
from swarmfeed.http.security import SecurityMiddleware

TOKEN = "t0ken"


async def echo(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "client": request.client.host if request.client else None,
            "scheme": request.url.scheme,
            "host": request.headers.get("host"),
        }
    )


def make_client(trusted: list[str], client: tuple[str, int]) -> TestClient:
    app = Starlette(routes=[Route("/echo", echo), Route("/echo", echo, methods=["POST"])])
    app.add_middleware(
        SecurityMiddleware, needs_token=lambda scope: True, token=lambda scope: TOKEN
    )
    app.add_middleware(ForwardedHeaders, trusted=trusted)
    return TestClient(app, client=client, base_url="http://127.0.0.1:8080")


FORWARDED = {
    "x-forwarded-for": "198.51.100.7, 10.0.0.2",
    "x-forwarded-proto": "https",
    "x-forwarded-host": "feed.example.org",
    "authorization": f"Bearer {TOKEN}",
}


def test_a_trusted_proxy_names_client_scheme_and_host() -> None:
    client = make_client(["10.0.0.0/8"], ("10.0.0.1", 5000))
    seen = client.get("/echo", headers=FORWARDED).json()
    assert seen == {"client": "198.51.100.7", "scheme": "https", "host": "feed.example.org"}


def test_anyone_else_cannot_claim_to_be_someone() -> None:
    client = make_client(["10.0.0.0/8"], ("203.0.113.9", 5000))
    seen = client.get("/echo", headers=FORWARDED).json()
    assert seen == {"client": "203.0.113.9", "scheme": "http", "host": "127.0.0.1:8080"}
    untrusting = make_client([], ("10.0.0.1", 5000))
    assert untrusting.get("/echo", headers=FORWARDED).json()["client"] == "10.0.0.1"


def test_forged_hops_left_of_the_client_are_ignored() -> None:
    client = make_client(["10.0.0.0/8"], ("10.0.0.1", 5000))
    headers = {**FORWARDED, "x-forwarded-for": "1.2.3.4, 198.51.100.7"}
    assert client.get("/echo", headers=headers).json()["client"] == "198.51.100.7"
    bad = {**FORWARDED, "x-forwarded-host": "evil.example/ x", "x-forwarded-proto": "gopher"}
    seen = client.get("/echo", headers=bad).json()
    assert seen["host"] == "127.0.0.1:8080" and seen["scheme"] == "http"


def test_a_form_post_through_the_proxy_passes_the_origin_check() -> None:
    client = make_client(["10.0.0.0/8"], ("10.0.0.1", 5000))
    browser = {k: v for k, v in FORWARDED.items() if k != "authorization"}
    login = client.get(f"/echo?token={TOKEN}", headers=browser, follow_redirects=False)
    assert login.status_code == 303
    cookies = login.headers.get_list("set-cookie")
    assert cookies and all("Secure" in c for c in cookies)
    token_cookie, csrf = (c.split(";")[0].split("=", 1)[1] for c in cookies)
    headers = {k: v for k, v in FORWARDED.items() if k != "authorization"} | {
        "origin": "https://feed.example.org",
        "cookie": f"swarmfeed_token={token_cookie}; swarmfeed_csrf={csrf}",
        "x-csrf-token": csrf,
    }
    assert client.post("/echo", headers=headers).status_code == 200
    # Without the proxy's host the same browser's Origin does not match.
    direct = make_client([], ("10.0.0.1", 5000))
    assert direct.post("/echo", headers=headers).status_code == 403
