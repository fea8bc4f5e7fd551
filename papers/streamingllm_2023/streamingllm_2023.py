# %% [markdown]
# # StreamingLLM (arXiv:2309.17453): keeping a few initial "attention sink" tokens rescues window attention
#
# Xiao, Tian, Chen, Han & Lewis, *Efficient Streaming Language Models with Attention Sinks* (ICLR 2024), catalog id 87.
#
# **Claims under test.**
# 1. Layers above the bottom two dump much of their attention on the initial token, whatever it is (Sec. 3.1, Fig. 2).
# 2. Window attention (keep only the most recent KV) collapses once the first tokens are evicted (Table 1, Fig. 3).
# 3. Keeping 4 initial tokens plus the window (StreamingLLM) restores the perplexity of the sliding window with
#    re-computation, at constant cache size (Table 1).
# 4. Four sink tokens suffice (eight do not help), one recovers less (Table 2).
# 5. Four line breaks in place of the initial tokens, kept as the sinks, restore the perplexity about as well as the
#    original initial tokens (Table 1, `4"\n"+1020`): the sinks' position, not their meaning, matters.
#
# **Replicated here (scaled-down):** all four on SmolLM2-135M (a pretrained Llama-architecture model from the zoo) over
# real text (KJV books, one document per book), with a 32-token cache over 16 documents of 80 tokens by default (66
# documents of 128 tokens, every KJV book, in the `full` profile); every policy
# runs on the shared KV-cache engine `shared.kvcache`. The cache-size-constant memory and the decode cost against
# transformers' own `DynamicCache` are measured too (not as claims: timings are not deterministic).
# **Not replicated:** streaming past the training length to millions of tokens (Fig. 5; CPU budget), the
# pre-training with a dedicated learnable sink token (Sec. 3.3, Table 3; needs 160M-parameter pre-training runs), the
# StreamEval QA benchmark and the 22.2x speed-up over re-computation on GPUs.
#
# **Power precondition** of "four sinks suffice": at least `claims.MIN_DOCS` documents (derived in `claims.py` from the
# paper's value and the per-document spread of the `full` record). The 60 s default (16 documents) therefore says
# *inconclusive* on it, whatever its documents; the `full` profile (66 documents) meets it and decides.
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0]  # everything here is deterministic; documents, not seeds, give the intervals
MODEL = "smollm2-135m-instruct"  # zoo model
BOOKS = ["Ge", "Exo", "Num", "Deu", "2Sm", "1Ki", "1Chr", "Isa", "Jer", "Hos", "Mat", "Luke", "Rom", "2Cor", "Heb", "1Pet"]  # fmt: skip
DOC_TOKENS = 80  # tokens per document (its first DOC_TOKENS); BOOKS: KJV books, one document each
CACHE = 32  # KV-cache size (tokens kept after every step, sinks included)
SINK_COUNTS = [0, 1, 4, 8]  # initial tokens kept, at the same total CACHE (0 = window attention)
NEWLINE_SINKS = 4  # Table 1's "\n" row: the first NEWLINE_SINKS tokens replaced by "\n", then kept as the sinks
RECOMPUTE_STRIDE = 8  # re-computation baseline scored at every RECOMPUTE_STRIDE-th token
ATTN_TOKENS = 64  # tokens per document for the attention maps
CHECK_TOKENS = 24  # tokens streamed one at a time to check the one-pass fast path
CHECK_CACHE = 8  # cache size for that check
DECODE_CONTEXTS = []  # context lengths for the decode-cost table (empty: no table; timings are not claims)
DECODE_NEW_TOKENS = 8  # timed single-token steps per context
CACHE_POSITION_TOKENS = 0  # >0: also stream this many tokens with the paper's in-cache positions (slow)
POSITION_DOCS = 4  # documents streamed with both position schemes (when CACHE_POSITION_TOKENS > 0)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from papers.streamingllm_2023.claims import CLAIMS
from papers.streamingllm_2023.method import ppl_after, sink_share, substitute_sinks
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.kvcache import (
    FullCache,
    SinkWindow,
    attention_maps,
    decode_ms,
    kjv_documents,
    masked_nll,
    recompute_nll,
    sink_mass,
    stream_nll,
)
from shared.models import load
from shared.results import start_run

