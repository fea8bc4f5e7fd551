# %% [markdown]
# # Broken-Token (arXiv:2510.26847): characters per token separates obfuscated text from natural text
#
# Zychlinski & Kainan, *Broken-Token: Filtering Obfuscated Prompts by Counting Characters-Per-Token* (2025), catalog
# id 194.
#
# **Claims under test.** BPE tokenizers trained on natural language cut ciphers and encodings into many short tokens,
# so one threshold on the average number of characters per token (CPT)
# 1. detects encoded text with near-perfect accuracy across tokenizers and encodings (Abstract, Sec. 5);
# 2. ranks encoded below natural text almost perfectly (AUROC);
# 3. stays accurate for very short inputs;
# 4. (hard negatives) flags obfuscation, not unfamiliar text: a deployable filter with near-perfect accuracy must
#    leave natural text unflagged, here natural text in four other languages under the English-fitted thresholds.
#
# **Replicated here** (analogue): 2,000 natural English texts (fortunes, KJV verses, WordNet glosses, GTK/glibc UI
# strings), each also obfuscated with one of 11 encodings (base64, hex, binary, URL, ROT13, Caesar-3, Atbash,
# leetspeak, Morse, reversed, character-spaced); four released tokenizers (o200k, cl100k, r50k, Llama 2); a threshold
# per tokenizer fitted on half of the texts, evaluated on the other half, by input length.
# **Not replicated, and why:** the paper's 100,000+ jailbreak prompts (not available offline: benign inputs here are
# natural sentences, not prompts) and its exact set of encodings and tokenizers. Natural text in other languages is
# a harder negative class: claim `natural-specificity` asks whether the English-fitted thresholds leave it unflagged.
# Beside the three detection claims runs a trivial control, a length-only detector (one threshold on the number of
# characters, fitted the same way): CPT must beat it on the same test strings.
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0]  # the sampling of texts, encodings and the train/test split
N_PER_SOURCE = 500  # natural texts drawn from each of the 4 sources
MAX_CHARS = 400  # longer texts are cut at a word boundary before this many characters
TOKENIZERS = ["tiktoken:o200k_base", "tiktoken:cl100k_base", "tiktoken:r50k_base", "llama2"]  # released tokenizers
SHORT = 50  # inputs shorter than this many characters form the "short" bucket
OTHER_LANGS = ["de", "ru", "ja", "hi"]  # natural non-English UI strings: the hard negatives of `natural-specificity`
N_OTHER = 400  # distinct random natural strings per language of OTHER_LANGS (at least SHORT characters)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from papers.broken_token_2025.claims import CLAIMS
from papers.broken_token_2025.method import ENCODINGS, auroc, cpt, fit_threshold, mean_auroc_of_resample
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.data import load_parallel, load_text
from shared.results import start_run
from shared.tokenization import load

run = start_run("broken_token_2025", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
preregister(CLAIMS)


def clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS].rsplit(" ", 1)[0]


# %% [markdown]
# ## Sanity checks
# Each encoding changes the text and the reversible ones decode back; under every tokenizer, hex and binary text has
# fewer characters per token than the natural sentence, and character-spaced text at most about 2 (a letter and a
# space per token at best).

# %% tags=["nbval-check-output"]
import base64
import codecs

sample = "Attack at dawn, 42 ships."
encoded = {name: fn(sample) for name, fn in ENCODINGS.items()}
assert all(e != sample for e in encoded.values())
assert base64.b64decode(encoded["base64"]).decode() == sample and bytes.fromhex(encoded["hex"]).decode() == sample
assert codecs.decode(encoded["rot13"], "rot13") == sample and encoded["reversed"][::-1] == sample
toks = {name.split(":")[-1]: load(name) for name in TOKENIZERS}
for name, tok in toks.items():
    nat, hx, bn, sp = cpt(tok, [sample, encoded["hex"], encoded["binary"], encoded["spaced"]])
    assert max(hx, bn) < nat and sp <= 2.1, (name, nat, hx, bn, sp)
print(f"{len(ENCODINGS)} encodings, {len(toks)} tokenizers: ok")

# %% [markdown]
# ## Experiment

# %%
rng = np.random.default_rng(SEEDS[0])
sources = {"fortunes": load_text("fortunes")["text"], "kjv": load_text("kjv")["text"],
           "wordnet": load_text("wordnet")["text"],
           "ui strings": list(load_parallel("en", "de", corpus="gettext")["en"])}  # fmt: skip
natural = []
for src, texts in sources.items():
    for i in rng.choice(len(texts), N_PER_SOURCE, replace=False):
        t = clip(texts[int(i)])
        if t:
            natural.append((src, t))
names = list(ENCODINGS)
rows = []
for k, (src, text) in enumerate(natural):
    split = "train" if k % 2 == 0 else "test"
    enc = names[int(rng.integers(len(names)))]
    rows.append({"source": src, "encoding": "natural", "text": text, "split": split})
    rows.append({"source": src, "encoding": enc, "text": ENCODINGS[enc](text), "split": split})
