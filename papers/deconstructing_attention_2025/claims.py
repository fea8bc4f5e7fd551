"""The claims of arXiv:2510.11602v1 under test, with their verdict rules: fixed before any run, judged by code after.

The paper's numbers come from its Tab. 1 (500M models, WikiText perplexity). Our quantity is the validation loss
(nats per token) of tiny 2-layer models on project-corpus windows, so each paper value below is the same quantity
computed from the table: the log of a perplexity is a loss, and the ratios and shares use ln(ppl) in place of our
losses. Units are training seeds (every model of one seed resampled together).

Bars and why:
- "on par" (the hybrids): the loss ratio hybrid / standard within +-3% (partial +-6%). The paper's hybrids sit at
  1.003-1.009 (ln 38.5 .. ln 39.4 over ln 38.1), "within a few %" in the catalog's words; 3% leaves room for the noise
  of five tiny models per arm without admitting a gap as large as the paper's *uniform* variants (6%-22%).
- "collapse" (MLP-only): the loss ratio MLP-only / standard at least 1.10 (partial 1.03). The paper's is 1.90 over
  2,048-token contexts; our 64-token windows leave far less for context to add, so the bar is set relative to the
  on-par band instead: a collapse must be at least three times the band (partial: just outside it).
- "keeps most of standard's gain" (uniform variants): the share of standard's gain over MLP-only (the no-mixing
  floor) that the variant keeps, (L_mlp - L_var) / (L_mlp - L_std). The paper's shares: 0.755 RndEmbQK, 0.776
  FixedSeqQK, 0.930 Approximate, -1.38 Non-approximate (worse than MLP-only). Bars: a little under the paper's lowest
  value of each family (0.7 for sequence-independent mixing, 0.8 for the linear form), partial 0.4 / 0.5.
- cooperation: the share of the uniform variant's deficit that the hybrid recovers; paper 0.996 for Non-approximate
  (ln 9E+4 -> ln 39.4 against ln 38.1), 0.958 for RndEmbQK on LAMBADA accuracy (1.3 -> 22.0 against 22.9).

Trivial controls: the no-mixing model (uniform MLP-only) for every "keeps most" claim; for every hybrid, the hybrid
whose variant layer has no mixing at all (the paper's hybrid MLP, (none, softmax)): if the variant layer added
nothing, that control would match it. The unigram floor (no token seen at all) and standard attention at the same
steps and tokens are in every table; the setup must show standard well below the unigram floor (precondition).

Tolerances: measured by re-running the default profile's evaluation at 1 and 2 threads (the checkpoints are fixed, so
only the evaluation's last digits can move) and by retraining (the `full` profile); see each claim's `why`.
"""

from shared.claims import AtLeast, AtMost, Claim, Control, Precondition, Tolerance, Within

V = "2510.11602v1"
FIDELITY = "analogue"  # 2-layer, d = 32 models on 64-token project-corpus windows, not 500M models on SlimPajama

# evaluating fixed fp16 checkpoints in fp32: 1 vs 2 threads can only move the last digits of a loss
_EVAL = Tolerance(rel=2e-3, why="checkpoints are fixed; 1 vs 2 threads moved no value at 4 significant digits; floor "
                  "2e-3 for last-digit drift across CPUs")  # fmt: skip
_SHARE = Tolerance(rel=2e-3, abs=2e-3, why="checkpoints are fixed; a share of loss differences amplifies a "
                   "last-digit drift of the losses by at most ~1/(L_mlp - L_std) < 10x; floor 2e-3")  # fmt: skip

