# %% [markdown]
# # H2O (arXiv:2306.14048): a KV cache of heavy hitters plus recent tokens keeps quality at 20% of the memory
#
# Zhang et al., *H2O: Heavy-Hitter Oracle for Efficient Generative Inference of Large Language Models*
# (NeurIPS 2023), catalog id 66.
#
# **Claims under test.**
# 1. Attention in the pretrained LLM is sparse: over 95% of the attention scores fall below 1% of their row's maximum,
#    in almost all layers (Sec. 3.1, Fig. 2(a)): the basis of a small cache and of the heavy hitters.
# 2. Evicting everything but the heavy hitters and a recent window (H2O) at a 20% budget keeps the full cache's
#    quality (Sec. 5.1, Fig. 4).
# 3. The local window alone at the same budget does much worse (Fig. 4).
# 4. The heavy hitters are what matters: the same recent window with random other tokens degrades (Sec. 3.2).
#
# Comparative claims (3, 4) also face a trivial control the paper does not run: random eviction that keeps the first 4
# tokens (the attention sinks) and the same recent window. H2O must beat it too.
#
# **Replicated here (scaled-down):** all four on SmolLM2-135M (pretrained, from the zoo) streaming real text (KJV books),
# every policy a unit of the shared KV-cache engine `shared.kvcache`, H2O's scores accumulated per key-value head from
# the attention weights of every step. Sparsity is the paper's statistic on the model's attention matrices over
# `SPARSITY_TOKENS`-token documents. Default run: 10 documents of 100 tokens, cache 20 (20%), and sparsity on 5
# documents of 256 tokens; the `full` profile streams 58 documents of 150 tokens (cache 30) and measures sparsity at
# 2048 tokens (the context of the paper's OPT models) on 6.
# Documents are the unit of every interval.
# **Not replicated:** lm-eval-harness / HELM task accuracies on OPT, LLaMA and GPT-NeoX (models not available offline),
# the throughput comparison with DeepSpeed Zero-Inference, Accelerate and FlexGen (GPU offloading systems), and the
# submodular-guarantee theory. Decode cost against transformers' `DynamicCache` is measured and printed, not judged.
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0]  # deterministic apart from random eviction, which is seeded; documents give the intervals
MODEL = "smollm2-135m-instruct"  # zoo model
BOOKS = ["Ge", "Exo", "Num", "Deu", "Isa", "Jer", "Mat", "Luke", "2Sm", "1Ki"]  # KJV books, one document each
DOC_TOKENS = 100  # tokens per document, streamed one at a time (the full profile: 150)
BUDGETS = [20]  # cache sizes compared (the claims are judged at 20% of DOC_TOKENS, which must be listed)
HEAVY_SHARE = 0.5  # share of the budget for heavy hitters, the rest is the recent window
POLICIES = ["H2O", "local window", "random + recent", "random + sinks + recent"]  # full: + StreamingLLM
SPARSITY_DOCS = 5  # documents for the sparsity statistic: the first SPARSITY_DOCS books, one forward pass each
SPARSITY_TOKENS = 256  # their length (the paper's OPT reads up to 2048 tokens; sparsity grows with length)
SPARSITY_THRESHOLD = 0.01  # the paper's: a score below 1% of its row's maximum counts as zero
SPARSE_LAYER = 0.95  # the paper's: a layer is "over 95% sparse"
CHECK_TOKENS = 40  # tokens for the sanity checks on the real model
DECODE_CONTEXTS = []  # context lengths for the decode-cost table (the full profile; timings are not verdicts)
DECODE_NEW_TOKENS = 8  # timed single-token steps per context
CHUNK = 16  # documents per one-pass forward (memory); the streaming loop reads all documents side by side

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from papers.h2o_2023.claims import CLAIMS
from papers.h2o_2023.method import h2o_policies, layer_sparsity, with_masked_entries
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.kvcache import (
    FullCache,
    HeavyHitter,
    attention_maps,
    decode_ms,
    kjv_documents,
    masked_nll,
    stream_nll,
)
from shared.models import load
from shared.results import start_run

