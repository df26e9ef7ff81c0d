"""What ``swarmfeed node``'s exit code means, so systemd, Docker and scripts can act on it.

The numbers are the BSD ``sysexits.h`` codes where one fits (systemd documents the same
values); a supervisor should not restart on CONFIG, DATA, NO_PERMISSION or CANT_CREATE (a
person must fix something first: ``RestartPreventExitStatus=65 73 77 78``), and may restart on
the rest. docs/operators.md lists them.
"""

from __future__ import annotations

import enum
import errno

from swarmfeed.errors import InvalidInput
from swarmfeed.server.runner import ListenError
from swarmfeed.store import keystore
from swarmfeed.store.sqlite import DatabaseError


class ExitCode(enum.IntEnum):
    """Exit codes of ``swarmfeed node`` (and ``swarmfeed health``: OK or FAILURE)."""

    OK = 0
    """Stopped on SIGTERM or SIGINT after flushing everything (or: healthy)."""
    FAILURE = 1
    """An unexpected internal error (a bug: the log has the traceback), or: unhealthy."""
    USAGE = 2
    """Unknown command or option (click's own code)."""
    DATA = 65
    """Something in the data directory cannot be read: a damaged key file or index."""
    UNAVAILABLE = 69
    """An address could not be bound (the HTTP or BitTorrent port is in use)."""
    CANT_CREATE = 73
    """The data directory cannot be created or written (check the volume's owner)."""
    NO_PERMISSION = 77
    """The key is sealed and no passphrase (or a wrong one) was given: set
    SWARMFEED_PASSPHRASE."""
    CONFIG = 78
    """The settings are invalid (a flag, a SWARMFEED_* variable or config.toml)."""


def exit_code_for(error: BaseException) -> ExitCode:
    """Return the exit code that says what kind of failure ``error`` is."""
    if isinstance(error, ListenError):
        return ExitCode.UNAVAILABLE
    if isinstance(error, keystore.PassphraseRequired | keystore.WrongPassphrase):
        return ExitCode.NO_PERMISSION
    if isinstance(error, DatabaseError):
        return ExitCode.DATA
    if isinstance(error, OSError):
        if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC):
            return ExitCode.CANT_CREATE
        if error.errno == errno.EADDRINUSE:
            return ExitCode.UNAVAILABLE
        return ExitCode.DATA
    if isinstance(error, InvalidInput):
        return ExitCode.DATA
    return ExitCode.FAILURE
