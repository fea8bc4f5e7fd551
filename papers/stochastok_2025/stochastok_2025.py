# %% [markdown]
# # StochasTok (arXiv:2506.01687): pretraining on randomly split tokens lets LMs see inside tokens, at no cost to language modelling
#
# Sims, Foster, Kaleb, Nguyen, Lee, Foerster, Teh & Lu, *StochasTok: Improving Fine-Grained Subword Understanding in
# LLMs* (2025), catalog id 183.
#
# **The method.** Tokenize canonically, then make `floor(p * len)` attempts: pick a position of the current sequence
# at random and, if its token can be written as two vocabulary tokens, replace it by one such pair (chosen at random).
# The model trains on these split streams and is evaluated on canonical tokens. The split table and the expansion
# (reference and fast path, tested against each other) are `shared.tokenization.stochastok`.
#
# **Claims under test.**
# 1. Pretraining with StochasTok substantially improves accuracy on subword-level language games after the same
#    finetuning (Sec. 4, LangGame);
# 2. it does not degrade language modelling under the canonical tokenization (Sec. 4);
# 3. StochasTok-pretrained models are robust to non-canonical tokenizations of their input (Sec. 5).
#
# **Replicated here, scaled down:** tiny Llama-style LMs (width 64, 2 layers in the default run) pretrained from
# scratch on English prose (KJV, fortunes, WordNet glosses) tokenized with the project's 8k byte-level BPE, with and
# without StochasTok (`p = 0.1`, the paper's value), then finetuned on three language games over frequent words of the
# corpus (first letter, last letter, spelling: ` water spell = w a t e r`) and scored by exact match on held-out words;
# 3 seeds, paired by seed; the StochasTok arm pretrains on as many bytes as the canonical one (~8% more steps).
# **Not replicated, and why:** the paper's ~50M-parameter models, OpenWebText and GPT-2's tokenizer (CPU budget); its
# LangGame multiple-choice suite (our games are generative, one letter per token); the multi-digit addition experiment
# and StochasTok in post-training only (time). The default run pretrains for seconds: too little for a model to learn
# much about its tokens' spellings, so its game verdict says little; the `full` profile pretrains 15x longer, on 4x the text, with 4 seeds.
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0, 1, 2]  # independent runs (initialisation, batches, StochasTok draws, word split); paired across arms
CORPORA = ["kjv", "fortunes", "wordnet"]  # shared.data text corpora, interleaved document by document
CORPUS_CHARS = 1000000  # characters of text for pretraining (5% of the token stream is held out)
EXPAND_PROP = 0.1  # StochasTok's p: expansion attempts per canonical token (the paper's default)
DIM = 64  # model width
LAYERS = 2  # transformer layers
HEADS = 4  # attention heads
CTX = 64  # pretraining window, tokens
PRETRAIN_STEPS = 30  # pretraining steps of the canonical arm (the StochasTok arm: as many bytes, see below)
BATCH = 16  # pretraining windows per step
LR = 0.003  # peak pretraining learning rate (warmup + cosine)
GAMES = ["first", "last", "spell"]  # language games (method.GAMES)
N_WORDS = 400  # most frequent corpus words of 4-9 letters used by the games
N_TEST_WORDS = 150  # held-out words (never seen in finetuning)
FT_STEPS = 60  # finetuning steps on the games (same for both arms)
FT_BATCH = 32  # finetuning examples per step
FT_LR = 0.001  # finetuning learning rate (constant)
VAL_TOKENS = 16384  # held-out canonical tokens for the loss per byte (256 windows)

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from papers.stochastok_2025 import method
from papers.stochastok_2025.claims import CLAIMS
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.data import load_tokenizer
from shared.results import start_run
from shared.tokenization import SplitTable, expand, expand_reference, from_hf