data = pd.DataFrame(rows)
data["encoded"] = data.encoding != "natural"
data["chars"] = data.text.str.len()
data["bucket"] = np.where(data.chars < SHORT, f"< {SHORT} chars", f">= {SHORT} chars")

other_parts = []
for lang in OTHER_LANGS:  # hard negatives: distinct random natural strings of each language, as long as `>= SHORT`
    pool = sorted({t for t in (clip(x) for x in load_parallel("en", lang, corpus="gettext")[lang]) if len(t) >= SHORT})
    assert len(pool) >= N_OTHER, (lang, len(pool))  # equal counts: the pooled share weighs every language alike
    pick = rng.choice(len(pool), N_OTHER, replace=False)
    other_parts.append(pd.DataFrame({"lang": lang, "text": [pool[int(i)] for i in pick]}))
others = pd.concat(other_parts, ignore_index=True)
other_flags = np.zeros((len(others), len(toks)), dtype=bool)  # [strings, tokenizers]: flagged as encoded
res, per_enc, thresholds = [], [], {}
for name, tok in toks.items():
    data[name] = cpt(tok, list(data.text))
    tr, te = data[data.split == "train"], data[data.split == "test"]
    thr = thresholds[name] = fit_threshold(tr[name].values, tr.encoded.values)
    if "length-only" not in thresholds:  # the trivial control: "encoded" when longer than a fitted number of characters
        thresholds["length-only"] = fit_threshold(-tr.chars.values.astype(float), tr.encoded.values)
    pred = te[name] < thr
    for bucket in sorted(te.bucket.unique()):
        sel = (te.bucket == bucket).values
        res.append({"tokenizer": name, "bucket": bucket, "threshold": thr, "n": int(sel.sum()),
                    "accuracy": float((pred[sel] == te.encoded[sel]).mean()),
                    "auroc": auroc(te[name].values[sel], te.encoded.values[sel])})  # fmt: skip
    for enc in names:
        sel = (te.encoding == enc).values
        per_enc.append({"tokenizer": name, "encoding": enc, "detected": float(pred[sel].mean())})
    nat = te.encoding == "natural"
    per_enc.append(
        {"tokenizer": name, "encoding": "natural (false alarms)", "detected": float(pred[nat.values].mean())}
    )
    other_flags[:, list(toks).index(name)] = cpt(tok, list(others.text)) < thr
results = pd.DataFrame(res)
detection = pd.DataFrame(per_enc).pivot(index="encoding", columns="tokenizer", values="detected")
results.round(4)

# %% [markdown]
# ## Paper vs ours

# %% [markdown]
# The unit of every interval is the string (one data draw), not the tokenizer: each test string carries its CPT and
# its classification under every tokenizer, and the bootstrap resamples whole strings. Accuracy averaged over
# tokenizers is the mean over strings of the share of tokenizers that classify the string correctly. The control
# margins are paired over the same strings (CPT's share correct minus the length-only detector's, per string; the
# AUROC difference per bootstrap resample). `natural-specificity` is the share of (string, tokenizer) pairs left
# unflagged among the non-English strings (N_OTHER per language), with a bootstrap over strings; its precondition is
# the same share on the English natural test strings of at least SHORT characters.

# %%
test = data[data.split == "test"]
cpts = test[list(toks)].to_numpy()  # [strings, tokenizers]
labels = test.encoded.to_numpy()
correct = (cpts < np.array([thresholds[t] for t in toks])) == labels[:, None]
is_long = (test.bucket == f">= {SHORT} chars").to_numpy()

chars = test.chars.to_numpy().astype(float)
len_correct = ((-chars < thresholds["length-only"]) == labels).astype(float)  # the length-only detector, per string

mean_auroc = mean_auroc_of_resample(cpts, labels)  # f(test-string indices): AUROC averaged over tokenizers
len_auroc = mean_auroc_of_resample(-chars[:, None], labels)  # the same for the length-only score (longer = encoded)
long_idx = np.flatnonzero(is_long).tolist()
nat_long = (~labels) & is_long  # English natural test strings of at least SHORT characters

measurements = {
    "cpt-accuracy": Measurement.mean(correct[is_long].mean(axis=1), n_unit="test strings", bounds=(0, 1)),
    "cpt-auroc": Measurement.bootstrap(long_idx, mean_auroc, n_unit="test strings", bounds=(0, 1)),
    "natural-specificity": Measurement.mean((~other_flags).mean(axis=1), n_unit="natural non-English strings",
                                            bounds=(0, 1)),
    "short-inputs": Measurement.mean(correct[~is_long].mean(axis=1), n_unit="test strings", bounds=(0, 1)),
}  # fmt: skip
controls = {  # CPT's margin over the length-only detector, paired over the same test strings
    "cpt-accuracy": Measurement.paired_difference(correct[is_long].mean(axis=1), len_correct[is_long],
                                                  n_unit="test strings"),
    "cpt-auroc": Measurement.bootstrap(long_idx, lambda idx: mean_auroc(idx) - len_auroc(idx), n_unit="test strings"),
    "short-inputs": Measurement.paired_difference(correct[~is_long].mean(axis=1), len_correct[~is_long],
                                                  n_unit="test strings"),
}  # fmt: skip
checks = {"english-specificity": Measurement.mean(correct[nat_long].mean(axis=1), n_unit="English natural strings",
                                                  bounds=(0, 1))}  # fmt: skip
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls, checks=checks)
verdict_table(claim_results)

