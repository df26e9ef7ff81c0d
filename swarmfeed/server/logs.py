"""The node's log: stderr and a rotating file in its home, with repeated lines held back.

``log_format = "json"`` writes one JSON object per line (``time``, ``level``, ``logger``,
``message``, and ``exception`` with the traceback), for journald, Docker and log collectors.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.handlers
import sys
import time
from collections.abc import Callable

from swarmfeed.core.repeats import RepeatGate
from swarmfeed.node.config import Settings
from swarmfeed.node.layout import HomeLayout

LOG_FILE_BYTES = 5 * 1024 * 1024
LOG_FILE_BACKUPS = 3
_DECIDED = "swarmfeed_repeat_passed"


class RepeatFilter(logging.Filter):
    """Hold back a log line that repeats (same logger, level and message template) too often.

    A flood (a refused connection per second, "Too many open files" from the accept loop)
    would otherwise fill the disk and rotate every older line out of the log file.
    """

    def __init__(self, gate: RepeatGate, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.gate = gate
        self.clock = clock

    def filter(self, record: logging.LogRecord) -> bool:
        """Return False for a line held back; note the count on the next one let through.

        One filter serves several handlers: the decision is made once per record.
        """
        decided = record.__dict__.get(_DECIDED)
        if decided is not None:
            return bool(decided)
        key = (record.name, record.levelno, str(record.msg)[:200])
        passed, held = self.gate.admit(key, self.clock())
        if passed and held:
            record.msg = f"{record.getMessage()} (and {held} more like it held back)"
            record.args = None
        record.__dict__[_DECIDED] = passed
        return passed


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """Return ``record`` as a single line of JSON."""
        line: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def formatter_for(log_format: str) -> logging.Formatter:
    """Return the formatter of ``log_format`` (``text`` or ``json``)."""
    if log_format == "json":
        return JsonFormatter()
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


def configure_logging(settings: Settings) -> None:
    """Log to stderr and to a rotating file in the node's home, both behind one RepeatFilter."""
    layout = HomeLayout(settings.home)
    layout.home.mkdir(parents=True, exist_ok=True)
    formatter = formatter_for(settings.log_format)
    repeats = RepeatFilter(RepeatGate())
    root = logging.getLogger()
    root.setLevel(settings.log_level.upper())
    for handler in list(root.handlers):
        root.removeHandler(handler)
    console = logging.StreamHandler(sys.stderr)
    file_handler = logging.handlers.RotatingFileHandler(
        layout.log_file, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_BACKUPS
    )
    for handler in (console, file_handler):
        handler.setFormatter(formatter)
        handler.addFilter(repeats)
        root.addHandler(handler)
