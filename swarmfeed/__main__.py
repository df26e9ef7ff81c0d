"""Run the CLI with ``python -m swarmfeed``."""

from swarmfeed.cli.main import main

main()
