# %% [markdown]
# # Exact byte-level probabilities from a tokenized LM (arXiv:2410.09303): the cover sum removes tokenization bias
#
# Phan, Amos, Gat, Havasi, Muckley & Ullrich, *Exact Byte-Level Probabilities from Tokenized Language Models for
# FIM-Tasks and Model Ensembles* (ICLR 2025), catalog id 22.
#
# **Claims under test.**
# 1. *Tokenization bias* (Sec. 3): conditioning a tokenized LM on a prompt's tokens and reading the next byte off the
#    next token gives a next-byte law that differs substantially from the data's, even for a good token model.
# 2. The Byte-Token Representation Lemma (Sec. 4, Prop. 4.2) turns the token LM into an equivalent byte-level one: the
#    probability of a byte prefix is the sum over its *covers*; next-byte laws follow zero-shot and remove the bias.
# 3. This beats token healing, the usual fix for prompts that end inside a token (Sec. 5.1).
# 4. The cover sum is exact (checked here to numerical precision against brute-force enumeration).
#
# **Replicated here** (analogue of the paper's Markov-chain experiment): a random first-order Markov chain over
# `a, b, c` with a known next-character law; a 16-token BPE trained on its output; a count-based token n-gram (order
# chosen on held-out text) as the tokenized LM; 200 prompts per seed, 3 seeds (random chains).
# 5. *FIM* (abstract, Sec. 5): with a real code LM (Qwen2.5-Coder-0.5B-Instruct) on HumanEval, a fill-in-the-middle
#    prompt whose prefix is cut inside a token is repaired better by the exact conversion than by standard prompting
#    and by token healing (scaled down: the probability of repairing the cut token, not pass@1 of generated middles).
#
# **Not replicated:** pass@1 of generated infills on the FIM benchmarks, and model ensembles across vocabularies (up
# to 3.7%), which need several large code and chat LMs.
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0, 1, 2]  # independent runs: a new random chain, sample, tokenizer and prompts each
ALPHABET = "abc"  # the chain's states (one byte each)
CONCENTRATION = 0.5  # Dirichlet concentration of the chain's rows (small: peaked, strongly structured)
TRAIN_CHARS = 500000  # characters the tokenizer and the token LM are trained on
VALID_CHARS = 50000  # held-out characters that choose the n-gram order
VOCAB = 16  # BPE vocabulary size (alphabet included)
ORDERS = [1, 2, 3]  # n-gram orders to choose from
N_PROMPTS = 200  # prompts per seed
PROMPT_LEN = [20, 40]  # prompt lengths are drawn uniformly from [low, high)
BACKOFF = 3  # prompt tokens re-read through the cover sum (the rest stay fixed)
EXACT_LEN = 4  # string length of the brute-force exactness check (V ** EXACT_LEN token sequences)
FIM_MODEL = "qwen2.5-coder-0.5b-instruct"  # the zoo code LM of the fill-in-the-middle test
FIM_PROMPTS = 6  # HumanEval problems, one random mid-token cut each (0: the FIM test is not run)
FIM_MID = [8, 40]  # length in bytes of the hidden middle, uniform in [low, high]
FIM_PREFIX_BYTES = 400  # visible prefix before the cut, at most (whole lines)
FIM_SUFFIX_BYTES = 200  # visible suffix after the middle, at most (whole lines)
FIM_MIN_P = 1e-7  # cover-sum paths below this probability are skipped (their mass is the recorded error bound)
FIM_MAX_CALLS = 40  # forward passes per prompt and pass; beyond it the threshold is raised 10x

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from papers.byte_probs_2024.claims import CLAIMS
from papers.byte_probs_2024.method import (
    MarkovChain,
    NGramLM,
    brute_force_prefix_probs,
    exact_next_char,
    fim_case,
    fim_probabilities,
    total_variation,
)
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.data.loaders import data_path, read_jsonl
from shared.results import start_run
from shared.tokenization import ByteVocab, naive_next_byte, prefix_probability, token_healing_next_byte, train

