"""The ``swarmfeed`` command line."""
