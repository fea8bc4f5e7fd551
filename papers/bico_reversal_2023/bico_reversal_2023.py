# %% [markdown]
# # BICO (arXiv 2311.07468): next-token prediction leaves "B is ?" unanswered after training on "A is B"; bidirectional denoising answers it
#
# Lv, Zhang, Xie, Tu, Chen, Wen & Yan, *Are We Falling in a Middle-Intelligence Trap? An Analysis and Mitigation of
# the Reversal Curse* (arXiv 2311.07468; EMNLP 2024), catalog id 99. Fine-tuned on fictitious facts "A is B" (Berglund
# et al.'s name-description pairs), Llama answers "B is ?" with A 0% of the time; BICO, which fine-tunes with
# bidirectional attention (keys after a query get the rotary phase of the same distance before it) and a
# mask-denoising loss on half of the steps, raises it to "around 70%" (abstract, arXiv v1).
#
# **Claims under test.**
# 1. `ntp-reverse-curse`: next-token prediction (NTP) on forward-only facts leaves reversed queries near 0%.
# 2. `bico-reverse`: BICO answers the reversed queries (paper: ~70%), beating a shuffled-targets control.
# 3. `bico-beats-ntp`: BICO's reverse accuracy exceeds NTP's at equal compute (same statements, steps, batch, init).
# 4. `bico-keeps-forward`: BICO keeps NTP's forward accuracy.
#
# **Replicated here, as an analogue:** tiny Llamas (`shared.lm.family`) trained from scratch by the shared trainer on
# 100 fictitious facts of syllable tokens (`method.SlotFacts`: the shared `FictitiousFacts` with one syllable pool per
# slot, so that a token says which slot of which entity it fills): 50 seen only as "A is B" (the test
# facts) and 50 seen in both directions (they teach the reversed template, as the "both directions" subset of
# Berglund et al. does, and as a pretrained model already knows it). One unit = one seed: its own facts and its own
# initialisation, shared by the two arms. **Not replicated:** Llama-7B/13B with LoRA, GLM-10B, Berglund et al.'s
# English data, the BLEU scores of the description-generation directions (see the README's scope table).
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0, 1, 2, 3, 4]  # independent units: a seed draws its own facts and the initialisation of both arms
N_FACTS = 100  # fictitious facts per seed
FORWARD_ONLY = 50  # of them seen only as "A is B" (the test facts); the rest are trained in both directions
NAME_LEN = 2  # syllable tokens per name (entity A)
DESC_LEN = 3  # syllable tokens per description (entity B)
SYLLABLES = 32  # syllables per slot pool (each of the 2 name and 3 description slots has its own)
HIDDEN = 64  # model width d
LAYERS = 2  # transformer blocks
HEADS = 4  # attention heads per block
TIE_EMBEDDINGS = False  # untied input and output embeddings (Llama's own choice)
STEPS = 400  # optimiser steps per arm (equal compute: the same for NTP and BICO)
BATCH = 32  # statements per step
LR = 0.003  # peak learning rate (warmup, cosine decay to 10%)
WARMUP = 20  # warmup steps
WEIGHT_DECAY = 0.01  # AdamW weight decay on matrices
TRAIN_THREADS = 1  # torch threads of the training loop (other values change the last digits, as another CPU does)

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch

from papers.bico_reversal_2023 import method
from papers.bico_reversal_2023.claims import CLAIMS
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.lm.family import ModelSpec, make_model
from shared.lm.trainer import TrainConfig
from shared.results import start_run

