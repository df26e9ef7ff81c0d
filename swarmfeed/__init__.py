"""swarmfeed: signed feeds as torrents, found through the mainline DHT, seeded by every follower."""

__version__ = "0.1.0"