run = start_run("byte_probs_2024", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
preregister(CLAIMS)


def chunked(text, size):
    return [text[i : i + size] for i in range(0, len(text), size)]


# %% [markdown]
# ## Sanity checks
# The chain's sampler reproduces its transition matrix; BPE tokens spell the text back; the n-gram's next-token laws
# sum to one in every context.

# %% tags=["nbval-check-output"]
rng = np.random.default_rng(999)
chain = MarkovChain.random(ALPHABET, rng, CONCENTRATION)
text = chain.sample(200_000, rng)
idx = np.array([ALPHABET.index(c) for c in text])
emp = np.zeros((len(ALPHABET),) * 2)
np.add.at(emp, (idx[:-1], idx[1:]), 1)
assert np.abs(emp / emp.sum(1, keepdims=True) - chain.transition).max() < 0.01
tok = train(chunked(text, 64), VOCAB, pretokenizer="none", alphabet=list(ALPHABET))
assert tok.decode_bytes(tok.encode(text[:3000])) == text[:3000].encode()
lm = NGramLM(2, tok.vocab_size).fit(tok.encode_batch(chunked(text, 256)))
assert all(abs(lm((t,)).sum() - 1) < 1e-12 for t in range(tok.vocab_size)) and abs(lm(()).sum() - 1) < 1e-12
print("sampler, BPE round trip and n-gram normalisation: ok")

# %% [markdown]
# ## Experiment
# For each seed: sample the chain, train the BPE, fit n-grams of each order and keep the one with the best held-out
# bits per character, check the cover sum against brute force on every string of `EXACT_LEN` characters, then
# predict the next byte after random prompts three ways and compare with the chain's true law.

# %%
rows, order_rows, exact_rows = [], [], []
for seed in SEEDS:
    rng = np.random.default_rng(seed)
    chain = MarkovChain.random(ALPHABET, rng, CONCENTRATION)
    train_text, valid_text = chain.sample(TRAIN_CHARS, rng), chain.sample(VALID_CHARS, rng)
    tok = train(chunked(train_text, 64), VOCAB, pretokenizer="none", alphabet=list(ALPHABET))
    streams = tok.encode_batch(chunked(train_text, 256))
    valid = tok.encode_batch(chunked(valid_text, 256))
    best = None
    for order in ORDERS:
        cand = NGramLM(order, tok.vocab_size).fit(streams)
        nll = -sum(np.log2(cand(tuple(ids[:i]))[t]) for ids in valid for i, t in enumerate(ids))
        order_rows.append({"seed": seed, "order": order, "bits_per_char": nll / len(valid_text)})
        if best is None or nll < best[0]:
            best = (nll, order, cand)
    _, order, lm = best
    vocab = ByteVocab(tok.token_bytes, tok.special_ids)

    # exactness: cover sums against brute-force enumeration, and the law of total probability
    brute = brute_force_prefix_probs(lm, tok.token_bytes, EXACT_LEN)
    cover_err = max(abs(prefix_probability(lm, vocab, s) - p) for s, p in brute.items())
    exact_rows.append({"seed": seed, "order": order, "strings": len(brute), "max_cover_error": cover_err,
                       "total_minus_one": abs(sum(brute.values()) - 1)})  # fmt: skip

    prefixes = {vocab.token_bytes[i] for i in vocab.ids}
    for j in range(N_PROMPTS):
        prompt = chain.sample(int(rng.integers(*PROMPT_LEN)), rng)
        truth = chain.next_char(prompt)
        ids = tuple(tok.encode(prompt))
        last = tok.token_bytes[ids[-1]]
        # the prompt "ends inside a token" when its last token is a proper prefix of another token
        extendable = any(b != last and b.startswith(last) for b in prefixes)
        for method, dist in (("naive", naive_next_byte(lm, vocab, ids)),
                             ("token healing", token_healing_next_byte(lm, vocab, ids)),
                             ("exact (cover sum)", exact_next_char(lm, vocab, tok, prompt, BACKOFF))):  # fmt: skip
            rows.append({"seed": seed, "prompt": j, "method": method, "extendable_end": extendable,
                         "tv": total_variation(dist, truth)})  # fmt: skip

tv = pd.DataFrame(rows)
orders = pd.DataFrame(order_rows)
exactness = pd.DataFrame(exact_rows)
table = tv.pivot_table(index="method", columns="extendable_end", values="tv", aggfunc="mean")
table.columns = [f"ends inside a token: {c}" for c in table.columns]
table.assign(all_prompts=tv.groupby("method").tv.mean()).round(4)

# %% [markdown]
# ## Fill-in-the-middle with a real code LM
# HumanEval problems (prompt + canonical solution), one random cut strictly inside a token of the solution each, in
# Qwen2.5-Coder's `<|fim_prefix|>P<|fim_suffix|>S<|fim_middle|>` format. The number compared is the probability that
# the middle starts with the rest of the cut token (it must, to repair the code): under standard prompting (the cut
# prefix as it is), by the exact conversion (the prefix's last token re-read at the byte level through the cover
# sum), and by token healing; `clean` is the probability of the whole cut token from the prompt cut at the clean
# token boundary before it (the precondition: the model does the task when nothing is cut). Cover sums skip paths
# below `FIM_MIN_P`; `bound` is the resulting error bound per prompt.

# %%
fim_rows = []
if FIM_PROMPTS:
    from shared.models import load as load_model
    from shared.models import require
    from shared.tokenization import from_hf

    require(FIM_MODEL)
    fim_model, fim_hf = load_model(FIM_MODEL)
    fim_tok = from_hf(FIM_MODEL, fim_hf)
    fim_vocab = ByteVocab(fim_tok.token_bytes, set(fim_tok.special_ids))
    special = {k: fim_hf.convert_tokens_to_ids(f"<|fim_{k}|>") for k in ("prefix", "suffix", "middle")}
    problems = read_jsonl(data_path("tasks/humaneval/problems.jsonl"))
    fim_rng = np.random.default_rng((2024, *SEEDS))  # the stability check's other seeds give other problems and cuts
    for k in fim_rng.permutation(len(problems))[:FIM_PROMPTS]:
        pr = problems[int(k)]
        case = fim_case(pr["task_id"], pr["prompt"] + pr["canonical_solution"], len(pr["prompt"].encode()), fim_rng,
                        fim_tok, tuple(FIM_MID), FIM_PREFIX_BYTES, FIM_SUFFIX_BYTES)  # fmt: skip
        fim_rows.append(fim_probabilities(fim_model, fim_tok, fim_vocab, case, special, FIM_MIN_P, FIM_MAX_CALLS))
fim = pd.DataFrame(fim_rows, columns=["task", "tail", "rest", "standard", "exact", "healing", "clean", "bound",
                                      "min_p", "prompt_tokens", "lm_memo"])  # fmt: skip
fim_shown = fim.assign(tail=fim["tail"].map(repr), rest=fim["rest"].map(repr)).drop(columns=["lm_memo"])
run.figures_dir.mkdir(parents=True, exist_ok=True)
fim_shown.to_csv(run.figures_dir / "fim_prompts.csv", index=False, float_format="%.6g")  # every prompt, for the record
if len(fim):
    print(f"{len(fim)} prompts; means: standard {fim.standard.mean():.4f}, exact {fim.exact.mean():.4f}, "
          f"healing {fim.healing.mean():.4f}, clean {fim.clean.mean():.4f}; exact < standard on "
          f"{(fim.exact < fim.standard).sum()}, healing < exact - 0.05 on {(fim.healing < fim.exact - 0.05).sum()}; "
          f"largest pruning bound {fim.bound.max():.2g}; threshold raised above {FIM_MIN_P:g} on "
          f"{(fim.min_p > FIM_MIN_P * 1.0001).sum()} prompts")  # fmt: skip
fim_shown.round(4)

# %% [markdown]
# ## Paper vs ours

# %% [markdown]
# The unit of every interval is the prompt (pooled over the seeds' chains); the three methods are compared on the same
# prompts, so "exact beats healing" is the mean per-prompt difference of their TVs, and its trivial control is doing
# nothing (the naive read-off), also as a per-prompt difference.

# %%
per_prompt = tv.pivot_table(index=["seed", "prompt"], columns="method", values="tv")
naive, healing, exact = per_prompt["naive"], per_prompt["token healing"], per_prompt["exact (cover sum)"]
measurements = {
    "tokenization-bias": Measurement.mean(naive, n_unit="prompts", bounds=(0, 1)),
    "exact-removes-bias": Measurement.mean(exact, n_unit="prompts", bounds=(0, 1)),
    "exact-beats-healing": Measurement.paired_difference(healing, exact, n_unit="prompts"),
    # floored at 1e-12: the round-off of these float64 sums (up to ~1e-14 here) varies between CPUs; the bar is 1e-10
    "cover-sum-exact": Measurement.exact(max(exactness.max_cover_error.max(), exactness.total_minus_one.max(), 1e-12)),
}
controls = {"exact-beats-healing": Measurement.paired_difference(naive, exact, n_unit="prompts")}
if len(fim):
    measurements["fim-exact-beats-standard"] = Measurement.paired_difference(fim.exact, fim.standard, n_unit="prompts")
    controls["fim-exact-beats-standard"] = Measurement.paired_difference(fim.exact, fim.healing, n_unit="prompts")
    checks = {"fim-clean-split": Measurement.mean(fim.clean, n_unit="prompts", bounds=(0, 1))}
else:  # FIM_PROMPTS = 0: not run, inconclusive by design
    nan = Measurement(float("nan"), n=0, n_unit="prompts")
    measurements["fim-exact-beats-standard"], controls["fim-exact-beats-standard"] = nan, nan
    checks = {"fim-clean-split": nan}
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls, checks=checks)
verdict_table(claim_results)