run = start_run("streamingllm_2023", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
preregister(CLAIMS)
model, tok = load(MODEL)
docs = kjv_documents(tok, BOOKS, DOC_TOKENS)  # [D, T]
FIRST = CACHE + 1  # first query position that misses an evicted token
NEWLINE = tok("\n", add_special_tokens=False).input_ids  # the line-break token of Table 1's "\n" row

# %% [markdown]
# ## Sanity checks
# The experiment evaluates every static policy in one forward pass with an attention mask. Here the engine's reference
# path (read token by token into a real cache, evict by top-k + gather after every step) must give the same
# per-token losses, for the dense cache and for StreamingLLM (window attention is the same code with 0 sinks).

# %% tags=["nbval-check-output"]
check = docs[0, :CHECK_TOKENS]
for policy in [FullCache(), SinkWindow(budget=CHECK_CACHE, n_sink=4)]:
    streamed = stream_nll(model, check, policy, fast=False)
    diff = (streamed.nll - masked_nll(model, check, policy)).abs().max().item()
    assert diff < 1e-3, f"{policy}: streaming and one-pass losses differ by {diff:.2e}"
    assert streamed.cache_tokens.max() == (policy.budget or CHECK_TOKENS - 1)
print(
    f"streamed cache == one-pass mask for the full cache and StreamingLLM over {CHECK_TOKENS} tokens (max |diff| < 1e-3 nats)"
)
assert len(NEWLINE) == 1, f"'\\n' is {len(NEWLINE)} tokens for this tokenizer"
nl_docs = substitute_sinks(docs, NEWLINE[0], NEWLINE_SINKS)
assert (nl_docs[:, NEWLINE_SINKS:] == docs[:, NEWLINE_SINKS:]).all() and (
    nl_docs[:, :NEWLINE_SINKS] == NEWLINE[0]
).all()
print(
    f'"\\n" is one token; the "\\n"-sink documents differ from the originals in their first {NEWLINE_SINKS} tokens only'
)

# %% [markdown]
# ## Experiment
# Per-token losses of every cache configuration on every document, the re-computation baseline on a subset of
# positions, and the attention maps.

# %%
with torch.no_grad():
    dense = masked_nll(model, docs, FullCache())  # [D, T-1]
    by_sinks = {s: masked_nll(model, docs, SinkWindow(budget=CACHE, n_sink=s)) for s in SINK_COUNTS}
    # Table 1's "\n" row: the same cache, with line breaks (not the text's first tokens) in the sink slots
    by_newline = masked_nll(model, nl_docs, SinkWindow(budget=CACHE, n_sink=NEWLINE_SINKS))
    targets = list(range(FIRST, DOC_TOKENS - 1, RECOMPUTE_STRIDE))
    # re-computation sees the same number of tokens as a StreamingLLM query: CACHE cached + itself
    recompute = recompute_nll(model, docs, CACHE + 1, targets)  # [D, N]
    attn = torch.stack([attention_maps(model, d[:ATTN_TOKENS]) for d in docs])  # [D, L, H, T, T]

rows = [{"book": b, "config": "dense", "ppl": p} for b, p in zip(BOOKS, ppl_after(dense, FIRST).tolist())]
for s, nll in by_sinks.items():
    rows += [{"book": b, "config": f"{s}+{CACHE - s}", "ppl": p} for b, p in zip(BOOKS, ppl_after(nll, FIRST).tolist())]
NL_ROW = f'{NEWLINE_SINKS}"\\n"+{CACHE - NEWLINE_SINKS}'
rows += [{"book": b, "config": NL_ROW, "ppl": p} for b, p in zip(BOOKS, ppl_after(by_newline, FIRST).tolist())]
ppl = pd.DataFrame(rows).pivot(index="config", columns="book", values="ppl")[BOOKS]
ppl.loc[["dense"] + [f"{s}+{CACHE - s}" for s in SINK_COUNTS] + [NL_ROW]].round(3)

# %% [markdown]
# Perplexity over the tokens read after the first eviction (`s+w` = `s` initial tokens + `w` recent ones); the
# re-computation baseline and StreamingLLM at the same positions:

# %%
at_targets = {"recompute": recompute, "streaming 4+w": by_sinks[4][:, targets], "window 0+w": by_sinks[0][:, targets],
              "dense": dense[:, targets]}  # fmt: skip
sub = pd.DataFrame({k: v.double().mean(-1).exp().tolist() for k, v in at_targets.items()}, index=BOOKS).T
sub.round(3)

# %% [markdown]
# ## Paper vs ours

# %%
shares = [sink_share(a) for a in attn]
ratio = lambda a, b: Measurement.ratio(a, b, n_unit="documents")  # noqa: E731  paired per-document PPL ratios
measurements = {
    "initial-token-sink": Measurement.mean(shares, n_unit="documents", bounds=(0, 1)),
    "window-collapse": ratio(ppl.loc[f"0+{CACHE}"], ppl.loc["dense"]),
    "sinks-restore": ratio(sub.loc["streaming 4+w"], sub.loc["recompute"]),
    "four-sinks-enough": ratio(ppl.loc[f"4+{CACHE - 4}"], ppl.loc[f"8+{CACHE - 8}"]),
    "one-sink-not-enough": ratio(ppl.loc[f"1+{CACHE - 1}"], ppl.loc[f"4+{CACHE - 4}"]),
    "newline-sinks-restore": ratio(ppl.loc[NL_ROW], ppl.loc[f"{NEWLINE_SINKS}+{CACHE - NEWLINE_SINKS}"]),
}
# the premise of the sink-count claims: without sinks the window degrades (else any sink count "suffices")
checks = {
    "sinks-matter": ratio(ppl.loc[f"0+{CACHE}"], ppl.loc[f"4+{CACHE - 4}"]),
    # the power precondition of four-sinks-enough: the run's number of documents (claims.MIN_DOCS)
    "enough-documents": Measurement.exact(len(BOOKS), n_unit="documents"),
}
# the trivial control of the collapse: a context of CACHE tokens is simply too short. The re-computed window reads as
# many tokens; margin = log PPL(window) - log PPL(re-computation) per document at the same positions (> 0: the window
# collapses beyond what its shorter context explains)
log_sub = np.log(sub.astype(float))
log_ppl = np.log(ppl.astype(float))
controls = {"window-collapse": Measurement.paired_difference(log_sub.loc["window 0+w"], log_sub.loc["recompute"],
                                                             n_unit="documents"),
            # the "\n" sinks against no sinks at all, over the same tokens (> 0: the line breaks act as sinks)
            "newline-sinks-restore": Measurement.paired_difference(log_ppl.loc[f"0+{CACHE}"], log_ppl.loc[NL_ROW],
                                                                   n_unit="documents")}  # fmt: skip
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls, checks=checks)
verdict_table(claim_results)

