# %% [markdown]
# # KV-cache eviction side by side: the shared engine, NVIDIA kvpress and transformers' own caches
#
# A **benchmark notebook**, not a replication: it has no claims of its own. It puts the project's KV-cache engine
# (`shared.kvcache`: `SinkWindow` = StreamingLLM, arXiv:2309.17453; `HeavyHitter` = H2O, arXiv:2306.14048) next to the
# tools a user would otherwise pick, on **one model, one data set and one budget, in one run**:
#
# | family | ours (`shared.kvcache`) | NVIDIA `kvpress` 0.5.5 | transformers (built in) |
# |---|---|---|---|
# | full cache | `FullCache` | no press | `DynamicCache` (the baseline of every ratio) |
# | sinks + recent window | `SinkWindow`, evicts at every step | `StreamingLLMPress` once after the prefill; the same press wrapped in `DecodingPress(compression_interval=1)` to evict at every step | - |
# | recent window only | `SinkWindow(n_sink=0)` (sanity check only: same numbers as transformers') | - | `DynamicCache` with sliding-window layers (`DynamicSlidingWindowLayer`) |
# | attention scores | `HeavyHitter` (H2O): attention **summed** over every query since the token entered, half the budget for recent tokens, evicts at every step | `ObservedAttentionPress`: attention **averaged** over the prefill's queries, no recent window, once after the prefill | - |
#
# **Measured.** (1) Quality: perplexity of a continuation read after a long prefix, against the number of tokens kept
# per layer and key-value head; (2) cost: decode milliseconds per token and cache memory against context length, every
# method timed in the same interleaved loop, printed as ratios to full-cache `DynamicCache` decode.
#
# **Targets** (from issue #6, fixed in the parameters cell, computed by code below): at the same budget our policies'
# perplexity is within `QUALITY_TOL` of their kvpress counterpart ("equal quality"); our decode step with eviction is
# at most `SHORT_TARGET` x the full-cache step at the shortest context and faster (below `LONG_TARGET` x) at the longest.
#
# **Not covered.** transformers' `QuantizedCache` (needs `optimum-quanto` or `hqq`, not installed) and offloaded caches
# (they move a GPU cache to the CPU; on this CPU-only machine there is nothing to offload); kvpress's other ~40 presses;
# GPU timings. Model: SmolLM2-135M-Instruct from the zoo (Gemma-3-270M has sliding-window layers, which the engine and
# kvpress's Llama path do not prune). This notebook runs in its own kernel, `token-papers-kvpress`
# (`kernels/kvpress/`): kvpress 0.5.5 needs transformers<5.3 and pandas<3, older than the project's pins.

# %% tags=["parameters"]
PROFILE = "default"  # label of the parameter set (this notebook has no params/ files of its own)
SEED = 0  # seeds the random decode contexts
MODEL = "smollm2-135m-instruct"  # zoo model (Llama architecture, 30 layers, 3 key-value heads)
BOOKS = ["Ge", "Mat", "Isa"]  # KJV books; the first PREFIX + CONTINUATION tokens of each is one document
PREFIX = 512  # tokens read before the cache is pruned (kvpress compresses once after this prefill)
CONTINUATION = 32  # tokens read after the prefix; the perplexity is over their predictions
BUDGETS = [32, 64, 128, 256]  # tokens kept per layer and key-value head (divide PREFIX for exact kvpress ratios)
N_SINK = 4  # StreamingLLM's sink tokens (ours and kvpress alike)
DECODE_CONTEXTS = [256, 1024, 4096]  # context lengths for decode cost
DECODE_BUDGET = 128  # tokens kept by every evicting method in the decode-cost loop
DECODE_STEPS = 8  # timed single-token steps per method and context (interleaved across methods; median)
QUALITY_TOL = 0.05  # target: |our perplexity / kvpress counterpart's - 1| <= this, at every budget
SHORT_TARGET = 1.15  # target: our decode ms with eviction <= this x full-cache decode at the shortest context
LONG_TARGET = 1.0  # target: ... and < this x full-cache decode at the longest context