LEARNED = Precondition(
    "standard-learned",
    "standard attention has learned the corpus: its validation loss is at least 10% below the unigram floor "
    "(ratio standard / unigram, geometric mean over seeds)",
    AtMost(0.9),
)
MIXING_MATTERS = Precondition(
    "mixing-matters",
    "token mixing helps at this scale at all: the MLP-only model's loss is above standard's (ratio, geometric mean "
    "over seeds; a share of standard's gain over MLP-only needs that gain to exist)",
    AtLeast(1.01),
)
NONAPX_FAILS = Precondition(
    "nonapx-fails-alone",
    "uniform Non-approximate fails in isolation here: it keeps at most half of standard's gain over MLP-only (the "
    "partial bar of uniform-nonapx-fails)",
    AtMost(0.5),
)
COPY_LEARNED = Precondition(
    "standard-copies",
    "standard attention uses the context to copy: its loss on the second copy of a repeated random sequence is at "
    "least 0.5 nats below its loss on the first copy (mean over seeds)",
    AtLeast(0.5),
)
STATIC_FAILS_COPY = Precondition(
    "static-fails-copy",
    "uniform static mixing fails at the copy probe alone: its in-context gain is at most a quarter of standard's "
    "(ratio of mean gains over seeds)",
    AtMost(0.25),
)
# Added after the session-7 stability check (seeds 5-9 moved hybrid-static-on-par from reproduced to inconclusive: its
# margin over the hybrid MLP-only control straddled 0 there and cleared 0 by 3e-4 in the record). An "on par" verdict
# says something only where dropping the variant layer's mixing would leave the band: if the hybrid MLP-only control
# is itself on par with standard, every hybrid is on par trivially and the claim cannot fail. The paper's setup passes
# this test: its hybrid MLP is at ppl 45.8 against standard's 38.1 (Tab. 1), a loss ratio of 1.051, outside the band.
# The bar is the on-par band's upper edge, judged with the whole interval (fixed before the run that it judges).
HYBRID_MLP_OFF_PAR = Precondition(
    "hybrid-mlp-off-par",
    "the setup can tell a hybrid from standard at all: the hybrid MLP-only control, (none, softmax), falls outside "
    "the on-par band (loss ratio to standard, geometric mean over seeds, above the band's upper edge 1.03)",
    AtLeast(1.03),
)
NO_MIX = Control("uniform MLP-only", "the same model with no token mixing in any layer (the no-context floor): the "
                 "variant must beat it, paired per seed (positive = lower loss than MLP-only)")  # fmt: skip
HYBRID_MLP = Control("hybrid MLP-only", "the hybrid whose variant layer mixes nothing, (none, softmax), the paper's "
                     "hybrid MLP: if the variant layer added nothing it would match; positive = the hybrid's loss is "
                     "lower, paired per seed")  # fmt: skip
HYBRID_MLP_COPY = Control("hybrid MLP-only", "the copy probe's in-context gain of (none, softmax): the softmax layer "
                          "alone, without the variant layer; positive = the hybrid gains more, paired per seed")  # fmt: skip


def _on_par(variant: str, paper_name: str, ppl: float) -> Claim:
    ratio = round(_ln(ppl) / _ln(38.1), 4)
    return Claim(
        f"hybrid-{variant}-on-par",
        f"Interleaved with standard attention, {variant} layers give a loss on par with standard attention",
        paper_value=ratio, unit="loss ratio", paper_ref="Tab. 1 (Hybrid rows); Sec. 5 'Layer collaboration matters'",
        paper_version=V,
        paper_quote=f"Tab. 1, WikiText ppl: Hybrid {paper_name} {ppl}, Standard 38.1; 'All hybrid models [...] achieve "
                    "predictive performance comparable to Standard attention'",
        measures=f"validation loss of ({variant}, softmax) / (softmax, softmax), geometric mean of per-seed ratios "
                 "with a log-scale bootstrap interval over seeds",
        rule=Within(0.97, 1.03, partial=(0.94, 1.06)), fidelity=FIDELITY, control=HYBRID_MLP,
        preconditions=(LEARNED, HYBRID_MLP_OFF_PAR), tolerance=_EVAL)  # fmt: skip


def _ln(x: float) -> float:
    import math

    return math.log(x)