run = start_run("bico_reversal_2023", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
LENGTH = 3 + NAME_LEN + DESC_LEN  # bos, A, is, B, eos


def make_facts(seed: int) -> method.SlotFacts:
    return method.SlotFacts(facts=N_FACTS, name_len=NAME_LEN, desc_len=DESC_LEN, syllables=SYLLABLES, seed=seed)


spec = ModelSpec(vocab_size=make_facts(0).vocab, hidden_size=HIDDEN, layers=LAYERS, heads=HEADS, context=2 * LENGTH,
                 tie_embeddings=TIE_EMBEDDINGS)  # fmt: skip

# %% tags=["nbval-check-output"]
# the pre-registration: the claims, their rules, controls and tolerances, fixed in claims.py before anything runs
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks
# The attention used by BICO's denoising steps is the family's own until it is switched on; switched on, a key after
# the query is scored exactly as the same key placed at the mirrored distance before it (checked against a loop in
# float64); the denoising batches hide exactly one whole entity and ask only for it; a model that has memorised every
# statement answers every query in its trained direction, and the shuffled-targets control scores it 0.

# %% tags=["nbval-check-output"]
ids = torch.randint(5, spec.vocab_size, (3, LENGTH), generator=torch.Generator().manual_seed(0))
plain, routed = make_model(spec, seed=0), make_model(spec, seed=0)
method.enable_bico(routed)
with torch.no_grad():
    torch.testing.assert_close(routed(input_ids=ids).logits, plain(input_ids=ids).logits)
    with method.denoising(routed):
        bidir = routed(input_ids=ids).logits
    # a causal model's first position cannot see the rest; the denoising one does
    assert not torch.allclose(bidir[:, 0], plain(input_ids=ids).logits[:, 0])

T, D = 6, 8
q0, k0, v0 = torch.randn(3, 1, 2, T, D, dtype=torch.float64, generator=torch.Generator().manual_seed(1)).unbind(0)
inv_freq = 1.0 / (10000 ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
torch.testing.assert_close(method.mirrored_reference(q0, k0, inv_freq), method.mirrored_scores(q0, k0, inv_freq))

facts = make_facts(SEEDS[0])
batch = method.bico_batches(method.training_statements(facts, FORWARD_ONLY), 64, facts, denoise_prob=1.0)(
    0, torch.Generator().manual_seed(0)
)
hidden = ~batch["key_padding"]
span_sizes = hidden.sum(1)
assert set(span_sizes.tolist()) <= {NAME_LEN, DESC_LEN} and len(set(span_sizes.tolist())) == 2
assert (batch["input_ids"][hidden] == facts.MASK).all()
assert ((batch["targets"][:, :-1] != -100) == hidden[:, 1:]).all() and (batch["targets"][:, -1] == -100).all()

oracle = method.LookupOracle(method.training_statements(facts, FORWARD_ONLY))
assert method.exact_match(oracle, facts, range(FORWARD_ONLY)).all()
assert method.exact_match(oracle, facts, range(FORWARD_ONLY, N_FACTS), reverse=True).all()
assert not method.exact_match(oracle, facts, range(FORWARD_ONLY), shift=1).any()
print("mirrored attention, denoising batches and exact-match scoring behave as specified")

# %% [markdown]
# ## Experiment
# Per seed: one fact set, then the two arms from the same initialisation, the same statements, steps and batch size.
# NTP: next-token prediction on every step. BICO: with probability 1/2 a denoising step (bidirectional, mirrored
# phases, one entity masked, loss on the masked tokens), otherwise a next-token step. Both are then queried causally
# and greedily: forward `<bos> A is` -> B and reverse `<bos> B is` -> A on the 50 forward-only facts, reverse on the
# 50 two-way facts (the template the model was shown), and the reverse answers against rotated targets (the control).

# %%
cfg_for = lambda seed: TrainConfig(steps=STEPS, batch_size=BATCH, seq_len=LENGTH - 1, lr=LR, warmup=WARMUP,  # noqa: E731
                                   weight_decay=WEIGHT_DECAY, seed=seed, threads=TRAIN_THREADS)  # fmt: skip
rows, curves = [], []
for seed in SEEDS:
    facts = make_facts(seed)
    for arm in ("ntp", "bico"):
        model, result = method.train_arm(arm, facts, FORWARD_ONLY, spec, cfg_for(seed))
        rows.append({"seed": seed, "arm": arm, **method.score_arm(model, facts, FORWARD_ONLY)})
        curves += [{"seed": seed, "arm": arm, "step": h["step"], "loss": h["loss"]} for h in result.history]
results = pd.DataFrame(rows)
curves = pd.DataFrame(curves)
results.groupby("arm", sort=False)[["forward", "reverse", "reverse_shuffled", "reverse_both"]].agg(
    ["mean", "min", "max"]
)

# %% [markdown]
# ## Paper vs ours

# %%
by = results.set_index(["arm", "seed"])
ntp, bico = by.loc["ntp"], by.loc["bico"]
share = {"n_unit": "seeds", "bounds": (0.0, 1.0)}
measurements = {
    "ntp-reverse-curse": Measurement.mean(ntp.reverse, **share),
    "bico-reverse": Measurement.mean(bico.reverse, **share),
    "bico-beats-ntp": Measurement.paired_difference(bico.reverse, ntp.reverse, n_unit="seeds"),
    "bico-keeps-forward": Measurement.paired_difference(ntp.forward, bico.forward, n_unit="seeds"),
}
controls = {"bico-reverse": Measurement.paired_difference(bico.reverse, bico.reverse_shuffled, n_unit="seeds")}
checks = {
    "ntp-learned-facts": Measurement.mean(ntp[["forward", "reverse_both"]].min(axis=1), **share),
    "bico-learned-facts": Measurement.mean(bico[["forward", "reverse_both"]].min(axis=1), **share),
}
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls, checks=checks)
verdict_table(claim_results)

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
ax = axes[0]
cols = ["forward", "reverse", "reverse_shuffled", "reverse_both"]
labels = [
    "forward\n(A is -> B)",
    "reverse\n(B is -> A)",
    "reverse vs\nshuffled targets",
    "reverse, facts\ntrained both ways",
]
for k, arm in enumerate(("ntp", "bico")):
    sub = results[results.arm == arm]
    x = [i + (k - 0.5) * 0.35 for i in range(len(cols))]
    ax.bar(x, sub[cols].mean(), width=0.35, label=arm.upper(), color=f"C{k}", alpha=0.8)
    for i, c in enumerate(cols):
        ax.plot([x[i]] * len(sub), sub[c], "k.", ms=4)
ax.set_xticks(range(len(cols)), labels, fontsize=8)
ax.set(ylabel="exact match (dots: seeds)", ylim=(0, 1.05), title="Forward-only facts: NTP vs BICO")
ax.axhline(0.70, color="gray", ls=":", lw=1)
ax.text(3.4, 0.71, "paper, BICO reverse", fontsize=7, ha="right", color="gray")
ax.legend()
ax = axes[1]
for k, arm in enumerate(("ntp", "bico")):
    mean = curves[curves.arm == arm].groupby("step").loss.mean()
    ax.plot(mean.index, mean.values, color=f"C{k}", label=arm.upper())
ax.set(xlabel="step", ylabel="training loss (nats, logged steps)", yscale="log", title="Training loss")
ax.legend()
fig.tight_layout()
run.save_figure(fig, "reversal")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# *Default run* (5 seeds x 2 arms, 400 steps of 32 statements each; one seed = one set of 100 facts and one
# initialisation shared by both arms). Values are means over seeds with 95% bootstrap intervals over seeds.
#
# **The reversal curse (`ntp-reverse-curse`, reproduced).** Trained with next-token prediction, every model learns
# every fact it was shown, in the direction it was shown (forward exact match 1.0 on the 50 forward-only facts, reverse
# 1.0 on the 50 facts trained both ways, so the reversed template itself is known), and answers none of the reversed
# queries about the forward-only facts: 0 of 250. This is the paper's 0% for Llama, at a scale where it cannot be
# blamed on a prompt format the model never saw.
#
# **BICO (`bico-reverse`, `bico-beats-ntp`, reproduced).** The same models, initialisation, statements and number of
# steps, with half of the steps bidirectional denoising steps, answer 61.6% [52.0, 71.2] of the reversed queries
# (per seed 48-74%), a gain of 61.6 points over NTP at equal compute; the paper reports about 70% for Llama-7B.
# Scored against another fact's name (the shuffled-targets control), the same answers are right 0 times in 250: the
# model retrieves the right name, not some trained name. **Forward accuracy is kept** (`bico-keeps-forward`,
# reproduced): 1.0 in both arms for every seed.
#
# **How firm.** Re-run with seeds 5-9 (other facts, other initialisations) the verdicts did not move: BICO's reverse
# accuracy was 70.0% [60.4, 78.0], NTP's 0. Re-run with the same seeds at one thread and on the AVX2 code path, every
# value was identical. The `full` profile (10 seeds, 1000 steps; re-run on the fixed family, 247.5 s;
# `results/full.json`): NTP 0 of 500 reversed queries, BICO 83.0% [79.0, 87.2] (per seed 70-96%), forward 1.0 in both
# arms, shuffled targets 0; 4/4 reproduced, every value as before the family fix. The verdicts match the default's;
# with 2.5x the steps BICO's reverse accuracy rises past the paper's 70% (interval disjoint from the default's 61.6%
# [52.0, 71.2]), while NTP's stays at 0.
#
# The training-loss panel mixes BICO's two kinds of step (the logged steps fall on next-token or denoising steps at
# random), so its zig-zag is not instability; NTP's floor near 0.7 nats is the unpredictable first name token.
#
# **What the analogue needed, and what it shows.** Two choices made in a pilot (seeds 100-104, before the claims were
# committed) decide whether the effect appears at all in a model trained from scratch: (1) each name and description
# slot draws its syllables from its own pool; with the shared generator's one pool per entity type BICO's reverse
# accuracy stayed at 0-14%; (2) the denoising steps mask a whole entity (the name or the description) rather than 15%
# of tokens (0-28% in the pilot). Both point the same way: the bidirectional steps teach the model to produce the
# name from the description's *tokens*, and that transfers to a causal query only when the tokens themselves say what
# they are. A pretrained Llama brings that for free (words are not interchangeable syllables), which may be why the
# paper's simpler 15% token mask suffices there. The mirrored rotary phases are the official recipe and are used here;
# whether they matter was not tested (one pilot run without them did as well, 2 seeds: not evidence either way).