run = start_run("h2o_2023", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
preregister(CLAIMS)
model, tok = load(MODEL)
docs = kjv_documents(tok, BOOKS, DOC_TOKENS)  # [D, T]
JUDGE = round(0.2 * DOC_TOKENS)  # the 20% budget the claims are judged at
assert JUDGE in BUDGETS, f"BUDGETS must contain the 20% budget {JUDGE}"

# %% [markdown]
# ## Sanity checks
# On the real model: with a budget above the document length H2O evicts nothing, so its losses must equal the dense
# model's, and its accumulated scores must equal the column sums of the full attention matrices (summed over the query
# heads of each key-value head).

# %% tags=["nbval-check-output"]
check = docs[0, :CHECK_TOKENS]
h2o = HeavyHitter(budget=CHECK_TOKENS + 1, n_recent=4)
streamed = stream_nll(model, check, h2o)
dense_check = masked_nll(model, check, FullCache())
assert (streamed.nll - dense_check).abs().max() < 1e-3, "H2O without eviction differs from the dense model"
attn = attention_maps(model, check[:-1])  # [L, Hq, T-1, T-1]
L, Hq, T1, _ = attn.shape
Hkv = model.config.num_key_value_heads
cols = attn.view(L, Hkv, Hq // Hkv, T1, T1).sum(2).sum(2)  # [L, Hkv, T-1]
worst = max((h2o.acc[i][0] - cols[i]).abs().max().item() for i in range(L))
assert worst < 1e-3, f"accumulated scores differ from the attention column sums by {worst:.2e}"
print(f"no-eviction H2O == dense model; accumulated scores == attention column sums ({L} layers, {Hkv} KV heads)")

# %% [markdown]
# ## Experiment
# The paper's sparsity statistic (Sec. 3.1) on each sparsity document: per layer, the share of the attention scores
# (causal entries, all heads of the layer) below 1% of their row's maximum. Then every policy streamed over the
# documents (read side by side as a batch; each document evicts by its own scores; the first `budget` tokens go in
# one pass, which is exact since nothing is evicted before the cache is full).

# %%
sparse_docs = kjv_documents(tok, BOOKS[:SPARSITY_DOCS], SPARSITY_TOKENS)
layer_sp = torch.stack([layer_sparsity(model, d, SPARSITY_THRESHOLD) for d in sparse_docs])  # [docs, L]
sparse_share = (layer_sp > SPARSE_LAYER).double().mean(1)  # per document: share of layers over 95% sparse


def one_pass(policy):  # static policies: one masked forward per chunk of documents
    return torch.cat([masked_nll(model, c, policy).view(len(c), -1) for c in docs.split(CHUNK)])


dense = one_pass(FullCache())  # [D, T-1]
rows = []
nll = {}
for budget in BUDGETS:
    for name, policy in h2o_policies(budget, HEAVY_SHARE).items():
        if name not in POLICIES:
            continue
        if policy.is_static:
            nll[budget, name] = one_pass(policy)
        else:
            nll[budget, name] = stream_nll(model, docs, policy, prefill=budget).nll
        ppl = nll[budget, name][:, budget + 1 :].mean(-1).exp()
        full = dense[:, budget + 1 :].mean(-1).exp()
        rows += [{"budget": budget, "policy": name, "book": b, "ppl": p, "ppl_full": f}
                 for b, p, f in zip(BOOKS, ppl.tolist(), full.tolist())]  # fmt: skip
results = pd.DataFrame(rows)
results["vs_full"] = results.ppl / results.ppl_full

# %%
results.pivot_table(index=["budget", "policy"], columns="book", values="ppl")[BOOKS].round(3)

# %% [markdown]
# ## Paper vs ours

# %%
at = results[results.budget == JUDGE].pivot(index="book", columns="policy", values="ppl").loc[BOOKS]
full = results[results.budget == JUDGE].groupby("book").ppl_full.first().loc[BOOKS]
ratio = lambda a, b: Measurement.ratio(a, b, n_unit="documents")  # noqa: E731  paired per-document PPL ratios
measurements = {
    "heavy-hitters": Measurement.mean(sparse_share.tolist(), n_unit="documents", bounds=(0, 1)),
    "h2o-matches-full": ratio(at["H2O"], full),
    "h2o-beats-local": ratio(at["local window"], at["H2O"]),
    "heavy-hitters-matter": ratio(at["random + recent"], at["H2O"]),
}
# the trivial control: sink-protected random eviction; margin = log PPL(control) - log PPL(H2O) per document
margin = Measurement.paired_difference(np.log(at["random + sinks + recent"]), np.log(at["H2O"]), n_unit="documents")
controls = {"h2o-beats-local": margin, "heavy-hitters-matter": margin}
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls)
mean_sp = layer_sp.mean(1)
print(f"sparsity at {SPARSITY_TOKENS} tokens, mean over layers: {mean_sp.mean():.4f} (documents "
      f"{mean_sp.min():.4f}-{mean_sp.max():.4f}); least sparse layer {layer_sp.mean(0).min():.4f}; counting the masked "
      f"upper triangle too: {with_masked_entries(mean_sp.mean().item(), SPARSITY_TOKENS):.4f}")  # fmt: skip
print("layers over 95% sparse, per document:", [f"{x:.3f}" for x in sparse_share.tolist()])
verdict_table(claim_results)

# %% [markdown]
# ## Cost: decode time and cache memory
# Milliseconds per decoded token (median of `DECODE_NEW_TOKENS` steps) after a random context: transformers' own
# `DynamicCache` (baseline) against the engine's H2O at the judged budget. H2O needs the attention weights of every
# step, so it runs eager attention plus a top-k and a gather per layer. Printed, not judged (timings vary).

# %%
cost = []
for ctx in DECODE_CONTEXTS:
    for name, policy in [("DynamicCache (transformers)", None), (f"engine, H2O {JUDGE}", h2o_policies(JUDGE)["H2O"]),
                         (f"engine, StreamingLLM {JUDGE}", h2o_policies(JUDGE)["StreamingLLM"])]:  # fmt: skip
        ms, nbytes = decode_ms(model, ctx, policy, new_tokens=DECODE_NEW_TOKENS, vocab=tok.vocab_size)
        cost.append({"context": ctx, "cache": name, "ms_per_token": ms, "cache_MiB": nbytes / 2**20})
cost = pd.DataFrame(cost, columns=["context", "cache", "ms_per_token", "cache_MiB"])  # empty in the default run
base = cost[cost.cache.str.startswith("DynamicCache")].set_index("context").ms_per_token
cost["vs_DynamicCache"] = cost.ms_per_token / cost.context.map(base)
cost.round(3)

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 3, figsize=(17, 4.2))
ax = axes[0]
for i, book in enumerate(BOOKS[:SPARSITY_DOCS]):
    ax.plot(range(layer_sp.shape[1]), layer_sp[i].numpy(), "o-", ms=3, lw=1, label=book)
