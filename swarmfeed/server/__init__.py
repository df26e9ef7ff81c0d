"""The HTTP server around a node: the app (API + pages + shared plumbing) and its runner."""