# %% [markdown]
# ## Cost: decode time and cache memory
# Milliseconds per decoded token (median of `DECODE_NEW_TOKENS` steps) after a random context, for transformers' own
# `DynamicCache` (the baseline), the engine with the full cache, and StreamingLLM at cache `CACHE`. Timings depend on
# the machine and its load: they are printed, not judged, and this cell is not compared by CI. Only in profiles with
# `DECODE_CONTEXTS` (the `full` profile; the default run spends its time on documents).

# %%
if DECODE_CONTEXTS:
    cost = []
    for ctx in DECODE_CONTEXTS:
        for name, policy in [("DynamicCache (transformers)", None), ("engine, full cache", FullCache()),
                             (f"engine, StreamingLLM 4+{CACHE - 4}", SinkWindow(budget=CACHE, n_sink=4))]:  # fmt: skip
            ms, nbytes = decode_ms(model, ctx, policy, new_tokens=DECODE_NEW_TOKENS, vocab=tok.vocab_size)
            cost.append({"context": ctx, "cache": name, "ms_per_token": ms, "cache_MiB": nbytes / 2**20})
    cost = pd.DataFrame(cost)
    base = cost[cost.cache.str.startswith("DynamicCache")].set_index("context").ms_per_token
    cost["vs_DynamicCache"] = cost.ms_per_token / cost.context.map(base)
    display(cost.round(3))  # noqa: F821

# %% [markdown]
# With the paper's own position scheme (positions counted inside the cache, keys re-rotated on eviction), streamed
# token by token: only in profiles with `CACHE_POSITION_TOKENS > 0`, on the first `POSITION_DOCS` documents.

