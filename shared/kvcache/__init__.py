"""One KV-cache engine for eviction and selection papers: policies, the pruned cache, attention statistics and
long-context evaluation.

    from shared.kvcache import SinkWindow, HeavyHitter, stream_nll, masked_nll, attention_maps
"""

from shared.kvcache.attention import attention_maps, sink_mass, sink_rate, topk_mass
from shared.kvcache.cache import PolicyCache, gather_slots, kv_attention, rotary_inv_freq, rotate_keys
from shared.kvcache.documents import kjv_documents
from shared.kvcache.evaluate import (
    StreamResult,
    decode_ms,
    generate,
    masked_nll,
    plant_fact,
    recompute_nll,
    stream_nll,
)
from shared.kvcache.policies import POLICIES, FullCache, HeavyHitter, KVPolicy, RandomEviction, SinkWindow

__all__ = [
    "POLICIES", "FullCache", "HeavyHitter", "KVPolicy", "PolicyCache", "RandomEviction", "SinkWindow", "StreamResult",
    "attention_maps", "decode_ms", "gather_slots", "generate", "kjv_documents", "kv_attention", "masked_nll", "plant_fact", "recompute_nll",
    "rotary_inv_freq", "rotate_keys", "sink_mass", "sink_rate", "stream_nll", "topk_mass",
]  # fmt: skip
