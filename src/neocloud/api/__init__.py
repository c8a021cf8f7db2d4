"""The REST API (FastAPI): the same services as the CLI, over HTTP (docs/API.md)."""
