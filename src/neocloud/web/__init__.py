"""The dashboard: server-rendered pages over the same services as the API and the CLI.

``router`` (a FastAPI ``APIRouter``, outside the OpenAPI document) serves every page and
its static files; the hosting app keeps the bootstrap ``App`` as ``state.neocloud``.
"""

from neocloud.web.pages import router

__all__ = ["router"]