ax.axhline(SPARSE_LAYER, color="gray", ls=":", label="95% (paper)")
ax.set(xlabel="layer", ylabel="sparsity (scores < 1% of row max)", ylim=(0, 1),
       title=f"Attention sparsity per layer, {SPARSITY_TOKENS}-token documents")  # fmt: skip
ax.legend(fontsize=7)
ax = axes[1]
with torch.no_grad():
    acc = attention_maps(model, docs[0]).sum(2).flatten(0, 1)  # [L*H, T] accumulated attention per key
shares = (acc / acc.sum(-1, keepdim=True)).sort(-1, descending=True).values.mean(0)
ax.loglog(range(1, len(shares) + 1), shares.numpy())
ax.set(xlabel="key rank by accumulated attention", ylabel="share of attention",
       title=f"Accumulated attention per key ({BOOKS[0]}, mean over heads)")  # fmt: skip
ax = axes[2]
window = 32
for name in POLICIES:
    smooth = nll[JUDGE, name].mean(0).unfold(0, window, 1).mean(-1).exp()
    ax.plot(range(window, window + len(smooth)), smooth, label=name)
smooth = dense.mean(0).unfold(0, window, 1).mean(-1).exp()
ax.plot(range(window, window + len(smooth)), smooth, "k--", label="full cache")
ax.axvline(JUDGE, color="gray", ls=":", label="cache full")
ax.set(yscale="log", xlabel="token position", ylabel=f"PPL ({window}-token moving window)",
       title=f"Streaming with a {JUDGE}-token cache (20%)")  # fmt: skip
ax.legend(fontsize=8)
fig.tight_layout()
run.save_figure(fig, "h2o")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# *Default run* (SmolLM2-135M, 10 KJV documents of 100 tokens streamed token by token, cache 20 = 20%; sparsity on 5
# documents of 256 tokens). The paper's sparsity statistic (scores below 1% of their row's maximum, causal entries) is
# 0.81 on average over layers at 256 tokens and no layer passes 95%: `heavy-hitters` is *not reproduced* at this length,
# which is too short to compare (a row of n keys is at most (n-1)/n sparse and sparsity grows with length; the `full`
# profile measures it at 2048 tokens, OPT's context: 0.9375 on average, 0.73 of the layers over 95%, *partially
# reproduced*). H2O costs 1.27x the full cache's perplexity (interval 1.19-1.39), straddling the partial bar 1.3:
# *inconclusive* (the `full` profile's 30-token cache gives 1.14x, 1.13-1.16: partially reproduced).
#
# The local window is 2.2-17x worse than H2O (geometric mean 6.2x) and random tokens in place of the heavy hitters
# 2.3-15x (6.0x). Against the trivial control, random eviction that keeps the first 4 tokens and the same recent
# window, H2O wins by a log-PPL margin of 0.118 (interval 0.032-0.246; better in 7 of 10 documents), so both
# comparative claims are *reproduced*; on 10 other books the margin is 0.109 (0.049-0.188) and no verdict moves. The
# `full` profile (58 documents) decides the knife-edge of the earlier 8-document runs the same way: margin 0.050
# (0.026-0.074). Most of H2O's advantage over the local window and over sink-less random eviction is the attention
# sink, which H2O keeps because the first token is its heaviest hitter; the other heavy hitters add a small but real
# gain over random tokens kept beside the sinks.
#
# The recorded runs use 1 CPU thread (`TOKEN_PAPERS_THREADS=1`) on a shared 2-core machine. The decode-cost table is
# in the `full` profile (printed, not judged): at 2048 tokens of context the engine's H2O step is 0.87x a plain
# `DynamicCache` step and its cache 68x smaller; at short context eviction saves memory, not time, on this model.
