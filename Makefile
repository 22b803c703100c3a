.PHONY: setup demo test lint bench eval

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
	.venv/bin/python -m benchmarks.suite

eval: setup  # the full golden sets, each retrieval mode, ragas metrics, reports and plots in build/eval
	HF_HUB_OFFLINE=1 .venv/bin/aiops eval run --set corpora/evals --mode all --out build/eval
