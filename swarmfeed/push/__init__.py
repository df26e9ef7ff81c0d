"""The push channel (protocol.md §11): new signed heads reach followers within a second.

``udp`` is the socket behind a small ``Datagrams`` seam, ``rpc`` the request/reply layer with
the speed bumps, ``holder`` serves subscribers, ``link`` keeps one followed author's parents,
``rendezvous`` finds holders through the DHT and ``service`` is the front the node uses. The
decisions themselves are pure and live in ``swarmfeed.core.push``.
"""
