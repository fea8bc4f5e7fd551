"""One KV-cache engine for eviction and selection papers: policies, the pruned cache, attention statistics and
long-context evaluation.

    from shared.kvcache import SinkWindow, HeavyHitter, TokenSelect, stream_nll, masked_nll, selection_nll
"""

from shared.kvcache.attention import attention_maps, sink_mass, sink_rate, topk_mass
from shared.kvcache.cache import (
    PolicyCache,
    gather_slots,
    kv_attention,
    policy_attention,
    rotary_inv_freq,
    rotate_keys,
)
from shared.kvcache.documents import kjv_documents
from shared.kvcache.evaluate import (
    StreamResult,
    decode_ms,
    generate,
    masked_nll,
    one_pass_logits,
    plant_fact,
    policy_nll,
    recompute_nll,
    selection_nll,
    stream_nll,
)
from shared.kvcache.policies import (
    POLICIES,
    FullCache,
    HeavyHitter,
    KVPolicy,
    RandomEviction,
    SinkWindow,
    TokenSelect,
)

__all__ = [
    "POLICIES", "FullCache", "HeavyHitter", "KVPolicy", "PolicyCache", "RandomEviction", "SinkWindow", "StreamResult",
    "TokenSelect", "attention_maps", "decode_ms", "gather_slots", "generate", "kjv_documents", "kv_attention",
    "masked_nll", "one_pass_logits", "plant_fact", "policy_attention", "policy_nll", "recompute_nll", "rotary_inv_freq", "rotate_keys",
    "selection_nll", "sink_mass", "sink_rate", "stream_nll", "topk_mass",
]  # fmt: skip
