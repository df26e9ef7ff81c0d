"""What the CLI's commands share: consoles, the node-address options, errors and exits."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console

from swarmfeed.cli.client import ApiClient
from swarmfeed.cli.exits import ExitCode
from swarmfeed.node.config import DEFAULT_HOME, Settings

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

home_option = click.option(
    "--home",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="SWARMFEED_HOME",
    default=DEFAULT_HOME,
    show_default=True,
    help="Data directory of the node.",
)
api_option = click.option(
    "--api", envvar="SWARMFEED_API", default=None, help="Node API URL (default: from --http)."
)
http_option = click.option(
    "--http", envvar="SWARMFEED_HTTP", default=None, help="Node HTTP address IP:PORT."
)


def client_for(home: Path, http: str | None, api: str | None) -> ApiClient:
    """Return a client of the node the options point at (README: how the CLI finds it)."""
    settings = Settings.load(home=home, http=http)
    return ApiClient.for_home(settings.home, settings.http, api, None)


def describe(error: BaseException, home: Path) -> str:
    """Say what went wrong, naming the file of an OS error."""
    if isinstance(error, OSError) and error.strerror:
        return f"{error.filename or home}: {error.strerror}"
    return str(error)


def stop(message: str, code: ExitCode) -> NoReturn:
    """Print ``message`` and exit with ``code`` (docs/operators.md lists the codes)."""
    err_console.print(f"Error: {message}", markup=False, highlight=False)
    sys.exit(int(code))