# %%
# ruff: noqa: E402 - the imports follow the parameters cell, as in every notebook
import copy
import json
import os
import time
from contextlib import contextmanager, nullcontext
from importlib.metadata import version
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import torch
import transformers
from kvpress import DecodingPress, ObservedAttentionPress, PrefillDecodingPress, StreamingLLMPress
from transformers import DynamicCache

from shared import ROOT
from shared.kvcache import (
    FullCache,
    HeavyHitter,
    PolicyCache,
    SinkWindow,
    kjv_documents,
    kv_attention,
    masked_nll,
    stream_nll,
)
from shared.models import load
from shared.repro import set_seed
from shared.results import describe_fingerprint

set_seed(SEED)
print(describe_fingerprint())
print(f"transformers {transformers.__version__}, kvpress {version('kvpress')}")
# under nbval the files go to the staging folder the test run names, so testing never rewrites the committed ones
STAGED = os.environ.get("TOKEN_PAPERS_OUTPUT_DIR")
OUT = Path(STAGED) / "kvpress" if STAGED else ROOT / "papers" / "h2o_2023" / "results" / "kvpress"
OUT.mkdir(parents=True, exist_ok=True)
pd.options.display.float_format = "{:.4g}".format
model, tok = load(MODEL)
T = PREFIX + CONTINUATION
docs = kjv_documents(tok, BOOKS, T)  # [D, T]
assert all(PREFIX % b == 0 for b in BUDGETS), "budgets must divide PREFIX so kvpress keeps exactly that many tokens"


# %% [markdown]
# ## The three protocols, as code
# Every method reads the same documents: a prefill of the first `PREFIX` tokens, then the `CONTINUATION`. The
# perplexity is over the predictions of tokens `PREFIX+1 .. T-1`, made after the prefill, so every method scores the
# same tokens. kvpress hooks the attention layers and prunes each layer's cache right after the prefill's forward
# (`ObservedAttentionPress` needs the prefill's attention weights, so that prefill runs with eager attention);
# decoding then runs on the pruned `DynamicCache` with the original positions, as in kvpress's own pipeline.