# %% [markdown]
# The n-gram order chosen per seed (held-out bits per character) and the exactness check; errors are shown as
# "below 1e-12" so that the cell's text does not depend on floating-point round-off.

# %%
shown = exactness.assign(
    max_cover_error=np.where(exactness.max_cover_error < 1e-12, "< 1e-12", exactness.max_cover_error.map("{:.2e}".format)),
    total_minus_one=np.where(exactness.total_minus_one < 1e-12, "< 1e-12", exactness.total_minus_one.map("{:.2e}".format)),
)  # fmt: skip
shown.set_index("seed")

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 3, figsize=(17, 4.2))
ax = axes[0]
methods = ["naive", "token healing", "exact (cover sum)"]
data = [tv[tv.method == m].tv.values for m in methods]
ax.boxplot(data, tick_labels=methods, showfliers=False)
ax.set(ylabel="TV distance to the true next-character law", title="Next-byte prediction after a prompt")
ax = axes[1]
for m in methods:
    grp = tv[tv.method == m].groupby("extendable_end").tv.mean()
    ax.plot(["no", "yes"], [grp.get(False, np.nan), grp.get(True, np.nan)], "o-", label=m)
ax.set(xlabel="prompt ends inside a token", ylabel="mean TV", title="Where the bias comes from")
ax.legend(fontsize=8)
ax = axes[2]
if len(fim):
    ax.scatter(fim.standard, fim.exact, s=14, label="exact (cover sum)")
    ax.scatter(fim.standard, fim.healing, s=14, marker="x", label="token healing")
