.PHONY: setup demo test lint bench

setup:
	./scripts/setup

demo: setup
	./scripts/demo

test: setup
	./scripts/system-packages
	.venv/bin/python -m pytest
	.venv/bin/python -m pytest -m 'slow or live or browser' || [ $$? -eq 5 ]  # 5: none collected; live ones skip without an endpoint

lint: setup
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

bench: setup
	.venv/bin/python benchmarks/ingest_search.py
	.venv/bin/python benchmarks/ask.py
	.venv/bin/python benchmarks/serve.py
