"""Documents for people and other programs (invoice HTML, CSV, JSON): standard library only,
shared by the CLI and, later, the API and dashboard."""
