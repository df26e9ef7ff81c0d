"""Node settings: command-line flags > environment (SWARMFEED_*) > TOML file > defaults."""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from swarmfeed.core.budget import (
    DEFAULT_ACTIVE,
    DEFAULT_AUTHOR_BYTES,
    DEFAULT_MAX_POST_BYTES,
    FetchBudget,
)
from swarmfeed.core.feed import MAX_PROFILE_BIO_BYTES, MAX_PROFILE_NAME_BYTES
from swarmfeed.core.identity import parse_author
from swarmfeed.core.policy import SeedPolicy
from swarmfeed.core.sync import DEFAULT_MAX_POSTS
from swarmfeed.core.units import parse_size
from swarmfeed.errors import InvalidInput

Size = Annotated[int, BeforeValidator(parse_size), Field(ge=0)]
"""A byte count; settings also take ``512 MiB``, ``50 GB`` and the like."""

DEFAULT_HOME = Path.home() / ".swarmfeed"
CONFIG_FILE_NAME = "config.toml"


def parse_endpoint(text: str, field: str = "address") -> tuple[str, int]:
    """Parse ``HOST:PORT`` (``[v6]:PORT`` for IPv6) into a host and a port."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise InvalidInput(f"{field} must look like HOST:PORT, got {text!r}")
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise InvalidInput(f"{field} port {port} is out of range")
    return host.strip("[]"), port


def is_loopback(host: str) -> bool:
    """Return True when ``host`` names a loopback address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """Everything a node can be configured with; see ``swarmfeed node --help``."""

    model_config = SettingsConfigDict(env_prefix="SWARMFEED_", extra="forbid")

    home: Path = DEFAULT_HOME
    listen: str = "0.0.0.0:6881"
    http: str = "127.0.0.1:8080"
    bootstrap: list[str] = Field(default_factory=list)
    public_dht: bool = True
    poll_interval: float = 300.0
    poll_jitter: float = 0.2
    republish_interval: float = 1800.0
    upload_rate_limit: int = 0
    download_rate_limit: int = 0
    rate_limit_local_peers: bool = False
    max_upload_bytes: int = 2 * 1024**3
    web_token: str | None = None
    require_token: bool = False
    seed_policy: SeedPolicy = SeedPolicy.ADAPTIVE
    super_seed_new_media: bool = False
    """Deprecated alias of ``seed_policy = "super"``."""
    log_level: str = "INFO"
    push_port: int | None = Field(default=None, ge=0, le=65535)
    """UDP port of the push channel; None: the BitTorrent listen port + 1; 0: any free port."""
    push_max_children: int = Field(default=8, ge=1, le=64)
    """Subscribers accepted per author: the fan-out of every new head (protocol.md §11)."""
    notices_from: Literal["everyone", "followed"] = "everyone"
    """Whose notices (replies, reposts, mentions, likes) are taken: ``followed`` refuses the
    rest (protocol.md §11.8)."""
    profile_name: str = ""
    profile_bio: str = ""
    auto_fetch_max_bytes: Size = DEFAULT_MAX_POST_BYTES
    """Largest media bundle of a followed author fetched without anyone opening it."""
    author_fetch_bytes: Size = DEFAULT_AUTHOR_BYTES
    """Media bytes held per followed author (the newest and most requested are kept; older
    media is evicted to make room, and fetched again when opened)."""
    author_budgets: dict[str, Size] = Field(default_factory=dict)
    """Per-author budgets instead of ``author_fetch_bytes``, by address or hex key."""
    storage_budget_bytes: Size = 0
    """Media bytes the node holds in all (own, mirrored, followed); 0: no limit. Followed
    media is evicted least valuable first to stay within it (docs/operators.md)."""
    serve_scarce_first: bool = True
    """Give upload first to swarms with the fewest other seeds (core/serving.py)."""
    log_format: Literal["text", "json"] = "text"
    """``json``: one JSON object per log line (for log collectors), ``text`` for people."""
    trusted_proxies: list[str] = Field(default_factory=list)
    """Addresses or networks (CIDR) of reverse proxies whose ``X-Forwarded-For``,
    ``X-Forwarded-Proto`` and ``X-Forwarded-Host`` are believed; with any, the web UI and API
    ask for the access token (docs/operators.md)."""
    fetch_slots: int = Field(default=DEFAULT_ACTIVE, ge=1, le=64)
    """Back-catalogue media fetches running at once (fresh and opened media may use more)."""
    max_posts_per_author: int = Field(default=DEFAULT_MAX_POSTS, ge=1)
    """A followed feed whose head claims more posts than this is refused."""
    fault_point: str | None = None
    """Testing only: kill the process with SIGKILL after this step (node/faults.py)."""

    @field_validator("listen", "http")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        parse_endpoint(value)
        return value

    @field_validator("profile_name", "profile_bio")
    @classmethod
    def _profile(cls, value: str, info: ValidationInfo) -> str:
        limit = (
            MAX_PROFILE_NAME_BYTES if info.field_name == "profile_name" else MAX_PROFILE_BIO_BYTES
        )
        if len(value.encode("utf-8")) > limit:
            raise ValueError(f"at most {limit} bytes of UTF-8")
        return value

    @field_validator("author_budgets")
    @classmethod
    def _author_budgets(cls, value: dict[str, int]) -> dict[str, int]:
        return {parse_author(key).hex(): size for key, size in value.items()}

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return [item.strip() for item in value]

    @field_validator("bootstrap")
    @classmethod
    def _bootstrap(cls, value: list[str]) -> list[str]:
        for item in value:
            parse_endpoint(item, "bootstrap node")
        return value

    @property
    def listen_endpoint(self) -> tuple[str, int]:
        """Return the BitTorrent/DHT address."""
        return parse_endpoint(self.listen)

    @property
    def push_endpoint(self) -> tuple[str, int]:
        """Return the push channel's UDP address (the listen host; port as ``push_port`` says)."""
        host, port = self.listen_endpoint
        if host in ("", "0.0.0.0", "::"):  # noqa: S104 - the node listens on every address
            host = "0.0.0.0"  # noqa: S104
        if self.push_port is not None:
            return host, self.push_port
        return host, port + 1 if 0 < port < 65535 else 0

    @property
    def http_endpoint(self) -> tuple[str, int]:
        """Return the HTTP API address."""
        return parse_endpoint(self.http)

    @property
    def bootstrap_nodes(self) -> tuple[tuple[str, int], ...]:
        """Return the configured DHT bootstrap nodes."""
        return tuple(parse_endpoint(item, "bootstrap node") for item in self.bootstrap)

    @property
    def effective_seed_policy(self) -> SeedPolicy:
        """Return the seeding policy (``super_seed_new_media`` forces the super policy)."""
        return SeedPolicy.SUPER if self.super_seed_new_media else self.seed_policy

    @property
    def fetch_budget(self) -> FetchBudget:
        """Return the limits on media fetched without a person asking."""
        return FetchBudget(
            max_post_bytes=self.auto_fetch_max_bytes,
            author_bytes=self.author_fetch_bytes,
            active=self.fetch_slots,
            total_bytes=self.storage_budget_bytes,
            authors=dict(self.author_budgets),
        )

    @property
    def needs_token(self) -> bool:
        """Return True when the web UI must be gated: bound beyond loopback, or asked to."""
        return (
            self.require_token
            or bool(self.trusted_proxies)
            or not is_loopback(self.http_endpoint[0])
        )

    @classmethod
    def load(cls, config_file: Path | None = None, **flags: Any) -> Settings:
        """Build settings from flags (None values ignored), environment and a TOML file.

        The TOML file is ``config_file`` or ``<home>/config.toml`` when it exists; its keys are
        the field names (``listen = "0.0.0.0:6881"``).
        """
        given = {key: value for key, value in flags.items() if value is not None}
        env_home = Path(given.get("home") or os.environ.get("SWARMFEED_HOME") or DEFAULT_HOME)
        path = config_file or env_home.expanduser() / CONFIG_FILE_NAME
        from_file: dict[str, Any] = {}
        if path.exists():
            try:
                from_file = tomllib.loads(path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise InvalidInput(f"{path}: {exc}") from exc
        elif config_file is not None:
            raise InvalidInput(f"config file {config_file} does not exist")
        try:
            from_env = cls().model_dump(exclude_unset=True)
            settings = cls(**{**from_file, **from_env, **given})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise InvalidInput(f"invalid settings: {problems}") from exc
        settings.home = settings.home.expanduser()
        return settings
