"""HTTP plumbing shared by the JSON API and the web pages: security, limits, uploads, errors."""