run = start_run("stochastok_2025", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
preregister(CLAIMS)

tok = from_hf("bpe-8k", load_tokenizer("bpe-8k"))
table = SplitTable.from_tok(tok)
token_len = np.array([len(b) for b in tok.token_bytes])
docs = method.corpus(CORPORA, CORPUS_CHARS)
stream = method.encode_docs(tok, docs)
cut = int(0.95 * len(stream))
train_stream, val_stream = stream[:cut], stream[cut : cut + VAL_TOKENS]
words = method.game_words(docs, N_WORDS)

# %% [markdown]
# ## Sanity checks
# Every multi-byte token of the BPE has a split into two vocabulary tokens that spell it; StochasTok leaves the bytes
# of the stream unchanged and lengthens it by at most `p`; the fast path and the reference agree on the mean number
# of splits; exact match under teacher forcing equals exact match of greedy decoding.

# %% tags=["nbval-check-output"]
tb = token_len
multi = [t for t in range(len(tb)) if tb[t] > 1 and t not in tok.special_ids]
assert all(table.n_splits[t] >= 1 for t in multi), "a BPE token without a split"
assert all(tok.token_bytes[a] + tok.token_bytes[b] == tok.token_bytes[t]
           for t in multi[::50] for a, b in table.splits(t))  # fmt: skip
sample = train_stream[:20000]
out = expand(sample, table, EXPAND_PROP, np.random.default_rng(0))
assert tok.decode_bytes(out) == tok.decode_bytes(sample) and len(sample) < len(out) <= len(sample) * (1 + EXPAND_PROP)
short = train_stream[:500]
fast = [len(expand(short, table, EXPAND_PROP, np.random.default_rng(s))) for s in range(200)]
ref = [len(expand_reference(short.tolist(), table, EXPAND_PROP, np.random.default_rng(s))) for s in range(200)]
assert abs(np.mean(fast) - np.mean(ref)) < 4 * np.std(fast) / np.sqrt(100), (np.mean(fast), np.mean(ref))
probe = method.make_model(tok.vocab_size, 16, 1, 2, CTX, 0)
game = method.language_games(tok, words[:8], GAMES)
probe_em = method.exact_match(probe, game)
for i in range(len(game)):
    assert probe_em[i] == (method.greedy(probe, game.prompts[i], len(game.answers[i])) == game.answers[i])
print("every multi-byte token has a split; StochasTok keeps the bytes and lengthens by at most p; fast path = "
      "reference; teacher-forced exact match = greedy exact match: ok")  # fmt: skip

# %% [markdown]
# The fast path against the reference on one stream of 20k tokens (the reference inserts into a Python list):

# %%
t0 = time.perf_counter()
expand_reference(sample.tolist(), table, EXPAND_PROP, np.random.default_rng(0))
t_ref = time.perf_counter() - t0
t0 = time.perf_counter()
expand(sample, table, EXPAND_PROP, np.random.default_rng(0))
t_fast = time.perf_counter() - t0
print(f"{len(multi)} multi-byte tokens, each with >= 1 split ({table.n_splits.sum()} splits in all); "
      f"{len(stream):,} canonical tokens; expansion of 20k tokens: +{len(out) / len(sample) - 1:.3f} tokens per token")  # fmt: skip
print(f"expand: {t_ref / t_fast:.1f}x faster than expand_reference on 20k tokens")

# %% [markdown]
# ## Experiment
# Per seed: a fresh StochasTok expansion of the training stream and a fresh word split; two models from the same
# initialisation pretrained on the same number of bytes, one on canonical tokens and one on the expanded stream (the
# expanded stream spells the same bytes in ~8% more tokens, so at equal steps the StochasTok arm would see ~7% fewer
# bytes: it pretrains for `method.byte_matched_steps` steps, `PRETRAIN_STEPS` times its tokens-per-byte ratio, with
# the same windows, batch and schedule shape);
# held-out loss per byte on canonical and on StochasTok-split text; then the same finetuning on the games and exact
# match on held-out words. The units of the intervals are kept: each held-out text window (loss per byte, canonical
# and split text gathered into the same windows) and each held-out game example (hit or miss, and whether the most
# frequent finetuning answer would have been right: the answer-frequency floor).

# %%
rows, games_rows, window_rows, item_rows = [], [], [], []
for seed in SEEDS:
    rng = np.random.default_rng(seed)
    arms = {"canonical": train_stream, "StochasTok": expand(train_stream, table, EXPAND_PROP, rng)}
    split_val = expand(val_stream, table, EXPAND_PROP, rng)
    fit_words, test_words = method.split_words(words, N_TEST_WORDS, seed)
    fit_game = method.language_games(tok, fit_words, GAMES)
    test_game = method.language_games(tok, test_words, GAMES)
    floor = method.constant_guess_hits(fit_game, test_game)
    for arm, data in arms.items():
        model = method.make_model(tok.vocab_size, DIM, LAYERS, HEADS, CTX, seed)
        steps = method.byte_matched_steps(PRETRAIN_STEPS, len(train_stream), len(data))
        method.pretrain(model, data, steps, BATCH, CTX, LR, seed)
        v_nats, v_bytes = method.chunk_nats(model, val_stream, val_stream, token_len, CTX)
        s_nats, s_bytes = method.chunk_nats(model, split_val, val_stream, token_len, CTX)
        rows.append({"seed": seed, "arm": arm, "val_nats_per_byte": v_nats.sum() / v_bytes.sum(),
                     "split_val_nats_per_byte": s_nats.sum() / s_bytes.sum(), "pretrain_steps": steps,
                     "pretrain_mbytes": steps * BATCH * CTX * token_len[data].mean() / 1e6})  # fmt: skip
        window_rows += [{"seed": seed, "arm": arm, "window": k, "val_nats": a, "val_bytes": b, "split_nats": c,
                         "split_bytes": d}
                        for k, (a, b, c, d) in enumerate(zip(v_nats, v_bytes, s_nats, s_bytes))]  # fmt: skip
        losses = method.finetune(model, fit_game, FT_STEPS, FT_BATCH, FT_LR, seed)
        em = method.exact_match(model, test_game)
        for g in GAMES:
            games_rows.append({"seed": seed, "arm": arm, "game": g,
                               "accuracy": float(em[np.array(test_game.task) == g].mean())})  # fmt: skip
        item_rows += [{"seed": seed, "arm": arm, "item": i, "word": test_game.words[i], "hit": float(em[i]),
                       "floor": float(floor[i])} for i in range(len(test_game))]  # fmt: skip
        rows[-1]["final_ft_loss"] = float(np.mean(losses[-10:]))

lm = pd.DataFrame(rows)
games = pd.DataFrame(games_rows)
games.pivot_table(index="game", columns="arm", values="accuracy", aggfunc="mean").round(3)

# %% [markdown]
# ## Paper vs ours

# %% [markdown]
# Units: held-out words for the games (each seed holds out 150 of the 400 words, so a word can be held out by several
# seeds: the bootstrap resamples words, each with all its examples, 3 games per seed), paired across the arms; held-out
# text windows of 64 canonical tokens for the losses (the same held-out text in every seed: a window carries its
# losses under all 6 models), with a bootstrap over windows of the pooled loss ratios. The intervals hold the trained
# models fixed: the spread between seeds (training) is what the stability check with other seeds shows. Two preconditions guard the claims: the canonically pretrained
# model must beat the answer-frequency floor of the games (else neither arm can show a gain), and split text must
# degrade the canonical model (else the robustness ratio means nothing).

# %%
ex = pd.DataFrame(item_rows).pivot(index=["seed", "item", "word"], columns="arm", values=["hit", "floor"])
word_id = pd.factorize(ex.index.get_level_values("word"))[0]  # the held-out word of every example
held_words = list(range(word_id.max() + 1))
gain = (ex["hit"]["StochasTok"] - ex["hit"]["canonical"]).to_numpy()
above_floor = (ex["hit"]["canonical"] - ex["floor"]["canonical"]).to_numpy()


def word_mean(values):
    """The mean of `values` over the examples of a resample of held-out words."""

    def statistic(idx):
        w = np.bincount(np.asarray(idx), minlength=len(held_words))[word_id]
        return float(w @ values / w.sum())

    return statistic


win = pd.DataFrame(window_rows).pivot_table(index="window", columns="arm", aggfunc="sum",
                                            values=["val_nats", "val_bytes", "split_nats", "split_bytes"])  # fmt: skip
vS, vC = win["val_nats"]["StochasTok"].to_numpy(), win["val_nats"]["canonical"].to_numpy()
sS, sC = win["split_nats"]["StochasTok"].to_numpy(), win["split_nats"]["canonical"].to_numpy()
vb, sb = win["val_bytes"]["canonical"].to_numpy(), win["split_bytes"]["canonical"].to_numpy()  # the same in both arms
windows = list(range(len(win)))


def _w(idx):  # a resample of windows as multiplicities
    return np.bincount(np.asarray(idx), minlength=len(windows))


def increase(w, split_nats, val_nats):  # nats per byte on split text minus on canonical text, over windows `w`
    return (w @ split_nats) / (w @ sb) - (w @ val_nats) / (w @ vb)


measurements = {
    "games-gain": Measurement.bootstrap(held_words, word_mean(gain), n_unit="held-out words"),
    "lm-unchanged": Measurement.bootstrap(windows, lambda i: (_w(i) @ vS) / (_w(i) @ vC), n_unit="held-out windows"),
    "robust-to-splits": Measurement.bootstrap(windows, lambda i: increase(_w(i), sS, vS) / increase(_w(i), sC, vC),
                                              n_unit="held-out windows"),
}  # fmt: skip
checks = {
    "canonical-beats-floor": Measurement.bootstrap(held_words, word_mean(above_floor), n_unit="held-out words"),
    "splits-degrade-canonical": Measurement.bootstrap(windows, lambda i: increase(_w(i), sC, vC),
                                                      n_unit="held-out windows"),
}  # fmt: skip
claim_results = evaluate_claims(CLAIMS, measurements, checks=checks)
print("preconditions: " + "; ".join(f"{k} {v}" for k, v in checks.items()))
print(f"{PRETRAIN_STEPS} pretraining steps of {BATCH} x {CTX} tokens (canonical arm), width {DIM}, {LAYERS} layers; "
      f"p = {EXPAND_PROP}")  # fmt: skip
print("byte matching (steps and expected MB of text seen, mean over seeds):")
print(lm.groupby("arm")[["pretrain_steps", "pretrain_mbytes"]].mean().round(4).to_string())
verdict_table(claim_results)

# %% [markdown]
# Held-out accuracy per game and loss per byte (means over seeds):

# %%
summary = games.pivot_table(index="game", columns="arm", values="accuracy", aggfunc="mean")
summary.loc["mean over games"] = summary.mean()
print(summary.round(3).to_string())
print(lm.groupby("arm")[["val_nats_per_byte", "split_val_nats_per_byte", "final_ft_loss"]].mean().round(4).to_string())

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
ax = axes[0]
m = games.groupby(["game", "arm"]).accuracy.agg(["mean", "sem"]).unstack("arm")
x = np.arange(len(GAMES))
for k, arm in enumerate(["canonical", "StochasTok"]):
    ax.bar(x + (k - 0.5) * 0.38, m["mean"][arm].reindex(GAMES), 0.38, yerr=m["sem"][arm].reindex(GAMES), label=arm)
ax.set(xticks=x, xticklabels=GAMES, ylabel="held-out exact match", title="Language games after finetuning")
ax.legend()
ax = axes[1]
for arm, grp in lm.groupby("arm"):
    ax.scatter(grp.val_nats_per_byte, grp.split_val_nats_per_byte, label=arm)
lo, hi = lm[["val_nats_per_byte", "split_val_nats_per_byte"]].values.min(), lm[["val_nats_per_byte", "split_val_nats_per_byte"]].values.max()  # fmt: skip
ax.plot([lo, hi], [lo, hi], "k:", lw=1, label="no degradation")
ax.set(xlabel="nats/byte, canonical tokens", ylabel="nats/byte, StochasTok-split tokens",
       title="Held-out text (one point per seed)")  # fmt: skip
ax.legend()
fig.tight_layout()
run.save_figure(fig, "stochastok")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# *Default run* (30 canonical pretraining steps and 32 byte-matched StochasTok steps, 60 finetuning steps, 3 seeds):
# a pipeline-scale run. After 60 finetuning steps the canonical model has not even learnt the games' answer
# frequencies (held-out exact match 0.003 against the answer-frequency floor: `canonical-beats-floor` fails, -0.10
# [-0.13, -0.08]), so `games-gain` (0.029 [0.020, 0.039]) is *inconclusive*: the setup cannot show the effect. Loss per
# byte of canonical held-out text is the same in both arms (0.9997 [0.9986, 1.001]: *reproduced*), and on
# StochasTok-split text the StochasTok model degrades 0.83x as much as the canonical one (*not reproduced* against the
# 0.8 partial bar: after 30 steps the robustness has barely begun to appear).
#
# *Full run* (600 canonical and ~647 byte-matched StochasTok pretraining steps, 300 finetuning steps, 4 seeds, 15 min
# of CPU): still no game gain, 0.0069 [-0.003, 0.018], and the canonical model stays below the answer-frequency floor
# (-0.035 [-0.050, -0.020]), so `games-gain` is *inconclusive*: the tiny models never spell a held-out word. Learning a
# token's letters from the ~10% of its occurrences that StochasTok splits needs far more pretraining than minutes of
# CPU give; the paper pretrains ~50M-parameter models for 30k steps of ~250k tokens. The costs and the robustness are
# measurable at this scale: with as many bytes of text as the canonical arm, StochasTok costs 2.0% in loss per byte on
# canonical text (1.020 [1.018, 1.021], *reproduced* against the 3% bar), and it halves the damage of non-canonical
# tokenizations (0.492 [0.485, 0.499] of the canonical model's degradation: *reproduced*). So, at CPU scale: the
# robustness to split tokens appears clearly, the language-modelling cost is small, and the language-game gain, the
# paper's headline, cannot be shown because the models do not learn the games at all.
