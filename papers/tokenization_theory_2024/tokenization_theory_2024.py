# %% [markdown]
# # Tokenization lets transformers learn k-th order Markov sources (arXiv:2404.08335): with tokens, near-optimal cross-entropy; without, unigram-level
#
# Rajaraman, Jiao & Ramchandran, *Toward a Theory of Tokenization in LLMs* (2024), catalog id 189.
#
# **Claims under test.** On data from a binary k-th order "switching" Markov source (k > 1):
# 1. a transformer trained on raw characters stays at the unigram entropy (it learns incredibly slowly, or not at
#    all) (Sec. 1, Fig. 1);
# 2. the same transformer trained on BPE tokens gets near the entropy rate (Sec. 1, Fig. 1);
# 3. even a *unigram* model over the tokens of a good dictionary gets near the entropy rate, where a unigram model over
#    characters cannot (Sec. 4, Thm. 4.1 for LZW and the BPE analysis of Sec. 4.2).
#
# **Replicated here:** all three, scaled down: the source of Makkuva et al. with k = 2 and flip probabilities
# p = q = 0.8 (entropy rate 0.722 bits/char, unigram entropy 1 bit), a 2-layer d = 32 transformer (the shared
# `shared.lm.family` model with learned positions, LayerNorm and a ReLU MLP, trained by the shared trainer) trained for
# 200 steps on characters and, on the tokens of a 64-token BPE, for the steps that cover **the same number of training
# characters** (200 / characters-per-token, about 30 steps; issue 14: equal steps gave the token model 6-8x more
# characters), 10 seeds, and count-fitted unigram models over BPE dictionaries of 2 to 512 tokens, on 100k training
# characters. The `full` profile trains the character model 1,500 steps of 32 windows (the token model again on as
# many characters) on 10x more data with 5 seeds.
# **Not replicated:** the LZW dictionary of the proofs (BPE only, the tokenizer the paper also analyses), the
# theorems' asymptotic rates, and the paper's transformer sizes and step counts (ours train in seconds on a CPU, so
# claim 1 is judged at the end of that budget, which the verdict table states).
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]  # independent runs (the unit of intervals): source sample, BPE data, model init
K = 2  # order of the switching source: x_n depends on x_{n-K}
P = 0.8  # P(x_n = 1 | x_{n-K} = 0)
Q = 0.8  # P(x_n = 0 | x_{n-K} = 1)
TRAIN_CHARS = 100000  # characters to train tokenizers, unigram models and transformers on
TEST_CHARS = 10000  # held-out characters the bits per character are measured on
DICT_SIZES = [2, 8, 32, 128, 512]  # BPE vocabulary sizes for the unigram-over-tokens sweep
LM_VOCAB = 64  # BPE vocabulary of the tokenized transformer
STEPS = 200  # character-model training steps; the token model trains on as many characters (method.matched_steps)
BATCH = 16  # windows per step
CTX = 64  # window length in tokens (characters for the character model)
DIM = 32  # transformer width
LAYERS = 2  # transformer layers
LR = 0.003  # peak learning rate (linear warmup over 10% of the steps, then cosine decay to 0)
EVAL_EVERY = 50  # character-model steps between learning-curve points (the token model: as many characters)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from papers.tokenization_theory_2024.claims import CLAIMS
from papers.tokenization_theory_2024.method import (
    SwitchingSource,
    bits_per_char,
    chunks,
    encode_chunked,
    lm_spec,
    lm_train_config,
    matched_steps,
    to_text,
    unigram_ce_per_char,
)
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.lm import trainer
from shared.lm.family import make_model
from shared.results import start_run
from shared.tokenization import train