CLAIMS = [
    Claim("mlp-only-collapses", "Without token mixing (MLP-only) the model falls far behind standard attention",
          paper_value=round(_ln(993.5) / _ln(38.1), 4), unit="loss ratio",
          paper_ref="Abstract; Tab. 1 (Uniform MLP); Sec. 5 'Token mixing is crucial'", paper_version=V,
          paper_quote="Tab. 1, WikiText ppl: Uniform MLP 993.5, Standard 38.1; 'mechanisms for mixing tokens are "
                      "indispensable, as their absence collapses models to near-random behavior' (Abstract)",
          measures="validation loss of the MLP-only model (none, none) / standard (softmax, softmax), geometric mean "
                   "of per-seed ratios, log-scale bootstrap over seeds",
          rule=AtLeast(1.10, partial=1.03), fidelity=FIDELITY, preconditions=(LEARNED,), tolerance=_EVAL),
    Claim("uniform-static-keeps-most",
          "Sequence-independent attention maps in every layer keep most of what standard attention gains from mixing",
          paper_value=0.755, unit="share of gain", paper_ref="Tab. 1 (Uniform RndEmbQK, FixedSeqQK)", paper_version=V,
          paper_quote="Tab. 1, WikiText ppl: Uniform RndEmbQK 84.8, FixedSeqQK 79.1, MLP 993.5, Standard 38.1 "
                      "(shares 0.755 and 0.776 of ln-ppl)",
          measures="(L_mlp - L_static) / (L_mlp - L_standard) with uniform static mixing, from seed means; bootstrap "
                   "over seeds",
          rule=AtLeast(0.7, partial=0.4), fidelity=FIDELITY, control=NO_MIX, preconditions=(LEARNED, MIXING_MATTERS),
          tolerance=_SHARE),
    Claim("uniform-linear-keeps-most",
          "A non-softmax similarity (linear attention) in every layer keeps most of standard attention's gain",
          paper_value=0.930, unit="share of gain", paper_ref="Tab. 1 (Uniform Approx.); Sec. 5", paper_version=V,
          paper_quote="Tab. 1, WikiText ppl: Uniform Approx. 47.9, MLP 993.5, Standard 38.1 (share 0.930 of ln-ppl)",
          measures="(L_mlp - L_linear) / (L_mlp - L_standard) with (1 + elu) linear attention in both layers, from "
                   "seed means; bootstrap over seeds",
          rule=AtLeast(0.8, partial=0.5), fidelity=FIDELITY, control=NO_MIX, preconditions=(LEARNED, MIXING_MATTERS),
          tolerance=_SHARE),
    Claim("uniform-nonapx-fails",
          "Non-approximate attention (no pairwise similarity) fails when it replaces every layer",
          paper_value=-1.38, unit="share of gain", paper_ref="Tab. 1 (Uniform Non-apx.); Sec. 5", paper_version=V,
          paper_quote="Tab. 1, WikiText ppl: Uniform Non-apx. 9E+4, MLP 993.5, Standard 38.1; 'Non-approximate, "
                      "which discards this structure, performs close to random guess'",
          measures="(L_mlp - L_nonapx) / (L_mlp - L_standard) with Non-approximate attention in both layers, from seed "
                   "means; bootstrap over seeds",
          rule=AtMost(0.25, partial=0.5), fidelity=FIDELITY, preconditions=(LEARNED, MIXING_MATTERS),
          tolerance=_SHARE),
    _on_par("static", "RndEmbQK", 39.3),
    _on_par("linear", "Approx.", 39.4),
    _on_par("nonapx", "Non-apx.", 39.4),
    Claim("cooperation-nonapx",
          "A variant that fails in isolation (Non-approximate) recovers when interleaved with standard attention",
          paper_value=0.996, unit="share of deficit", paper_ref="Abstract; Tab. 1; Sec. 5 'Layer collaboration'",
          paper_version=V,
          paper_quote="'Non-approximate attention, the worst performer in the uniform configuration, demonstrates "
                      "strong performance in this hybrid setup' (Sec. 5); WikiText ppl 9E+4 uniform, 39.4 hybrid",
          measures="(L_uniform - L_hybrid) / (L_uniform - L_standard) for Non-approximate, from seed means; bootstrap "
                   "over seeds",
          rule=AtLeast(0.9, partial=0.75), fidelity=FIDELITY, control=HYBRID_MLP,
          preconditions=(LEARNED, NONAPX_FAILS), tolerance=_SHARE),
    Claim("cooperation-static-copy",
          "Static mixing, which cannot use content alone, recovers in-context copying when interleaved with standard "
          "attention",
          paper_value=0.958, unit="share of deficit", paper_ref="Tab. 1 (LAMBADA acc., RndEmbQK); Sec. 5",
          paper_version=V,
          paper_quote="Tab. 1, LAMBADA acc.: Uniform RndEmbQK 1.3, Hybrid RndEmbQK 22.0, Standard 22.9",
          measures="in-context gain on a repeated random sequence (loss on the first copy minus loss on the second), "
                   "(g_hybrid - g_uniform) / (g_standard - g_uniform) for static mixing, from seed means; bootstrap "
                   "over seeds",
          rule=AtLeast(0.75, partial=0.5), fidelity=FIDELITY, control=HYBRID_MLP_COPY,
          preconditions=(COPY_LEARNED, STATIC_FAILS_COPY), tolerance=_SHARE),
]  # fmt: skip
