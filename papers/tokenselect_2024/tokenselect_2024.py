# %% [markdown]
# # TokenSelect (arXiv:2411.02886): attending only a few query-selected tokens keeps long-context quality
#
# Wu, Pan, Fu, Wang, Chen, Bai, Wang, Wang & Xiong, *TokenSelect: Efficient Long-Context Inference and Length
# Extrapolation for LLMs via Dynamic Token-Level KV Cache Selection* (EMNLP 2025), catalog id 135.
#
# TokenSelect keeps the whole KV cache but lets each query attend only a few cached tokens: for every layer it scores
# each token by the query-key dot products of every head, turns each head's scores into a softmax and sums them over
# heads (a soft vote), and attends the top-k tokens plus a few initial and recent ones. A *Selection Cache* reuses a
# layer's last choice while consecutive queries stay similar (cosine similarity above a threshold).
#
# **Claims under test.**
# 1. At a small budget TokenSelect keeps the full cache's quality (abstract, experiments).
# 2. It beats StreamingLLM's sinks + recent window and (3) query-agnostic heavy-hitter eviction (H2O) at the same
#    budget.
# 4. It retrieves a fact planted anywhere in the context, (5) where StreamingLLM fails (InfiniteBench R.PK).
# 6. The Selection Cache reuses most selections (7) at little cost in quality (method: Selection Cache).
#
# The comparative claims (2, 3) also face a trivial control the paper does not run: random selection with
# TokenSelect's budget, sinks and recent window (`RandomSelect`). TokenSelect must beat it too.
#
# **Power precondition** of claim 7: at least `claims.MIN_DOCS` documents (derived in `claims.py` from the paper's
# value and the per-document spread of the `full` record). The 60 s default (6 documents) therefore says *inconclusive*
# on the Selection Cache's quality cost, whatever its documents; the `full` profile meets it and decides.
#
# **Replicated here (scaled-down):** all seven on SmolLM2-135M (pretrained, from the zoo): streaming perplexity on
# KJV books and a planted 5-digit passkey, every policy a unit of the shared KV-cache engine `shared.kvcache`
# (`TokenSelect` is its selection policy), each query attending 1/8 of the document. Default run: 6 documents of 128
# tokens (budget 16: 4 sinks, 4 recent, 8 selected) and 36 passkey prompts of 89 tokens; `full` profile: 12 documents
# of 256 tokens (budgets 32 and 64) and 72 prompts of 169 tokens. Documents and prompts are the units of the intervals. The share of
# attention compute left (attended / visible tokens) and decode milliseconds per token against the full cache are
# measured, not judged.
# **Not replicated:** length extrapolation past the training length (SmolLM2 is trained to 8k tokens, which a CPU run
# cannot stream, and the official extrapolation mode re-assigns positions inside the selection, which the engine does
# not do); InfiniteBench / RULER / LongBench on 7-8B models; the paged dot-product kernel and the 23.84x attention /
# 2.28x end-to-end speed-ups (GPU, SGLang + FlashInfer).
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0]  # everything here is deterministic; documents and planted samples give the intervals
MODEL = "smollm2-135m-instruct"  # zoo model
# KJV books, the first DOC_TOKENS tokens of each is one document (20 books that no earlier run or pilot read: claims.py)
BOOKS = ["Josh", "Jdgs", "Ruth", "1Sm", "2Sm", "1Ki", "2Ki", "1Chr", "2Chr", "SSol", "Lam", "Eze", "Hos", "Joel", "Amos",
         "Mic", "Zec", "Mark", "1Cor", "Gal"]  # fmt: skip