run = start_run("tokenization_theory_2024", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
source = SwitchingSource(K, P, Q)
H, H_UNI = source.entropy_rate, source.unigram_entropy
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks
# The closed-form entropy rate agrees with the empirical log-loss of the true conditional law on a long sample; a
# 2-token "BPE" (the characters themselves) is a character tokenizer, whose unigram model costs H(pi) = 1 bit/char;
# BPE tokens spell the text back exactly.

# %% tags=["nbval-check-output"]
rng = np.random.default_rng(12345)
check = source.sample(400_000, rng)
assert abs(source.optimal_ce(check) / H - 1) < 0.01, source.optimal_ce(check)
text = to_text(check)
char_tok = train(chunks(text[:100_000], 64), 2, pretokenizer="none", alphabet=["0", "1"])
ids = encode_chunked(char_tok, text[100_000:150_000])
assert len(ids) == 50_000 and abs(unigram_ce_per_char(ids, ids, 50_000, 2) - H_UNI) < 0.01
bpe = train(chunks(text[:100_000], 64), 64, pretokenizer="none", alphabet=["0", "1"])
assert bpe.decode_bytes(encode_chunked(bpe, text[:5000])) == text[:5000].encode()
print("sanity checks passed: closed-form entropy rate matches the true law's log-loss within 1%; the 2-token BPE is "
      "the character tokenizer at the unigram entropy; BPE tokens spell the text back")  # fmt: skip

# %% [markdown]
# ## Experiment
# Per seed: a fresh training and test sample; BPE dictionaries of every size trained on the training sample; the
# unigram model over each dictionary's tokens fitted by counting; then the same transformer trained on characters
# for `STEPS` steps and on the `LM_VOCAB`-token BPE stream for the steps that cover the same `STEPS` x `BATCH` x `CTX`
# training characters (`method.matched_steps`, from the stream's characters per token; pre-registered in issue 14:
# the character model's budget is the matched count because the character model is the costly one, and matching the
# token model's characters instead would need ~7x its steps, beyond the default budget), with a learning curve on the
# test sample in characters seen. The transformer is a
# `shared.lm.family` model (learned positions, pre-norm LayerNorm, ReLU MLP, untied output layer: `method.lm_spec`)
# trained by the shared trainer (`shared.lm.trainer.train`, settings in `method.lm_train_config`), the same seed for
# the initialisation and the training windows.

# %%
uni_rows, lm_rows, curves = [], [], []


def learning_curve(seed, name, model, test_ids, n_chars, steps, chars_per_step):
    """The trainer's callback: test bits per character every `EVAL_EVERY` x `BATCH` x `CTX` training characters (the
    last step is scored after)."""
    every = max(1, round(EVAL_EVERY * steps / STEPS))

    def on_step(step, row):
        if step % every == 0 and step < steps:
            curves.append({"seed": seed, "model": name, "step": step, "chars_seen": step * chars_per_step,
                           "bits_per_char": bits_per_char(model, test_ids, n_chars, CTX)})  # fmt: skip

    return on_step


for seed in SEEDS:
    rng = np.random.default_rng(seed)
    tr, te = to_text(source.sample(TRAIN_CHARS, rng)), to_text(source.sample(TEST_CHARS, rng))
    streams = {}
    for v in sorted(set(DICT_SIZES) | {2, LM_VOCAB}):
        tok = train(chunks(tr, 64), v, pretokenizer="none", alphabet=["0", "1"])
        a, b = encode_chunked(tok, tr), encode_chunked(tok, te)
        streams[v] = (np.array(a), np.array(b), tok.vocab_size)
        if v in DICT_SIZES:
            uni_rows.append({"seed": seed, "dict_size": v, "chars_per_token": len(te) / len(b),
                             "unigram_bits_per_char": unigram_ce_per_char(a, b, len(te), tok.vocab_size)})  # fmt: skip
    for name, v in (("characters", 2), (f"BPE-{LM_VOCAB}", LM_VOCAB)):
        a, b, vocab = streams[v]
        cpt = len(tr) / len(a)  # training characters per token (1 for the characters)
        steps = matched_steps(STEPS, cpt)
        model = make_model(lm_spec(vocab, ctx=CTX, dim=DIM, layers=LAYERS), seed)
        on_step = learning_curve(seed, name, model, b, len(te), steps, BATCH * CTX * cpt)
        trainer.train(model, torch.as_tensor(a, dtype=torch.long), lm_train_config(steps, BATCH, CTX, LR, seed),
                      callback=on_step, log=None)  # fmt: skip
        final = bits_per_char(model, b, len(te), CTX)
        lm_rows.append({"seed": seed, "model": name, "steps": steps, "train_chars": steps * BATCH * CTX * cpt,
                        "bits_per_char": final})  # fmt: skip
        curves.append({"seed": seed, "model": name, "step": steps, "chars_seen": steps * BATCH * CTX * cpt,
                       "bits_per_char": final})  # fmt: skip

unigram = pd.DataFrame(uni_rows)
lms = pd.DataFrame(lm_rows)
curve = pd.DataFrame(curves)
summary = unigram.groupby("dict_size")[["chars_per_token", "unigram_bits_per_char"]].mean()
summary["over_entropy_rate"] = summary.unigram_bits_per_char / H
summary.round(4)

# %% [markdown]
# ## Paper vs ours

# %%
by_seed = lms.pivot(index="seed", columns="model", values="bits_per_char")
best_unigram = unigram.groupby("seed").unigram_bits_per_char.min()
measurements = {
    "chars-stuck-at-unigram": Measurement.mean(by_seed["characters"] / H_UNI, n_unit="seeds"),
    "tokens-near-optimal": Measurement.mean(by_seed[f"BPE-{LM_VOCAB}"] / H, n_unit="seeds"),
    "unigram-over-tokens-near-optimal": Measurement.mean(best_unigram / H, n_unit="seeds"),
}
claim_results = evaluate_claims(CLAIMS, measurements)
print(f"budget: {STEPS * BATCH * CTX:,} training characters per model ({STEPS} character steps of {BATCH} x {CTX}); "
      f"entropy rate {H:.4f}, unigram entropy {H_UNI:.4f} bits/char "
      f"(ratio {H_UNI / H:.3f}); {len(SEEDS)} seeds")  # fmt: skip
verdict_table(claim_results)

# %% [markdown]
# Transformers at the end of the budget (equal training characters), steps and bits per character (mean over seeds):

# %%
lms.groupby("model")[["steps", "train_chars", "bits_per_char"]].agg(["mean", "std"]).round(3)

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
ax = axes[0]
for model, grp in curve.groupby("model"):
    m = grp.groupby("step")[["chars_seen", "bits_per_char"]].mean()
    ax.plot(m.chars_seen, m.bits_per_char, "o-", label=f"transformer on {model}")
ax.axhline(H_UNI, color="gray", ls="--", label="unigram entropy H(pi)")
ax.axhline(H, color="k", ls=":", label="entropy rate")
ax.set(xlabel="training characters seen", ylabel="test bits per character", title=f"Switching source, k={K}, p=q={P}")
ax.legend(fontsize=8)
ax = axes[1]
ax.plot(summary.index, summary.unigram_bits_per_char, "s-", label="unigram model over BPE tokens")
ax.axhline(H_UNI, color="gray", ls="--", label="unigram over characters")
ax.axhline(H, color="k", ls=":", label="entropy rate")
ax.set(xscale="log", xlabel="BPE dictionary size", ylabel="held-out bits per character",
       title="Unigram models over tokens")  # fmt: skip
ax.legend(fontsize=8)
fig.tight_layout()
run.save_figure(fig, "markov_tokenization")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# *Default run* (k = 2, p = q = 0.8, 10 seeds, intervals are bootstraps over seeds; since issue 14 both transformers
# train on the same 204,800 characters: the character model 200 steps of 16 x 64, the 64-token BPE model 28-29 steps,
# its stream having about 7 characters per token). Before issue 14 both trained 200 steps, which gave the token model
# ~7x more characters.
#
# At equal characters the character model is not behind. It sits near the unigram entropy early (0.95 bits/char after
# ~51k characters, mean over seeds), then breaks through (0.87 at ~102k, 0.79 at ~154k) and ends at 0.773 [0.754,
# 0.796] of the unigram entropy: claim 1 is *not reproduced* (bar 0.95, partial 0.90; value unchanged, since its
# budget did not change). The token model is ahead early (0.82 bits/char after ~50k characters, 0.80 at ~100k) but
# flattens at 0.796 bits/char, 1.103x [1.092, 1.11] the entropy rate: claim 2 moves from *reproduced* (1.065x, with 7x
# the characters) to *partially reproduced*, its interval straddling the 1.10 bar. The curves cross at about 150k
# characters; at the end of the budget the character model is lower (0.773 vs 0.796 bits/char). At this scale,
# tokenization buys a faster start per character and far fewer steps (29 vs 200, so ~7x less compute per character),
# not a lower loss at equal data; the token model ends where the best unigram model over tokens is (1.097x), as if it
# had learned little beyond token frequencies in 29 steps. Seeds 10-19 (`papers stability`) gave the same three
# verdicts (0.778, 1.099x, 1.097x).
#
# *Full run* (5 seeds, 1M characters, 3.07M training characters per model: 1,500 character steps of 32 x 64, about
# 215 token steps): the character model ends at 0.729 [0.724, 0.733] of the unigram entropy, 1.01x the entropy rate
# (*not reproduced*), the token model at 1.06x [1.053, 1.067] the entropy rate (*reproduced*), the best unigram over
# tokens at 1.096x [1.086, 1.101] (*partially*). The curves cross at about 250k characters; beyond that the character
# model is lower and ends within 1% of the entropy rate, while the token model descends slowly.
#
# The earlier *partially reproduced* of claim 1 (0.944 with the private transformer before issue 18) was traced to
# the token-embedding initialisation (PyTorch's N(0, 1) keeps the model at the plateau, Llama's N(0, 0.02) lets it
# break through; an exploratory ablation on seeds 0-2, not part of the record). So at this scale "stays near the
# unigram entropy" measures an initialisation detail and the budget: the plateau is real but short, which matches the
# paper's revised wording ("incredibly slow") rather than "fails".
#
# The unigram model over tokens falls from 1.385x the entropy rate (2 tokens: characters) to 1.10x at 32-128 tokens,
# then rises again at 512 (1.11x), where the counts of a 100k-character sample are too sparse for the many long
# tokens; the theory's limit assumes the population distribution. The best dictionary per seed gives 1.097x [1.088,
# 1.105]: the interval reaches above the 1.10 bar, so *partially reproduced*.
