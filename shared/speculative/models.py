"""Draft models built from a target: the first layers of the target with its own head (an early-exit draft)."""

import copy

import torch


def truncated_draft(model, n_layers: int):
    """A draft that runs the first `n_layers` decoder layers of `model`, then its final norm and LM head.

    The weights are shared with `model` (no copy); the draft's config says `n_layers`, so its KV cache has that many
    layers. Self-speculative decoding in the manner of LayerSkip / Draft & Verify, without their training or layer
    selection: the cheapest same-tokenizer draft a pretrained model gives.
    """
    # shallow copies with their own submodule dicts: assigning `layers` below must not touch the target
    draft = copy.copy(model)
    draft._modules = dict(model._modules)
    draft.model = copy.copy(model.model)
    draft.model._modules = dict(model.model._modules)
    draft.config = copy.deepcopy(model.config)
    draft.config.num_hidden_layers = n_layers
    if getattr(draft.config, "layer_types", None):
        draft.config.layer_types = draft.config.layer_types[:n_layers]
    draft.model.config = draft.config
    draft.model.layers = torch.nn.ModuleList(list(model.model.layers)[:n_layers])
    return draft
