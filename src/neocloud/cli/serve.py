"""``neocloud serve``: the REST API (and, when it lands, the dashboard) over HTTP (uvicorn)."""

import typer

from neocloud.cli.output import console, handles_errors, make_app


@handles_errors
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
) -> None:
    """Serve the REST API at http://HOST:PORT/v1 (OpenAPI at /openapi.json; docs/API.md)."""
    import uvicorn

    from neocloud.api.app import create_app

    app = make_app()
    app.require_database()
    console().print(f"neocloud API on http://{host}:{port}/v1 (OpenAPI: /openapi.json)")
    try:
        uvicorn.run(create_app(app), host=host, port=port, log_level="info")
    finally:
        app.close()
