"""swarmfeed's small BEP 44 client: KRPC messages (krpc) and an asyncio UDP driver (client).

libtorrent's Python binding signs mutable items itself and stores ``v`` as a string, so it
cannot publish a BEP 46 dict nor re-put an item someone else signed (docs/architecture.md).
"""
