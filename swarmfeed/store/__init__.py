"""Persistence drivers: atomic files, the identity key file, the SQLite view."""