# %%
if CACHE_POSITION_TOKENS:
    pos_rows = []
    for b, d in zip(BOOKS[:POSITION_DOCS], docs[:POSITION_DOCS]):
        for scheme in ["original", "cache"]:
            r = stream_nll(model, d[:CACHE_POSITION_TOKENS], SinkWindow(budget=CACHE, n_sink=4), positions=scheme)
            pos_rows.append({"book": b, "positions": scheme, "ppl": float(r.nll[FIRST:].mean().exp())})
    display(pd.DataFrame(pos_rows).pivot(index="positions", columns="book", values="ppl").round(3))  # noqa: F821

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
ax = axes[0]
heat = sink_mass(attn.mean(0), 0, skip=16)  # [L, H]
im = ax.imshow(heat.T, aspect="auto", cmap="viridis", vmin=0, vmax=1)
ax.set(xlabel="layer", ylabel="head", title="Attention on the initial token (mean over queries)")
fig.colorbar(im, ax=ax)

ax = axes[1]
window = 32
for label, nll in [("dense", dense), (f"window 0+{CACHE}", by_sinks[0]), (f"StreamingLLM 4+{CACHE - 4}", by_sinks[4])]:
    smooth = nll.mean(0).unfold(0, window, 1).mean(-1).exp()
    ax.plot(range(window, window + len(smooth)), smooth, label=label)
ax.axvline(CACHE, color="gray", ls=":", label="cache full")
ax.set(yscale="log", xlabel="token position", ylabel=f"PPL ({window}-token moving window)",
       title="Streaming perplexity, mean over documents")  # fmt: skip
ax.legend(fontsize=8)

ax = axes[2]
mean_ppl = ppl.loc[[f"{s}+{CACHE - s}" for s in SINK_COUNTS] + [NL_ROW]].mean(axis=1)
ax.bar([str(s) for s in SINK_COUNTS] + [f'{NEWLINE_SINKS} "\\n"'], mean_ppl.values)
ax.axhline(ppl.loc["dense"].mean(), color="k", ls="--", label="dense")
ax.set(yscale="log", xlabel=f"initial tokens kept (total cache {CACHE})", ylabel="PPL after first eviction",
       title="How many sinks are needed")  # fmt: skip
ax.legend()
fig.tight_layout()
run.save_figure(fig, "streaming")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# *Default run* (SmolLM2-135M, 16 KJV documents of 80 tokens, cache 32; paired per-document PPL ratios with a bootstrap
# interval on the log scale, the sink share a bootstrapped mean bounded to [0, 1]). The attention sink is there: in
# layers 2-29, queries put 0.45 of their attention on the first token (interval 0.44-0.48), a plain word, not a special
# token: *reproduced* (Fig. 2). Window attention collapses once the first tokens leave the cache: its perplexity after
# the first eviction is 1.9-15x the dense model's per document (geometric mean 5.2x, interval 4.0-6.7: *reproduced*),
# and not because its context is short: at the same positions, re-computing a 33-token window from scratch is about 4x
# better (log margin 1.40, 0.94-1.93: the trivial control is beaten). Keeping 4 initial tokens restores it (4.5x better
# than the window at the same 32-token cache: the premise of the sink-count claims holds). StreamingLLM against
# re-computation: 0.974x (0.903-1.04; per document 0.73-1.25x over 6 scored positions each), inside the partial band
# only: *partially reproduced*. Four line breaks in the sink slots (Table 1's `4"\n"+1020`): 1.059x the original
# first tokens (1.008-1.113), *partially reproduced*, and 4.3x better than no sinks. The sink-count ratios are
# *inconclusive* on 16 short documents: 4 vs 8 sinks (1.005x, 0.972-1.059) by the power precondition (16 of the 63
# documents it needs: without it, 16 other books had moved it to *partially reproduced*), 1 vs 4 sinks (0.992x,
# 0.950-1.045) because its interval straddles the bar. On 16 other books no verdict moves.
#
# *`full` run* (all 66 KJV books, 128 tokens, cache 32) decides every claim: sink share 0.42, collapse 6.7x (control
# beaten), StreamingLLM / re-computation 0.965x (0.926-1.009) and the line breaks 1.038x (1.022-1.056; paper 1.037)
# *reproduced*, 4 vs 8 sinks 0.983x (0.970-0.997) *reproduced*, and 1 vs 4 sinks 0.994x (0.982-1.006) *not
# reproduced*: on SmolLM2 one sink does what four do, as on Falcon-7B, MPT-7B and Pythia-12B in Table 2; only
# Llama-2-7B shows the 1.24x gap. The paper's 950x collapse comes from 1-4k caches on 20k-token texts, where the
# failure compounds; a 32-token cache over 80-128 tokens shows the direction, not that magnitude.