DOC_TOKENS = 128  # tokens per document
BUDGETS = [16]  # past tokens attended per query (cache size for eviction); the claims are judged at DOC_TOKENS / 8
N_SINK = 4  # TokenSelect's always-attended initial tokens
N_RECENT = 4  # TokenSelect's always-attended recent tokens
THRESHOLD = 0.9  # Selection Cache cosine threshold (the official code's value); the claims are judged here
THRESHOLDS = [0.9]  # thresholds swept for the reuse / quality trade-off (must contain THRESHOLD)
PASSKEY_BOOK = "Prv"  # KJV book used as passkey filler
PASSKEY_FILLER = 48  # filler tokens around the planted passkey
N_PASSKEY = 36  # passkey prompts, the fact at depth (i + 0.5) / N_PASSKEY in prompt i (>= 35: n/n can clear 0.9)
CHECK_TOKENS = 28  # tokens streamed one at a time for the reference-vs-fast-path check (> CHECK_BUDGET + 1)
CHECK_BUDGET = 16  # TokenSelect budget in that check
DECODE_CONTEXTS = []  # context lengths for the decode-cost table (empty: no table; timings are not claims)
DECODE_NEW_TOKENS = 4  # timed single-token steps per context

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from papers.tokenselect_2024.claims import CLAIMS
from papers.tokenselect_2024.method import RandomSelect, compared_policies, digit_accuracy, passkey_batch, ppl_after
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.kvcache import (
    FullCache,
    SinkWindow,
    TokenSelect,
    decode_ms,
    kjv_documents,
    one_pass_logits,
    policy_nll,
    selection_nll,
    stream_nll,
)
from shared.models import load
from shared.results import start_run

