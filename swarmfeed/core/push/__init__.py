"""The push channel's pure logic: wire format, address tokens, limits, subscriptions, parents.

Nothing here touches a socket, a file or a clock: time is passed in. The UDP driver and the
service that runs these pieces live in ``swarmfeed.push`` (docs/protocol.md §11).
"""
