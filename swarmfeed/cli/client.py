"""A small HTTP client of the node's JSON API, used by the CLI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from swarmfeed.errors import SwarmfeedError


class ApiError(SwarmfeedError):
    """The node answered with an error, or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        """The HTTP status of the refusal; None when nothing answered."""


class NodeUnreachable(ApiError):
    """Nothing answered at the node's API address."""


class ApiClient:
    """Talks to a running node's /api endpoints."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    @classmethod
    def for_home(cls, home: Path, http: str, api: str | None, token: str | None) -> ApiClient:
        """Build a client for the node whose home is ``home`` (token read from its home)."""
        if token is None:
            token_file = home / "web_token"
            token = os.environ.get("SWARMFEED_TOKEN") or (
                token_file.read_text().strip() if token_file.exists() else None
            )
        host, _, port = http.rpartition(":")
        if host in ("0.0.0.0", "::", "[::]", ""):  # noqa: S104
            host = "127.0.0.1"
        return cls(api or f"http://{host}:{port}", token)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _send(
        self, method: str, path: str, *, expect: tuple[int, ...] = (), **kwargs: Any
    ) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise NodeUnreachable(
                f"cannot reach the node at {self.base_url} ({exc}); is `swarmfeed node` running?"
            ) from exc
        if response.status_code >= 400 and response.status_code not in expect:
            try:
                detail = response.json().get("detail", response.text)
            except (ValueError, AttributeError):
                detail = response.text
            raise ApiError(f"{response.status_code}: {detail}", response.status_code)
        return response

    def request(
        self, method: str, path: str, *, expect: tuple[int, ...] = (), **kwargs: Any
    ) -> Any:
        """Send a request and return the decoded JSON body, raising ApiError on failure.

        Statuses in ``expect`` are answers, not failures (e.g. 503 from /api/health).
        """
        response = self._send(method, path, expect=expect, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def text(self, path: str, **params: Any) -> str:
        """GET ``path`` and return its body as text."""
        return self._send("GET", path, params=params).text

    def download(self, path: str) -> tuple[bytes, httpx.Headers]:
        """GET ``path`` and return the raw body with the response headers."""
        response = self._send("GET", path)
        return response.content, response.headers

    def get(self, path: str, **params: Any) -> Any:
        """GET ``path`` with query ``params``."""
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def get_with_headers(self, path: str, **params: Any) -> tuple[Any, httpx.Headers]:
        """GET ``path`` with query ``params``; return the decoded JSON and the headers."""
        query = {k: v for k, v in params.items() if v is not None}
        response = self._send("GET", path, params=query)
        return response.json(), response.headers

    def find(self, path: str) -> Any:
        """GET ``path``; return the decoded JSON, or None when the node answers 404."""
        response = self._send("GET", path, expect=(404,))
        return None if response.status_code == 404 else response.json()

    def post_multipart(
        self, path: str, data: dict[str, str], files: list[tuple[str, Path]], timeout: float
    ) -> Any:
        """POST a multipart form; ``files`` are (field, path) pairs streamed from disk."""
        handles = [(field, (p.name, p.open("rb"))) for field, p in files]
        try:
            return self.request("POST", path, data=data, files=handles, timeout=timeout)
        finally:
            for _, (_, handle) in handles:
                handle.close()

    def iter_lines(self, path: str) -> Iterator[str]:
        """Stream a text/event-stream response line by line."""
        with self._http.stream("GET", path, timeout=None) as response:
            yield from response.iter_lines()