run = start_run("tokenselect_2024", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
preregister(CLAIMS)
model, tok = load(MODEL)
docs = kjv_documents(tok, BOOKS, DOC_TOKENS)  # [D, T]
JUDGE = DOC_TOKENS // 8  # the budget the claims are judged at
assert JUDGE in BUDGETS and THRESHOLD in THRESHOLDS, "BUDGETS must contain DOC_TOKENS // 8, THRESHOLDS THRESHOLD"

# %% [markdown]
# ## Sanity checks
# The experiment reads each document in one pass in which every query row attends what TokenSelect selects for it
# (`selection_nll`, the vectorised fast path). The engine's reference path reads token by token into a real cache and
# selects row by row against it (and attends by gathering the selected keys and values); both must give the same
# per-token losses, with and without the Selection Cache, and make the same number of reuse decisions. With a budget
# above the document length TokenSelect must be the dense model.

# %% tags=["nbval-check-output"]
check = docs[0, :CHECK_TOKENS]
dense_check = policy_nll(model, check, FullCache())
for threshold in [None, THRESHOLD]:
    ref, fast = (TokenSelect(budget=CHECK_BUDGET, n_sink=N_SINK, n_recent=N_RECENT, threshold=threshold) for _ in "rf")
    streamed = stream_nll(model, check, ref)
    diff = (streamed.nll - selection_nll(model, check, fast)).abs().max().item()
    assert diff < 1e-3, f"threshold {threshold}: streamed and one-pass selections differ by {diff:.2e} nats"
    assert streamed.cache_tokens[-1] == CHECK_TOKENS - 1, "a selection policy evicts nothing"
    assert (streamed.nll - dense_check).abs().max() > 1e-3, "the budget must bind"
for cls in [TokenSelect, RandomSelect]:
    no_select = selection_nll(model, check, cls(budget=CHECK_TOKENS, n_sink=N_SINK, n_recent=N_RECENT))
    assert (no_select - dense_check).abs().max() < 1e-3, f"{cls.__name__} with an unbinding budget differs from dense"
print(f"streamed (reference) == one-pass (fast) TokenSelect over {CHECK_TOKENS} tokens, budget {CHECK_BUDGET}, with "
      f"and without the Selection Cache; unbinding budget == dense model (TokenSelect and random selection)")  # fmt: skip

# %% [markdown]
# ## Experiment
# Every policy over every document, at every budget: the full cache, TokenSelect, StreamingLLM and H2O (streamed token
# by token: its eviction depends on the attention so far), and the control: random selection at the same budget.
# Perplexity is taken over the tokens read after the budget is first exceeded.

# %%
dense = policy_nll(model, docs, FullCache())  # [D, T-1]
rows, nll, stats = [], {}, {}
for budget in BUDGETS:
    policies = compared_policies(budget, N_SINK, N_RECENT) | {"random selection": RandomSelect(
        budget=budget, n_sink=N_SINK, n_recent=N_RECENT, seed=SEEDS[0])}  # fmt: skip
    for name, policy in policies.items():
        nll[budget, name] = policy_nll(model, docs, policy, prefill=budget)
        if isinstance(policy, TokenSelect):
            stats[budget, name] = policy.stats()
        ppl, full = ppl_after(nll[budget, name], budget + 1), ppl_after(dense, budget + 1)
        rows += [{"budget": budget, "policy": name, "book": b, "ppl": p, "ppl_full": f}
                 for b, p, f in zip(BOOKS, ppl.tolist(), full.tolist())]  # fmt: skip
results = pd.DataFrame(rows)
results["vs_full"] = results.ppl / results.ppl_full

# %%
results.pivot_table(index=["budget", "policy"], columns="book", values="ppl")[BOOKS].round(3)

# %% [markdown]
# TokenSelect with the Selection Cache, per document at the judged budget: the share of (layer, query) selections it
# serves and the perplexity it costs against TokenSelect without it, for each threshold. The policy counts its reuse
# decisions over everything it reads, so each document is read on its own.

# %%
cache_rows, cached_nll = [], {}
plain = ppl_after(nll[JUDGE, "TokenSelect"], JUDGE + 1)
for threshold in THRESHOLDS:
    for i, book in enumerate(BOOKS):
        policy = TokenSelect(budget=JUDGE, n_sink=N_SINK, n_recent=N_RECENT, threshold=threshold)
        cached_nll[threshold, book] = selection_nll(model, docs[i], policy)  # [T-1]
        ppl = ppl_after(cached_nll[threshold, book][None], JUDGE + 1).item()
        cache_rows.append({"threshold": threshold, "book": book, "reuse": policy.stats()["reuse"],
                           "ppl_ratio": ppl / plain[i].item()})  # fmt: skip
cache = pd.DataFrame(cache_rows)
nll[JUDGE, "TokenSelect + cache"] = torch.stack([cached_nll[THRESHOLD, b] for b in BOOKS])

# %%
cache.groupby("threshold")[["reuse", "ppl_ratio"]].agg(["mean", "min", "max"]).round(4)

# %% [markdown]
# Planted passkeys: the fact at depths through a KJV filler, then "What is the pass key? The pass key is" and the five
# digits, scored in one pass with teacher forcing (each digit given the previous ones).

# %%
# passkey_batch starts sample i at filler token 97 * i
depths = [round((i + 0.5) / N_PASSKEY, 4) for i in range(N_PASSKEY)]  # evenly spread through the filler
filler = kjv_documents(tok, [PASSKEY_BOOK], 97 * N_PASSKEY + PASSKEY_FILLER)[0].tolist()
keys = torch.randint(10000, 100000, (N_PASSKEY,), generator=torch.Generator().manual_seed(SEEDS[0]))
prompts = passkey_batch(tok, filler, keys.tolist(), depths, PASSKEY_FILLER)  # [N, T]
passkey_policies = {"full cache": FullCache(), "TokenSelect": TokenSelect(budget=JUDGE, n_sink=N_SINK, n_recent=N_RECENT),
                    "StreamingLLM": SinkWindow(budget=JUDGE, n_sink=4)}  # fmt: skip
chunks = prompts.split(8)  # 8 prompts per forward: faster on CPU than one large batch
with torch.no_grad():
    passkey = pd.DataFrame({name: torch.cat([digit_accuracy(one_pass_logits(model, c, p, last=6), c) for c in chunks])
                            .tolist() for name, p in passkey_policies.items()}, index=depths)  # fmt: skip
passkey.index.name = "depth"

# %%
print(f"prompts of {prompts.shape[1]} tokens, budget {JUDGE} past tokens per query")
passkey.round(3)

# %% [markdown]
# ## Paper vs ours

# %%
at = results[results.budget == JUDGE].pivot(index="book", columns="policy", values="ppl").loc[BOOKS]
full = results[results.budget == JUDGE].groupby("book").ppl_full.first().loc[BOOKS]
judged = cache[cache.threshold == THRESHOLD]
ratio = lambda a, b: Measurement.ratio(a, b, n_unit="documents")  # noqa: E731  paired per-document PPL ratios
recalled = passkey == 1.0  # all 5 digits right, per prompt and policy
n_prompts = N_PASSKEY
measurements = {
    "matches-full": ratio(at["TokenSelect"], full),
    "beats-streamingllm": ratio(at["StreamingLLM"], at["TokenSelect"]),
    "beats-h2o": ratio(at["H2O"], at["TokenSelect"]),
    "passkey-retrieval": Measurement.proportion(int(recalled["TokenSelect"].sum()), n_prompts, n_unit="prompts"),
    "passkey-beats-streamingllm": Measurement.proportion(
        int((recalled["TokenSelect"] & ~recalled["StreamingLLM"]).sum()), n_prompts, n_unit="prompts"),
    "selection-cache-reuse": Measurement.mean(judged.reuse, n_unit="documents", bounds=(0, 1)),
    "selection-cache-quality": Measurement.ratio(judged.ppl_ratio, [1.0] * len(judged), n_unit="documents"),
}  # fmt: skip
# the trivial control: random selection; margin = log PPL(random selection) - log PPL(TokenSelect) per document
margin = Measurement.paired_difference(np.log(at["random selection"]), np.log(at["TokenSelect"]), n_unit="documents")
checks = {
    "full-cache-recalls": Measurement.proportion(int(recalled["full cache"].sum()), n_prompts, n_unit="prompts"),
    # the power precondition of selection-cache-quality: the run's number of documents (claims.MIN_DOCS)
    "enough-documents": Measurement.exact(len(BOOKS), n_unit="documents"),
    "long-enough-documents": Measurement.exact(DOC_TOKENS, n_unit="tokens per document"),
}
claim_results = evaluate_claims(CLAIMS, measurements, controls={"beats-streamingllm": margin, "beats-h2o": margin},
                                checks=checks)  # fmt: skip
attended = stats[JUDGE, "TokenSelect"]["attended"]
print(f"TokenSelect at budget {JUDGE} attends {attended:.3f} of the visible tokens over all rows and layers "
      f"(rows past the budget: {(JUDGE + 1) / ((JUDGE + DOC_TOKENS) / 2):.3f} on average)")  # fmt: skip
verdict_table(claim_results)

# %% [markdown]
# ## Cost: decode time
# Milliseconds per decoded token (median of `DECODE_NEW_TOKENS` steps) after a random context: the engine's full
# cache (the baseline) against TokenSelect at the judged budget, with and without the Selection Cache. A TokenSelect
# step scores every cached token of every layer (unless the Selection Cache hits), then attends the selected ones
# only. Printed, not judged (timings vary with the machine's load). Only in profiles with `DECODE_CONTEXTS` (the
# `full` profile; the default run spends its 60 s on documents and prompts).

# %%
if DECODE_CONTEXTS:
    cost = []
    for ctx in DECODE_CONTEXTS:
        for name, policy in [("engine, full cache", FullCache()), (f"TokenSelect {JUDGE}", TokenSelect(budget=JUDGE, n_sink=N_SINK, n_recent=N_RECENT)),
                             (f"TokenSelect {JUDGE} + cache", TokenSelect(budget=JUDGE, n_sink=N_SINK, n_recent=N_RECENT,
                                                                         threshold=THRESHOLD))]:  # fmt: skip
            ms, nbytes = decode_ms(model, ctx, policy, new_tokens=DECODE_NEW_TOKENS, vocab=tok.vocab_size)
            cost.append({"context": ctx, "cache": name, "ms_per_token": ms, "cache_MiB": nbytes / 2**20})
    cost = pd.DataFrame(cost)
    base = cost[cost.cache == "engine, full cache"].set_index("context").ms_per_token
    cost["vs_full_cache"] = cost.ms_per_token / cost.context.map(base)
    display(cost.round(3))  # noqa: F821

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 3, figsize=(17, 4.2))
ax = axes[0]
window = 32
for name, style in [("TokenSelect", "-"), ("TokenSelect + cache", ":"), ("StreamingLLM", "-"), ("H2O", "-"),
                    ("random selection", "--")]:  # fmt: skip
    smooth = nll[JUDGE, name].mean(0).unfold(0, window, 1).mean(-1).exp()
    ax.plot(range(window, window + len(smooth)), smooth, style, label=name)