ax.plot([0, 1], [0, 1], color="grey", lw=0.8)
ax.set(xlabel="standard prompting", ylabel="method", title="FIM, Qwen2.5-Coder: P(middle repairs the cut token)")
ax.legend(fontsize=8)
fig.tight_layout()
run.save_figure(fig, "byte_probs")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# *Default run* (3 random chains, 200 prompts each; intervals are bootstraps over the 600 prompts): the naive next-byte
# law is wrong in a structured way. When the prompt's last token could have been the start of a longer token, the
# token LM has learned that the next token never completes it (BPE would have merged it), so the bytes that would do
# so get almost no probability: the naive TV to the chain's law is 0.65 on those prompts and 0.005 on the others (0.547
# [0.521, 0.572] over all prompts), as in the paper's Markov-chain example. The cover sum asks the question at the byte
# level, summing over every way the model could have spelled the prompt's tail, and brings the TV down to 0.008
# [0.0074, 0.0088], the n-gram's own estimation error. Token healing fixes only the last token and stays at 0.18 on
# the affected prompts: per prompt, the exact method is better by 0.148 [0.128, 0.170] TV, and better than doing
# nothing (the naive read-off, the trivial control) by 0.539 [0.513, 0.564], so *reproduced*. (The earlier record
# judged the ratio of the per-chain means, about 20x, whose 3-chain interval was uninformative; the paired per-prompt
# difference is the quantity the claim is about.) The exactness check is an identity of the lemma: cover sums and
# brute-force enumeration agree to round-off (at most 8e-15; recorded at the 1e-12 floor). Three other chains (seeds
# 3-5) give the same four verdicts, but their means differ by about 20% (naive 0.438, exact 0.0064, margin 0.118):
# the prompt-level intervals do not include the chain-to-chain spread. The `full` profile (5 chains, 24 tokens, 2M
# training characters, 500 prompts each) gives naive TV 0.367 [0.356, 0.379], exact 0.0071 [0.0060, 0.0090], exact
# better than healing by 0.137 [0.128, 0.146]: the same four verdicts.
#
# *FIM with Qwen2.5-Coder-0.5B* (one mid-token cut per HumanEval problem; the unit is the problem). In the `full` run
# (100 problems) the probability that the middle repairs the cut token is 0.660 on average under standard prompting,
# 0.829 with the exact conversion and 0.790 with token healing: exact beats standard by 0.170 [0.111, 0.239] per
# prompt, the paper's direction (its 18% is an improvement on FIM coding benchmarks, not this number), and beats
# token healing by 0.039 [0.0094, 0.090], so *reproduced*; the model does the task at a clean split (0.599 [0.526,
# 0.667] >= 0.2). Two things qualify it. The whole margin over healing comes from cuts inside indentation: there the
# prefix ends in a run of spaces whose canonical tokenization would have given its last space to the next word
# (`"   " + " return"`), so healing, which forces the middle to start with a token extending the whole run, puts about
# 1e-5 on `return`, while the cover sum finds the other split (5 such prompts); on the 57 prompts whose tail is not
# whitespace, exact and healing differ by 0.0006 on average (at most 0.014). And the exact conversion is worse than
# standard prompting on 17 prompts, 8 of them with a one-space tail: moving the tail from the FIM prefix into the
# middle changes what the model conditions on, and a FIM model trained on character-level cuts (we did not check how
# Qwen2.5-Coder's were made) has seen prefixes that end in a space. Cover sums skip token paths below 1e-7; the
# largest resulting error bound is 1e-5 and no prompt needed a higher threshold. HumanEval's canonical solutions may be in the model's training data: that lifts all three arms alike
# (the comparison is paired). The default run's 6 problems give 0.347 [0.112, 0.689] but cannot separate exact from
# healing (the margin straddles 0): *inconclusive* by design; seeds 3-5 give 0.133 [-0.021, 0.347], also inconclusive.
