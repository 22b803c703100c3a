"""The portal's pages: server-side templates for the frame of each page, with small JavaScript modules that call the
API with the API key kept in the browser session. Every asset is served here (no CDN); the pages hold no data, so they
need no credential: what a page shows comes from API calls that do."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

HERE = Path(__file__).parent
STATIC = HERE / "static"
_templates = Jinja2Templates(directory=HERE / "templates")  # .html templates autoescape

# the asset version in every URL: a new release is never served from a stale cache
VERSION = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(STATIC.iterdir()) if p.is_file())).hexdigest()[:12]

# name -> (template, script, title)
_PAGES = {
    "chat": ("chat.html", "chat", "Ask"),
    "sources": ("sources.html", "admin", "Sources"),
    "audit": ("audit.html", "admin", "Audit log"),
}

pages = APIRouter(include_in_schema=False)


def _page(request: Request, name: str) -> HTMLResponse:
    template, script, title = _PAGES[name]
    context = {"page": name, "script": script, "title": title, "version": VERSION}
    return _templates.TemplateResponse(request, template, context, headers={"Cache-Control": "no-cache"})


@pages.get("/", response_class=HTMLResponse)
async def chat(request: Request) -> HTMLResponse:
    """Ask, read the streamed, cited answer, open its sources, give feedback, resume conversations."""
    return _page(request, "chat")


@pages.get("/admin/sources", response_class=HTMLResponse)
async def sources(request: Request) -> HTMLResponse:
    """What is indexed per type, the last sync, and ingestion jobs with their progress (admins)."""
    return _page(request, "sources")


@pages.get("/admin/audit", response_class=HTMLResponse)
async def audit(request: Request) -> HTMLResponse:
    """The organization's audit log (admins)."""
    return _page(request, "audit")


def mount_portal(app: FastAPI) -> None:
    """The pages at ``/`` and ``/admin/*``, the assets at ``/static``."""
    app.include_router(pages)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