smooth = dense.mean(0).unfold(0, window, 1).mean(-1).exp()
ax.plot(range(window, window + len(smooth)), smooth, "k--", label="full cache")
ax.set(yscale="log", xlabel="token position (end of the moving window)", ylabel=f"PPL ({window}-token moving window)",
       title=f"Reading with {JUDGE} attended past tokens per query")  # fmt: skip
ax.legend(fontsize=8)

ax = axes[1]
for (name, style), size in zip([("full cache", "o"), ("TokenSelect", "s"), ("StreamingLLM", "^")], [11, 6, 6]):
    ax.plot(passkey.index, passkey[name], style + "-", ms=size, mfc="none" if size > 6 else None, label=name)
ax.set(xlabel="depth of the planted passkey", ylabel="digit accuracy", ylim=(-0.05, 1.05),
       title=f"Passkey in {prompts.shape[1]} tokens, budget {JUDGE}")  # fmt: skip
ax.legend(fontsize=8)

ax = axes[2]
names = ["TokenSelect", "StreamingLLM", "H2O"]
width = 0.8 / len(names)
for j, name in enumerate(names):
    sub = results[results.policy == name]
    x = [BUDGETS.index(b) + (j - 1) * width for b in sub.budget]
    ax.bar([i + (j - 1) * width for i in range(len(BUDGETS))], sub.groupby("budget").vs_full.mean().loc[BUDGETS],
           width, label=name, alpha=0.7)  # fmt: skip
    ax.plot(x, sub.vs_full, "k.", ms=4)
