"""The libtorrent engine: the only part of swarmfeed that imports libtorrent."""
