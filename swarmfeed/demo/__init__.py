"""``swarmfeed demo``: a private loopback swarm that shows what swarmfeed is for."""