# %% [markdown]
# Share of test inputs flagged as encoded, per encoding (natural row: false alarms):

# %%
detection.round(3)

# %% [markdown]
# The hard negatives of `natural-specificity`, per language and tokenizer: the share of natural UI strings left
# unflagged by the English-fitted threshold, with a Wilson interval over the strings (N_OTHER per cell); the row
# `en (test)` is the English natural test strings of the same length. The claim's value is the mean of the
# non-English cells.

# %%
spec = {}
for j, name in enumerate(toks):
    cells = {lang: ~other_flags[(others.lang == lang).to_numpy(), j] for lang in OTHER_LANGS}
    cells["en (test)"] = correct[nat_long, j].astype(bool)
    for lang, ok in cells.items():
        m = Measurement.proportion(int(ok.sum()), int(ok.size), n_unit="strings")
        spec[(lang, name)] = f"{m.value:.3f} [{m.low:.3f}, {m.high:.3f}]"
pd.Series(spec).unstack()

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 4.3))
name = list(toks)[0]
ax = axes[0]
bins = np.linspace(0, data[name].quantile(0.995), 60)
ax.hist(data[~data.encoded][name], bins=bins, alpha=0.6, label="natural")
ax.hist(data[data.encoded][name], bins=bins, alpha=0.6, label="encoded")
ax.axvline(results[results.tokenizer == name].threshold.iloc[0], color="k", ls="--", label="threshold")
ax.set(xlabel=f"characters per token ({name})", ylabel="inputs", title="CPT of natural and encoded text")
ax.legend()
ax = axes[1]
detection.drop(index="natural (false alarms)").plot.barh(ax=ax)
ax.set(xlabel="share of encoded test inputs detected", ylabel="", title="Detection by encoding")
ax.legend(fontsize=7)
fig.tight_layout()
run.save_figure(fig, "cpt_filter")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# *Default run* (2,000 texts, 4 tokenizers; intervals are bootstraps over strings: 1,458 test strings of at least 50
# characters, 542 shorter ones, 1,600 non-English hard negatives): the paper's detection claims hold on this analogue,
# accuracy 0.996 [0.993, 0.998], AUROC 0.9995 [0.9988, 0.9998], short inputs 0.940 [0.921, 0.954], each well above
# the length-only control (margins 0.40 [0.38, 0.43], 0.37 [0.34, 0.40] and 0.35 [0.31, 0.40]). The *full* run
# (8,000 texts, 7 tokenizers including Gemma 3, Llama 3 and Qwen 3; 5,808 + 2,192 test strings, 2,400 hard negatives)
# gives the same verdicts: 0.993 [0.991, 0.994], 0.9983 [0.9971, 0.9990], 0.939 [0.930, 0.947]. Other draws of the
# texts, encodings, split and hard negatives (seeds 1 and 2) move no verdict.
#
# Encodings that change the alphabet (base64, hex, binary, Morse, character spacing) sit far below any natural
# text's CPT, because a natural-language vocabulary has no long tokens for them; substitution ciphers (ROT13, Caesar,
# Atbash) and leetspeak keep the word shapes but destroy the frequent subwords, and are caught just as well. The
# hardest encodings are the ones that leave most of the text intact: URL-encoding only escapes spaces and punctuation
# (84-94% detected) and reversed text keeps letter bigrams plausible (91-100%). Short inputs average over fewer
# tokens, so accuracy drops from above 99% to about 94%.
#
# The hard negatives are where the filter fails: the English-fitted thresholds leave English natural text unflagged
# (precondition 0.995 default, 0.990 full) but only 0.341 [0.326, 0.356] of natural German, Russian, Japanese and
# Hindi strings (full: 0.438 [0.424, 0.453]), far below the 0.90 that near-perfect accuracy on balanced inputs
# requires: *not reproduced*. The table above shows why: CPT measures how well a tokenizer covers a script, not
# whether a text is obfuscated. German passes under every tokenizer but r50k (0.07); Russian passes only under
# multilingual vocabularies (o200k 0.88-0.92, Gemma 3, Llama 3, Qwen 3) and fails under r50k (0.00) and cl100k
# (0.26-0.31); Hindi passes only under Gemma 3 (0.94) and partly under o200k (0.68-0.73); Japanese is flagged by
# every tokenizer (at most 0.11 left unflagged), because its characters are dense and its natural CPT is close to 1.
# A deployment needs per-language (or per-script) thresholds; one English-fitted threshold is not model-agnostic in
# this sense.
