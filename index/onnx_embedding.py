"""Dense embeddings on ONNX Runtime: the same sentence-transformers model, exported once (offline, from its local
weights) into the data folder with mean pooling and normalization inside the graph, optionally with its weights
quantized to int8 (onnxruntime's dynamic quantization).

Only what all-MiniLM-style models are is supported: a BERT-family transformer, mean pooling, L2 normalization; any
other module layout is refused with the reason, rather than exported into something that embeds differently.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ConfigurationError
from index.embedding import TokenizedModel, Vectors

log = logging.getLogger(__name__)

_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_SUPPORTED_MODULES = [
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
]


class OnnxEmbedder(TokenizedModel):
    """The model run by ONNX Runtime on the CPU; exported (and quantized) on first use, then loaded from the cache."""

    def __init__(
        self,
        model: str,
        cache_dir: Path,
        quantized: bool = False,
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        super().__init__(model)
        _check_layout(self.path)
        self.quantized = quantized
        # int8 vectors are not the float model's: a name of their own keeps them in a collection of their own
        self.name = f"{self.name}-int8" if quantized else self.name
        self._file = cache_dir / f"{Path(model).name}-{_fingerprint(self.path)}-{'int8' if quantized else 'fp32'}.onnx"
        self._batch_size = batch_size
        self._threads = threads
        self._session: Any = None
        self._lock = threading.Lock()
        self._max_tokens = int(_json(self.path / "sentence_bert_config.json").get("max_seq_length", 512))

    def _loaded(self) -> Any:
        with self._lock:
            if self._session is None:
                import onnxruntime as ort

                if not self._file.is_file():
                    export(self.path, self._file, self.quantized)
                options = ort.SessionOptions()
                options.intra_op_num_threads = self._threads or os.cpu_count() or 1
                options.inter_op_num_threads = 1
                options.log_severity_level = 3  # errors only
                self._session = ort.InferenceSession(str(self._file), options, providers=["CPUExecutionProvider"])
                log.info("loaded embedding model %s on ONNX Runtime from %s", self.name, self._file)
            return self._session

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Unit-length vectors, one row per text (batches of similar lengths, as sentence-transformers does)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        session = self._loaded()
        encodings = self.tokenizer.encode_batch(list(texts))  # with special tokens, as the model was trained
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            pieces = [encodings[i] for i in rows]
            width = min(max(len(e.ids) for e in pieces), self._max_tokens)
            feed = {name: np.zeros((len(rows), width), dtype=np.int64) for name in _INPUTS}
            for r, e in enumerate(pieces):
                n = min(len(e.ids), width)
                ids = e.ids[: n - 1] + [e.ids[-1]] if len(e.ids) > width else e.ids  # truncated: keep [SEP] last
                feed["input_ids"][r, :n] = ids
                feed["attention_mask"][r, :n] = 1
                feed["token_type_ids"][r, :n] = e.type_ids[:n]
            out[rows] = session.run(None, feed)[0]
        return out


def export(model_path: Path, target: Path, quantized: bool) -> Path:
    """Export the model (transformer, mean pooling, normalization) to ONNX at ``target``, int8 weights when
    ``quantized``; written to a temporary file first, so a crash never leaves half a model in the cache."""
    import torch
    from transformers import AutoModel

    target.parent.mkdir(parents=True, exist_ok=True)

    class Pooled(torch.nn.Module):
        """The transformer's token vectors, mean-pooled over the mask and L2-normalized (sentence-transformers'
        Pooling + Normalize, inside the graph)."""

        def __init__(self, transformer: Any) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            tokens = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    transformer = AutoModel.from_pretrained(str(model_path), local_files_only=True, attn_implementation="eager")
    graph = Pooled(transformer).eval()
    example = (
        torch.randint(1000, 2000, (2, 16)),
        torch.tensor([[1] * 16, [1] * 10 + [0] * 6]),  # a padded row: the mask must not be traced away
        torch.zeros(2, 16, dtype=torch.long),
    )
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq")
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        plain = Path(tmp) / "model.onnx"
        with warnings.catch_warnings(), _quiet("torch.onnx", "torch.export", "onnxscript"):
            warnings.simplefilter("ignore")  # the exporter's notes on axis names and deprecations in its own code
            torch.onnx.export(
                graph,
                example,
                str(plain),
                input_names=list(_INPUTS),
                dynamic_shapes=({0: batch, 1: seq},) * 3,
                dynamo=True,
                external_data=False,
                verbose=False,
            )
        built = plain
        if quantized:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            built = Path(tmp) / "model-int8.onnx"
            with _quiet("root"):
                # per-channel int8 weights of the matrix products only: cosine 0.994 to the float model's vectors on
                # the sample corpus (per-tensor, or every op: 0.94)
                quantize_dynamic(
                    str(plain),
                    str(built),
                    weight_type=QuantType.QInt8,
                    per_channel=True,
                    op_types_to_quantize=["MatMul"],
                )
        os.replace(built, target)
    log.info("exported %s to %s%s", model_path.name, target, " (int8)" if quantized else "")
    return target


class _quiet:  # noqa: N801 - a context manager read as a phrase
    """Raise these loggers to ERROR for a while (the exporter and quantizer log advice as warnings)."""

    def __init__(self, *names: str) -> None:
        self.loggers = [logging.getLogger(n if n != "root" else None) for n in names]
        self.levels: list[int] = []

    def __enter__(self) -> None:
        self.levels = [lg.level for lg in self.loggers]
        for lg in self.loggers:
            lg.setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        for lg, level in zip(self.loggers, self.levels, strict=True):
            lg.setLevel(level)


def _fingerprint(path: Path) -> str:
    """Names the model's files as they are (size and time of each): a reinstalled or changed model is exported anew."""
    stats = sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in path.iterdir() if f.is_file())
    return hashlib.sha256(repr(stats).encode()).hexdigest()[:12]


def _check_layout(path: Path) -> None:
    modules = [m.get("type") for m in json.loads((path / "modules.json").read_text())]
    pooling = _json(path / "1_Pooling" / "config.json")
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode_") and v}
    if modules != _SUPPORTED_MODULES or modes != {"pooling_mode_mean_tokens"}:
        raise ConfigurationError(
            f"the ONNX backend runs transformer + mean pooling + normalization models; {path.name} has "
            f"{', '.join(str(m).rsplit('.', 1)[-1] for m in modules)} with {', '.join(sorted(modes)) or 'no pooling'}"
        )


def _json(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text())) if path.is_file() else {}