ax.axhline(1.0, color="k", ls="--", lw=0.8)
ax.set(xticks=range(len(BUDGETS)), xticklabels=[f"{b} ({b / DOC_TOKENS:.0%})" for b in BUDGETS],
       ylim=(0.9, None), xlabel="budget: attended past tokens (share of the document)", ylabel="PPL / full cache",
       title="Quality per budget (bars: mean, dots: documents)")  # fmt: skip
ax.legend(fontsize=8)
fig.tight_layout()
run.save_figure(fig, "tokenselect")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# *Full run* (the README's verdict: 12 KJV documents of 256 tokens, each query attending 32 past tokens: 4 sinks, 4
# recent, 24 selected; 72 passkey prompts of 169 tokens). Query-aware selection is the better use of a small budget on
# real text: TokenSelect's perplexity is below StreamingLLM's in all 12 documents (1.17x, interval 1.12-1.22,
# *reproduced*) and below H2O's in 11 (1.12x, interval 1.07-1.18, *reproduced*). The trivial control agrees: random
# selection with the same budget, sinks and recent window is worse than TokenSelect (log-perplexity margin 0.43,
# interval 0.36-0.52), so the gain comes from choosing the critical tokens, not from reading some tokens outside the
# window. It is not free: 1.09x the full cache's perplexity (interval 1.07-1.12, not wholly inside the "on par" band
# 0.91-1.1: *partially reproduced*); the paper's "without sacrificing accuracy" is about 2K-token selections from long
# benchmark contexts, not 24 tokens out of a few hundred.
#
# Retrieval is where the query matters most: the planted passkey is recalled in full by the full cache (the
# precondition) and by TokenSelect in 72 of 72 prompts, by StreamingLLM at the same budget in 4 (both retrieval claims
# *reproduced*). The Selection Cache is the weak part on this model: at the official threshold 0.9 it serves only 16%
# of the selections (*not reproduced* against the 50% / 20% bars) at a cost of 1.004x (interval 0.996-1.012,
# *partially reproduced*); threshold 0.8 reuses 54% at 1.10x. SmolLM2's consecutive queries, one token apart in natural
# text, are less similar than the paper's observation suggests for 7-8B models.
#
# *Default run* (6 documents of 128 tokens, budget 16, 36 prompts of 89 tokens): the same directions with less power
# (vs StreamingLLM 1.33x *reproduced*, vs H2O 1.19x *partially*, vs full 1.25x *inconclusive*: it crosses the 1.3
# edge, passkey 36/36 vs 0/36 *reproduced*, reuse 15% *not reproduced*); the Selection Cache's cost (1.009x) is
# *inconclusive* by the power precondition (6 of the 12 documents it needs), whatever the documents. See the README for
# the stability check: rerun on six other books, `matches-full` alone moves (to *partially*, 1.19x), on the 1.3 edge.
#
# Cost: TokenSelect reads about a quarter of the visible tokens (0.24 over all rows and layers), but for a 135M model on
# CPU the MLPs dominate a decoding step, so decoding is no faster than the full cache here (decode table: `full`
# profile). The paper's 23.84x attention speed-up comes from 128K-1M contexts on a GPU kernel, where attention, not the
# MLPs, dominates.