# %%
def nll_of(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-token negative log-likelihood: logits `[D, n, V]`, targets `[D, n]` -> `[D, n]`, float64."""
    return -torch.log_softmax(logits.double(), -1).gather(-1, targets[..., None]).squeeze(-1)


@contextmanager
def attn(model, implementation: str):
    """Run `model` with another attention implementation for the block, then restore its own."""
    before = model.config._attn_implementation
    model.set_attn_implementation(implementation)
    try:
        yield
    finally:
        model.set_attn_implementation(before)


def cache_bytes(cache) -> int:
    """Bytes held by the keys and values of a transformers cache, over all layers."""
    return sum(x.numel() * x.element_size() for lay in cache.layers for x in (lay.keys, lay.values) if x is not None)


class HFMethod:
    """A transformers cache, optionally under a kvpress press, driven step by step with explicit positions.

    Args:
        model: the causal LM.
        press: a kvpress press or None; `every_step` presses stay hooked while decoding, the others only for the
            prefill.
        eager (bool): run the prefill with eager attention (presses that read attention weights).
        window (int | None): build transformers' own sliding-window cache keeping `window` tokens instead of a
            plain `DynamicCache`.
    """

    def __init__(self, model, press=None, eager=False, every_step=False, window=None):
        self.model, self.press, self.eager, self.every_step = model, press, eager, every_step
        if window is None:
            self.cache = DynamicCache()
        else:
            # transformers keeps `sliding_window - 1` past tokens per sliding layer: the budget is `window`
            cfg = copy.deepcopy(model.config)
            cfg.sliding_window, cfg.layer_types = window + 1, ["sliding_attention"] * cfg.num_hidden_layers
            self.cache = DynamicCache(config=cfg)
        self.n_seen = 0

    def prefill(self, ids: torch.Tensor) -> torch.Tensor:
        """Read the prompt `[D, n]` in one forward; returns the logits `[D, n, V]`."""
        with attn(self.model, "eager") if self.eager else nullcontext(), \
                self.press(self.model) if self.press is not None else nullcontext():  # fmt: skip
            out = self.model(input_ids=ids, past_key_values=self.cache)
        self.n_seen = ids.shape[1]
        return out.logits

    def step(self, ids: torch.Tensor) -> torch.Tensor:
        """Read `[D, n]` more tokens at their original positions; returns the logits `[D, n, V]`."""
        pos = torch.arange(self.n_seen, self.n_seen + ids.shape[1]).unsqueeze(0)
        with self.press(self.model) if self.every_step else nullcontext():
            out = self.model(input_ids=ids, past_key_values=self.cache, position_ids=pos)
        self.n_seen += ids.shape[1]
        return out.logits

    def nbytes(self) -> int:
        return cache_bytes(self.cache)


class EngineMethod:
    """The shared engine's `PolicyCache` behind the same `prefill` / `step` interface (pruned after every forward)."""

    def __init__(self, model, policy, chunk: int | None = None):
        self.model, self.policy, self.chunk = model, policy, chunk
        self.pc = PolicyCache(model, policy)

    def prefill(self, ids):
        with kv_attention(self.model, self.policy.needs_attention):
            # `chunk`: read a long prompt in pieces, pruning after each (bounded memory, as `decode_ms` does);
            # None: one forward, then one pruning, as kvpress does
            step = self.chunk or ids.shape[1]
            for s in range(0, ids.shape[1], step):
                logits = self.pc.forward(ids[:, s : s + step])
        return logits

    def step(self, ids):
        with kv_attention(self.model, self.policy.needs_attention):
            return self.pc.forward(ids)

    def nbytes(self):
        return self.pc.nbytes()


def kvpress_streaming(budget: int, context: int, every_step: bool):
    """kvpress StreamingLLM keeping `budget` of `context` prefill tokens; `every_step` adds decoding compression."""
    prefill = StreamingLLMPress(compression_ratio=1 - budget / context, n_sink=N_SINK)
    if not every_step:
        return prefill
    return PrefillDecodingPress(prefilling_press=prefill, decoding_press=DecodingPress(
        base_press=StreamingLLMPress(n_sink=N_SINK), compression_interval=1, target_size=budget,
        hidden_states_buffer_size=0))  # fmt: skip


def methods(model, budget: int, context: int, chunk: int | None = None) -> dict:
    """Every compared method at one budget, as factories of fresh `prefill`/`step` objects, keyed by (family,
    implementation); `chunk` is the engine's prefill chunk (None: the whole prompt in one forward, like kvpress)."""
    return {
        ("full cache", "transformers DynamicCache"): lambda: HFMethod(model),
        ("window", "transformers sliding-window cache"): lambda: HFMethod(model, window=budget),
        ("StreamingLLM", "ours SinkWindow"): lambda: EngineMethod(model, SinkWindow(budget=budget, n_sink=N_SINK), chunk),
        ("StreamingLLM", "kvpress StreamingLLMPress (once)"): lambda: HFMethod(
            model, kvpress_streaming(budget, context, every_step=False)),
        ("StreamingLLM", "kvpress StreamingLLMPress (every step)"): lambda: HFMethod(
            model, kvpress_streaming(budget, context, every_step=True), every_step=True),
        ("H2O", "ours HeavyHitter"): lambda: EngineMethod(
            model, HeavyHitter(budget=budget, n_recent=budget // 2), chunk),
        ("H2O", "kvpress ObservedAttentionPress (once)"): lambda: HFMethod(
            model, ObservedAttentionPress(compression_ratio=1 - budget / context), eager=True),
    }  # fmt: skip


@torch.no_grad()
def continuation_nll(make, ids: torch.Tensor, prefix: int, token_by_token: bool) -> torch.Tensor:
    """NLL of tokens `prefix+1 .. T-1` of `ids` `[D, T]` after prefilling `prefix` tokens: `[D, T-prefix-1]`.

    `token_by_token` reads the continuation one token per step (needed wherever the cache changes while decoding);
    otherwise in one forward, which gives the same numbers for a cache that only grows.
    """
    m = make()
    m.prefill(ids[:, :prefix])
    rest = ids[:, prefix:-1]
    if token_by_token:
        logits = torch.cat([m.step(rest[:, i : i + 1]) for i in range(rest.shape[1])], dim=1)
    else:
        logits = m.step(rest)
    return nll_of(logits, ids[:, prefix + 1 :])


# %% [markdown]
# ## Sanity checks
# Different code, same arithmetic: where two implementations hold the same cache, their losses must agree. Our
# `FullCache` (one masked pass) against transformers' `DynamicCache`; our `SinkWindow` against kvpress's
# `StreamingLLMPress` on the first token after the prefill (both keep the 4 sinks and the newest tokens at their
# original positions; later tokens differ by design, since kvpress stops evicting); our window without sinks against
# transformers' sliding-window cache over the whole continuation; our streaming loop against the one-pass masked
# evaluation. Last, a fact about kvpress that the results below depend on: its pruned cache is stored in top-k order,
# not in position order.

# %% tags=["nbval-check-output"]
B0 = BUDGETS[len(BUDGETS) // 2]
checks = {}
with torch.no_grad():
    m = methods(model, B0, PREFIX)
    pairs = {
        "ours FullCache vs transformers DynamicCache": (
            masked_nll(model, docs, FullCache())[:, PREFIX:],
            continuation_nll(m["full cache", "transformers DynamicCache"], docs, PREFIX, token_by_token=False)),
        f"ours SinkWindow vs kvpress StreamingLLMPress, first token after the prefill (budget {B0})": (
            continuation_nll(m["StreamingLLM", "ours SinkWindow"], docs[:, : PREFIX + 2], PREFIX, True),
            continuation_nll(m["StreamingLLM", "kvpress StreamingLLMPress (once)"], docs[:, : PREFIX + 2], PREFIX, False)),
        f"ours window vs transformers sliding-window cache (budget {B0})": (
            continuation_nll(lambda: EngineMethod(model, SinkWindow(budget=B0, n_sink=0)), docs, PREFIX, True),
            continuation_nll(m["window", "transformers sliding-window cache"], docs, PREFIX, True)),
        # token by token from the first token: on a short stretch, with the smallest budget, to stay cheap
        f"ours SinkWindow streamed vs masked (budget {BUDGETS[0]})": (
            stream_nll(model, docs[:, : 4 * BUDGETS[0]], SinkWindow(budget=BUDGETS[0], n_sink=N_SINK)).nll,
            masked_nll(model, docs[:, : 4 * BUDGETS[0]], SinkWindow(budget=BUDGETS[0], n_sink=N_SINK))),
    }  # fmt: skip
    for name, (a, b) in pairs.items():
        checks[name] = (a - b).abs().max().item()
        assert checks[name] < 1e-3, f"{name}: max |NLL difference| {checks[name]:.2e}"
        print(f"{name}: agree (max |dNLL| < 1e-3)")
    # which cached token sits in which slot: match kvpress's pruned keys to ours (ours are in position order)
    ours, theirs = m["StreamingLLM", "ours SinkWindow"](), m["StreamingLLM", "kvpress StreamingLLMPress (once)"]()
    ours.prefill(docs[:, :PREFIX])
    theirs.prefill(docs[:, :PREFIX])
    slot_of = torch.cdist(theirs.cache.layers[0].keys[0, 0], ours.pc.cache.layers[0].keys[0, 0]).argmin(1)
in_order = bool((slot_of == torch.arange(B0)).all())
print(f"kvpress's pruned cache (layer 0, head 0) in position order: {in_order}; kept set equal to ours: "
      f"{sorted(slot_of.tolist()) == list(range(B0))}")  # fmt: skip

# %% [markdown]
# ## Quality against budget
# Perplexity over the continuation for each method and budget, per document; the full cache is the reference.
# Methods whose cache changes while decoding read the continuation token by token.

# %%
rows = []
full_nll = continuation_nll(methods(model, BUDGETS[0], PREFIX)["full cache", "transformers DynamicCache"], docs, PREFIX,
                            token_by_token=False)  # fmt: skip
for budget in BUDGETS:
    for (family, impl), make in methods(model, budget, PREFIX).items():
        if family == "full cache":
            nll = full_nll  # independent of the budget
        else:
            # the engine, kvpress's decoding press and transformers' window change the cache while decoding
            changes = impl.startswith("ours") or "every step" in impl or "sliding" in impl
            nll = continuation_nll(make, docs, PREFIX, token_by_token=changes)
        ppl = nll.mean(-1).exp()
        rows += [{"budget": budget, "family": family, "method": impl, "book": b, "ppl": p}
                 for b, p in zip(BOOKS, ppl.tolist())]  # fmt: skip
quality = pd.DataFrame(rows)
full_ppl = quality[quality.family == "full cache"].groupby("book").ppl.first()
quality["vs_full"] = quality.ppl / quality.book.map(full_ppl)

# %%
table = quality.groupby(["family", "method", "budget"]).vs_full.mean().unstack("budget")
print("perplexity / full-cache perplexity, mean over", len(BOOKS), "documents; full-cache perplexity per book:",
      {b: round(v, 3) for b, v in full_ppl.items()})  # fmt: skip
table.round(3)

# %% [markdown]
# ## Cost: decode milliseconds per token and cache memory against context length
# For each context length every method reads the same random tokens (the content does not change the cost), then all
# methods take their single-token decode steps in turn, `DECODE_STEPS` rounds, so a burst of load on the machine
# hits every method alike; the median step is reported, with the ratio to transformers' `DynamicCache` (full cache) at
# the same context. Evicting methods keep `DECODE_BUDGET` tokens. Timings depend on the machine: printed, and judged
# only by the ratios' targets below.


# %%
@torch.no_grad()
def decode_costs(context: int) -> list[dict]:
    """Median decode ms per token and cache MiB of every method after reading `context` random tokens (one row each)."""
    g = torch.Generator().manual_seed(SEED + context)
    ids = torch.randint(0, tok.vocab_size, (1, context + DECODE_STEPS), generator=g)
    made = {k: make() for k, make in methods(model, DECODE_BUDGET, context, chunk=256).items()}
    for m in made.values():
        m.prefill(ids[:, :context])
    times = {k: [] for k in made}
    for t in range(context, context + DECODE_STEPS):
        for k, m in made.items():
            t0 = time.perf_counter()
            m.step(ids[:, t : t + 1])
            times[k].append(time.perf_counter() - t0)
    return [{"context": context, "family": k[0], "method": k[1], "ms_per_token": 1e3 * torch.tensor(v).median().item(),
             "cache_MiB": made[k].nbytes() / 2**20} for k, v in times.items()]  # fmt: skip


cost = pd.DataFrame([r for ctx in DECODE_CONTEXTS for r in decode_costs(ctx)])
base = cost[cost.method == "transformers DynamicCache"].set_index("context").ms_per_token
cost["vs_full_decode"] = cost.ms_per_token / cost.context.map(base)
cost.pivot(index=["family", "method"], columns="context", values=["vs_full_decode", "cache_MiB"]).round(3)

# %% [markdown]
# ## Targets
# Computed by code from the tables above. Quality: our policy's perplexity over its kvpress counterpart's, per budget
# (mean over documents). Speed: our evicting policies' decode step over the full-cache step, at the shortest and the
# longest context.

# %% tags=["nbval-check-output"]
mean_ppl = quality.groupby(["method", "budget"]).ppl.mean()
targets = []
# kvpress's every-step StreamingLLM is shown in the tables but is no target: it evicts by slot, and its slots are
# not in position order (sanity checks above)
for ours, theirs in [("ours SinkWindow", "kvpress StreamingLLMPress (once)"),
                     ("ours HeavyHitter", "kvpress ObservedAttentionPress (once)")]:  # fmt: skip
    for budget in BUDGETS:
        r = mean_ppl[ours, budget] / mean_ppl[theirs, budget]
        targets.append({"target": f"equal quality, budget {budget}", "ours": ours, "vs": theirs, "ratio": r,
                        "bar": f"|r-1| <= {QUALITY_TOL}", "pass": abs(r - 1) <= QUALITY_TOL})  # fmt: skip
short, long = min(DECODE_CONTEXTS), max(DECODE_CONTEXTS)
speed = cost.set_index(["method", "context"]).vs_full_decode
for ours in ["ours SinkWindow", "ours HeavyHitter"]:
    targets.append(
        {
            "target": f"decode at context {short}",
            "ours": ours,
            "vs": "transformers DynamicCache",
            "ratio": speed[ours, short],
            "bar": f"<= {SHORT_TARGET}",
            "pass": speed[ours, short] <= SHORT_TARGET,
        }
    )
    targets.append(
        {
            "target": f"decode at context {long}",
            "ours": ours,
            "vs": "transformers DynamicCache",
            "ratio": speed[ours, long],
            "bar": f"< {LONG_TARGET}",
            "pass": speed[ours, long] < LONG_TARGET,
        }
    )
targets = pd.DataFrame(targets)
quality_targets = targets[targets.target.str.startswith("equal")]
# compared by nbval: pass/fail outcomes only (the ratios are in the next cell); the closest quality ratio to its bar
# (0.4% away in the committed run) is hundreds of times the drift between machines, so an outcome cannot flip
print(f"quality targets: {int(quality_targets['pass'].sum())}/{len(quality_targets)} pass")
quality_targets[["target", "ours", "vs", "bar", "pass"]]

# %%
# the ratios behind every target; speed ratios depend on the machine and its load: shown, not compared by nbval
targets.round(3)

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4))
styles = {"ours": "-", "kvpress": "--", "transformers": ":"}
for method, g in quality[quality.family != "full cache"].groupby("method"):
    g = g.groupby("budget").vs_full.mean()
    axes[0].plot(g.index, g.values, styles[method.split()[0]], marker="o", label=method)
axes[0].axhline(1, color="grey", lw=0.8)
axes[0].set(
    xscale="log",
    yscale="log",
    xlabel=f"tokens kept per layer and head (prefix {PREFIX})",
    ylabel="perplexity / full cache",
    title="Quality against budget (KJV, SmolLM2-135M)",
)
axes[0].set_xticks(BUDGETS, [str(b) for b in BUDGETS])
for method, g in cost.groupby("method"):
    axes[1].plot(g.context, g.vs_full_decode, styles[method.split()[0]], marker="o", label=method)
    axes[2].plot(g.context, g.cache_MiB, styles[method.split()[0]], marker="o", label=method)
axes[1].axhline(SHORT_TARGET, color="red", lw=0.8, ls=":")
axes[1].axhline(1, color="grey", lw=0.8)
axes[1].set(
    xscale="log",
    xlabel="context length",
    ylabel="decode ms / full-cache DynamicCache ms",
    title=f"Decode cost (budget {DECODE_BUDGET})",
)
axes[2].set(xscale="log", yscale="log", xlabel="context length", ylabel="KV cache MiB", title="Cache memory")
for ax in axes[1:]:
    ax.set_xticks(DECODE_CONTEXTS, [str(c) for c in DECODE_CONTEXTS])
axes[0].legend(fontsize=7)
axes[1].legend(fontsize=7)
fig.tight_layout()
fig.savefig(OUT / f"{PROFILE}.png", dpi=110, bbox_inches="tight", metadata={"Software": None})

# %% [markdown]
# ## Record
# Tables as CSV and one JSON summary (targets, versions, parameters) under `papers/h2o_2023/results/kvpress/`.

# %% tags=["nbval-check-output"]
quality.to_csv(OUT / f"{PROFILE}_quality.csv", index=False, float_format="%.6g")
cost.to_csv(OUT / f"{PROFILE}_cost.csv", index=False, float_format="%.6g")
summary = {
    "profile": PROFILE, "model": MODEL, "books": BOOKS, "prefix": PREFIX, "continuation": CONTINUATION,
    "budgets": BUDGETS, "decode_contexts": DECODE_CONTEXTS, "decode_budget": DECODE_BUDGET,
    "versions": {"transformers": transformers.__version__, "torch": torch.__version__, "kvpress": "0.5.5"},
    "checks_max_abs_dnll": checks,
    "targets": json.loads(targets.to_json(orient="records")),
}  # fmt: skip
(OUT / f"{PROFILE}.json").write_text(json.dumps(summary, indent=1) + "\n")
print(f"wrote {PROFILE}.json, {PROFILE}_quality.csv, {PROFILE}_cost.csv, {PROFILE}.png; "
      f"quality targets pass: {bool(quality_targets['pass'].all())}")  # fmt: skip

# %% [markdown]
# ## Discussion
# Default run (SmolLM2-135M, 3 KJV books, prefix 512, 31 scored tokens; decode budget 128; 1 CPU thread on a shared,
# heavily loaded 2-core machine, so absolute milliseconds are inflated; the ratios are interleaved and fair).
#
# - **Same arithmetic where the methods are the same.** Our full cache equals transformers' `DynamicCache`, our window
#   equals transformers' sliding-window cache over the whole continuation, and our `SinkWindow` equals kvpress's
#   `StreamingLLMPress` on the first token after the prefill (same kept set), all to < 1e-3 in NLL.
# - **Quality: 6 of 8 targets pass.** From 64 tokens up, ours and kvpress are within 5% of each other (SinkWindow vs
#   StreamingLLMPress 0.99-1.05; HeavyHitter vs ObservedAttentionPress 0.97-0.99: H2O is slightly *better*). At 32
#   tokens both of ours are worse (1.18x and 1.36x the kvpress perplexity). That is the protocol, not an error:
#   kvpress compresses once and then lets the cache grow during the continuation (32 -> 63 tokens, so it ends with
#   twice the memory), while ours evicts at every step and holds 32; and H2O gives half of its 32 tokens to the recent
#   window, leaving 16 heavy hitters where ObservedAttention keeps 32 scored tokens.
# - **kvpress's StreamingLLM at every step is broken** (18x the full-cache perplexity at budget 64): kvpress stores the
#   pruned cache in top-k order, not position order, and `StreamingLLMPress` scores by slot, so inside
#   `DecodingPress` its later evictions drop arbitrary tokens (the sinks included) instead of the oldest ones.
# - **Window without sinks collapses** (transformers' sliding-window cache: 3.4-24x the full-cache perplexity), the
#   StreamingLLM result, measured here with transformers' own cache.
# - **Decode cost** (re-run 2026-12-06, same settings; the timings move between runs on this loaded machine, the
#   quality numbers are identical). Ours with eviction: SinkWindow 1.00x the full-cache step at context 256 (target
#   <= 1.15: pass) and 0.57x at 4096 (pass); HeavyHitter 1.13x at 256 (pass, narrowly: it needs eager attention weights
#   and a top-k + gather every step; the previous run measured 1.19x, a fail) and 0.64x at 4096 (pass). kvpress's
#   presses cost nothing per step after the prefill (0.94-1.03x at 256, 0.54-0.56x at 4096), and so does transformers'
#   window (0.99x, 0.55x): the gap to ours, up to about 0.1x of a step, is the engine's per-step eviction and its own
#   attention function. Timings are printed in cells that CI does not compare; the compared cells print only the
#   sanity checks and the quality targets' pass/fail outcomes, which are deterministic. Memory: 5.6 MiB for every evicting method against
#   11.6 / 45.4 / 180 MiB for the full cache at 256 / 1024 / 4096 (kvpress: 6.0 MiB, the 8 decoded tokens added).
