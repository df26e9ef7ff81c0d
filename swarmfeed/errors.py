"""Exceptions raised across swarmfeed; each names why input was refused."""

from __future__ import annotations


class SwarmfeedError(Exception):
    """Base class of every error swarmfeed raises on purpose."""


class InvalidInput(SwarmfeedError, ValueError):
    """Input from a user or a peer that swarmfeed refuses (malformed, oversized, unsafe)."""


class BencodeError(InvalidInput):
    """Bytes that are not canonical, limited bencoding."""


class InvalidSignature(InvalidInput):
    """A signature that does not verify against the claimed key."""


class WrongAuthor(InvalidInput):
    """Signed data whose author is not the expected one."""


class RolledBack(InvalidInput):
    """A head or log that goes backwards: lower seq, replayed seq, rewritten history."""


class UnsafePath(InvalidInput):
    """A path that could escape its folder or is not portable."""


class TooLarge(InvalidInput):
    """Data over a protocol or configured size limit."""


class Superseded(SwarmfeedError):
    """A newer version of what was being fetched arrived; the fetch was abandoned for it."""


class NotFound(SwarmfeedError, LookupError):
    """A post, author, torrent or file that this node does not know."""


class CorruptData(SwarmfeedError):
    """Bytes from the swarm that failed their hash check (a peer sent something else)."""


class Busy(SwarmfeedError):
    """A bound on concurrent work is reached (too many streams or connections); retry later."""


class NotReady(SwarmfeedError):
    """Data the node is still fetching and did not get in time (the swarm may be slow)."""
