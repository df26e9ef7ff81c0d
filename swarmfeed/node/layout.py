"""Where a node keeps its files inside its home directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class HomeLayout:
    """Paths inside a node's home; the logs here are the truth, the database a view."""

    home: Path

    @property
    def key_file(self) -> Path:
        """Return the identity key file."""
        return self.home / "identity.key"

    @property
    def database(self) -> Path:
        """Return the SQLite index."""
        return self.home / "swarmfeed.db"

    @property
    def engine_state(self) -> Path:
        """Return the libtorrent engine's state folder (resume data)."""
        return self.home / "engine"

    @property
    def content(self) -> Path:
        """Return the folder holding one save path per torrent."""
        return self.home / "content"

    @property
    def staging(self) -> Path:
        """Return the scratch folder for uploads and torrents being created."""
        return self.home / "staging"

    @property
    def own_head(self) -> Path:
        """Return the author's own latest signed head item."""
        return self.home / "feed" / "head.bencode"

    @property
    def head_seq(self) -> Path:
        """Return the file holding the last BEP 44 seq this author signed."""
        return self.home / "feed" / "head_seq"

    @property
    def own_posts(self) -> Path:
        """Return the folder of the author's own signed posts, one file per seq (write-ahead)."""
        return self.home / "feed" / "posts"

    @property
    def follow_list(self) -> Path:
        """Return the file listing the followed authors (the follow list's truth)."""
        return self.home / "follows.json"

    @property
    def heads(self) -> Path:
        """Return the folder of followed authors' latest verified heads."""
        return self.home / "heads"

    @property
    def log_file(self) -> Path:
        """Return the node's log file."""
        return self.home / "node.log"

    def save_path(self, infohash: str) -> Path:
        """Return the save path of the torrent with v1 hex ``infohash``."""
        return self.content / infohash

    def head_file(self, author: str) -> Path:
        """Return where the latest verified head of ``author`` is kept."""
        return self.heads / f"{author}.bencode"
