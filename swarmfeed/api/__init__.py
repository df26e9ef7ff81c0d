"""The HTTP JSON API (FastAPI): the stable contract the CLI, the web UI and tests drive."""
