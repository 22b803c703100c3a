"""The HTTP service (FastAPI): `aiops serve`."""
