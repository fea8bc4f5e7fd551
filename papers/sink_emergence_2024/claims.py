"""The claims of arXiv:2410.10781 under test, with their verdict rules: fixed before any run, judged by code after.

Sink values are the paper's Sink_1^eps in percent (eps = 0.3, T = 64): the share of heads whose mean attention on the
first token, over the queries that see it, exceeds eps.

Verdict engine v2: every value comes with an interval over its independent units, named in the record: probe sequences
for the pretrained models (a bootstrap over sequences), training seeds for the trained ones (a bootstrap over seeds;
the key-bias ratio resamples seeds as softmax/key-bias pairs). `key-bias-absorbs` was a ratio of two means over three
seeds judged as a point: it moved across the 0.25 bar between machines (0.26 vs 0.83, same seeds), because a tiny
model's Sink_1 after 150 steps depends on which heads cross eps = 0.3, which last-digit drift in training decides. It is
now the same ratio with a bootstrap interval over 5 seeds, and it needs the softmax models to have a sink to absorb
(the precondition `softmax-has-sink`). Tolerances: see each claim's `why`.

Power preconditions `enough-seeds-*` (issue 14, item 3: stable verdicts). At 5 seeds two training verdicts moved with
other seeds (default, seeds 5-9: `softmax-emerges` inconclusive -> partially, `sigmoid-matched-loss` partially ->
reproduced) and one with the CPU alone (`full`, same seeds: `sigmoid-no-sink` reproduced -> partially): 5 seeds are too
few for estimates this close to their bars. Route (b) with (a): a pre-registered minimum number of seeds per training
claim (as `papers/tokenselect_2024` does with `MIN_DOCS`), and a `full` with enough seeds to meet the minimums it can
afford. More seeds in the default alone cannot do it: 3 models per seed at ~5 s each already fill its 60 s budget.
Derivation, from the per-seed values of the committed `full` record (5 seeds x 600 steps, results/full.json, recomputed
from its cached checkpoints: the means agree with the record to 4 digits), not from any default outcome: a claim with
per-seed SD s whose estimate lies d from its nearest bar needs n >= (t_{n-1} x s / d)^2 seeds for a 95% interval to
clear that bar:
- `softmax-emerges`: seeds 12.9, 37.1, 26.1, 12.9, 22.4 (s 10.1); 22.27 is 12.27 from the bar 10: n >= 6;
- `sigmoid-no-sink`: seeds 0, 0, 0.25, 2.75, 0 (s 1.21); 0.6 is 1.4 from the bar 2: n >= 6;
- `sigmoid-matched-loss`: seeds 0.041, 0.033, 0.022, 0.040, 0.048 (s 0.0099); 0.0371 is 0.0071 from the bar 0.03:
  n >= 11;
- `key-bias-absorbs`: per-seed linearised ratio (kb_i - R x soft_i) / mean(soft) (s 0.66); 0.907 is 0.307 from the
  bar 0.6: n >= 21 (the engine's own estimate for this record: about 21 seeds).
The minimums depend only on the profile's number of seeds, so they cannot pass by chance: the 60 s default (5 seeds)
says *inconclusive* on all four training claims, stably; the `full` trains 21 seeds (0-20, 600 steps), the largest
minimum, and decides all four. (A first design gave the `full` 12 seeds and left `key-bias-absorbs` out of reach,
estimating 32 s per 600-step model from the checkpoint cache's file times; the 12-seed run (commit 166b603) measured
10 s per model on one thread, so 21 seeds fit the 20 min budget (~11 min cold). The change to 21 was
decided from that cost before the 12-seed verdicts were read, and the minimums and bars are unchanged.)
"""

from shared.claims import AtLeast, AtMost, Claim, Precondition, Tolerance

# The reproduction tolerances, measured by re-running the default profile with the same seeds: at 1 and at 2 threads;
# with the training loop at 2 threads (TRAIN_THREADS=2); and on another CPU code path (ATEN_CPU_CAPABILITY=avx2,
# MKL_ENABLE_INSTRUCTIONS=AVX2: what a machine without AVX-512 runs). The pretrained-model values did not move; the
# trained models' did: 150 steps at lr 1e-2 amplify last-digit differences into other heads crossing eps.
_ZOO = Tolerance(rel=2e-3, why="1 vs 2 threads and the AVX2 code path left it unchanged at 4 significant digits; floor "
                 "2e-3 for last-digit drift across CPUs")  # fmt: skip
# training is chaotic in the last bit: on another CPU each seed is in effect another draw of the training noise, so the
# trained claims also allow one width of their committed interval (`Tolerance.interval`; found when CI on an Intel Xeon
# re-executed the default recorded on an AMD EPYC, 2026-12-07); the verdict must not move
_XHOST = "another CPU (Intel Xeon vs the AMD EPYC of the recorded run, same seeds) moved it {}, within one interval"
TOL = {
    "natural-smollm2": _ZOO,
    "natural-gemma3": _ZOO,
    "random-smollm2": _ZOO,
    "random-gemma3": Tolerance(rel=2e-3, abs=2e-4, why="0 in every rerun (threads, AVX2 code path); one head crossing "
                               "eps on one sequence would add 0.087, so any crossing breaks the contract"),
    "first-token-only": _ZOO,
    "softmax-emerges": Tolerance(rel=0.2, interval=1.0, why="training drift: the AVX2 code path moved it 11.41 -> "
                                 "9.805 (14%); 2 training threads did not move it; " + _XHOST.format("12.62 -> 8.477")),
    "sigmoid-no-sink": Tolerance(rel=0.0, abs=0.6, interval=1.0, why="training drift, absolute near 0: the AVX2 code "
                                 "path moved it 0.9375 -> 1.523 percentage points; 2 training threads did not move it; "
                                 + _XHOST.format("0.1562 -> 0.1953")),
    "sigmoid-matched-loss": Tolerance(rel=0.0, abs=0.02, interval=1.0, why="training drift, absolute near 0: the AVX2 "
                                      "code path moved it 0.01301 -> 0.02764; 2 training threads did not move it; "
                                      + _XHOST.format("0.02566 -> 0.03048")),
    "key-bias-absorbs": Tolerance(rel=0.3, interval=1.0, why="training drift: the AVX2 code path moved it 0.9418 -> "
                                  "1.187 (26%), 2 training threads to 1.003 (6.5%); " + _XHOST.format("0.7307 -> 1.032")),
}  # fmt: skip
# the power preconditions (docstring): minimum seeds per training claim, from the per-seed spread of the committed full
MIN_SEEDS = {"softmax-emerges": 6, "sigmoid-no-sink": 6, "sigmoid-matched-loss": 11, "key-bias-absorbs": 21}
ENOUGH_SEEDS = {
    cid: Precondition(
        f"enough-seeds-{cid}",
        f"the run trains at least {n} seeds, enough for an estimate as far from its nearest bar as in the full record "
        "to clear it at that record's per-seed spread",
        AtLeast(n),
    )
    for cid, n in MIN_SEEDS.items()
}
# a ratio to the softmax sink needs a softmax sink: the same 2% bar as the partial bar of `softmax-emerges`
SOFTMAX_HAS_SINK = Precondition(
    "softmax-has-sink",
    "the softmax models develop a first-token sink for the bias to absorb (mean final Sink_1 over seeds, % of heads; "
    "bar: the partial bar of softmax-emerges)",
    AtLeast(2.0),
)

CLAIMS = [
    Claim("natural-smollm2", "Pretrained LMs have a first-token attention sink on natural text",
          paper_value="present in all 30 open LMs", unit="% of heads", paper_ref="Sec. 3",
          measures="Sink_1 on fortunes text (tokenizer's default prefix) in SmolLM2-135M-Instruct; mean over probe "
                   "sequences, bootstrap interval over sequences",
          rule=AtLeast(20.0, partial=5.0), fidelity="scaled-down", tolerance=TOL["natural-smollm2"]),
    Claim("natural-gemma3", "Pretrained LMs have a first-token attention sink on natural text",
          paper_value="present in all 30 open LMs", unit="% of heads", paper_ref="Sec. 3",
          measures="Sink_1 on fortunes text (tokenizer's default prefix, <bos>) in Gemma-3-270M; mean over probe "
                   "sequences, bootstrap interval over sequences",
          rule=AtLeast(20.0, partial=5.0), fidelity="scaled-down", tolerance=TOL["natural-gemma3"]),
    Claim("random-smollm2", "The sink appears on random-token inputs too",
          paper_value="present", unit="% of heads", paper_ref="Sec. 3 (input types)",
          measures="Sink_1 on uniformly random token ids, no special tokens, SmolLM2-135M-Instruct; mean over probe "
                   "sequences, bootstrap interval over sequences",
          rule=AtLeast(20.0, partial=5.0), fidelity="scaled-down", tolerance=TOL["random-smollm2"]),
    Claim("random-gemma3", "The sink appears on random-token inputs too",
          paper_value="present", unit="% of heads", paper_ref="Sec. 3 (input types)",
          measures="Sink_1 on uniformly random token ids, no special tokens, Gemma-3-270M; mean over probe sequences, "
                   "bootstrap interval over sequences",
          rule=AtLeast(20.0, partial=5.0), fidelity="scaled-down", tolerance=TOL["random-gemma3"]),
    Claim("first-token-only", "The sink sits on the first token, not on the positions after it",
          paper_value="Sink_1 >> Sink_k (k > 1)", unit="percentage points", paper_ref="Sec. 3",
          measures="min over the two models of Sink_1 - max_{2<=k<=10} Sink_k on natural text; bootstrap interval "
                   "over probe sequences",
          rule=AtLeast(20.0, partial=5.0), fidelity="scaled-down", tolerance=TOL["first-token-only"]),
    Claim("softmax-emerges", "With softmax attention a first-token sink emerges during training",
          paper_value="emerges after effective optimisation", unit="% of heads",
          paper_ref="Sec. 4 (optimisation)",
          measures="final Sink_1 of the softmax model minus its Sink_1 at initialisation (bigram-backcopy task on "
                   "project-corpus statistics, <bos>-prefixed); paired per seed, bootstrap interval over seeds",
          rule=AtLeast(10.0, partial=2.0), fidelity="analogue", tolerance=TOL["softmax-emerges"],
          preconditions=(ENOUGH_SEEDS["softmax-emerges"],)),
    Claim("sigmoid-no-sink", "Sigmoid attention without normalisation develops no sink",
          paper_value="no sink, up to 1B params", unit="% of heads", paper_ref="Sec. 7 (attention operation)",
          measures="final Sink_1 of the sigmoid (no normalisation) model, weights row-normalised for the metric as "
                   "in the official code; mean over seeds, bootstrap interval over seeds",
          rule=AtMost(2.0, partial=5.0), fidelity="analogue", tolerance=TOL["sigmoid-no-sink"],
          preconditions=(ENOUGH_SEEDS["sigmoid-no-sink"],)),
    Claim("sigmoid-matched-loss", "...at a loss comparable to softmax attention",
          paper_value="comparable valid loss", unit="relative loss gap", paper_ref="Sec. 7 (attention operation)",
          measures="(sigmoid val loss - softmax val loss) / softmax val loss, same seed; mean over seeds, bootstrap "
                   "interval over seeds",
          rule=AtMost(0.03, partial=0.10), fidelity="analogue", tolerance=TOL["sigmoid-matched-loss"],
          preconditions=(ENOUGH_SEEDS["sigmoid-matched-loss"],)),
    Claim("key-bias-absorbs", "A learnable key bias with zero value takes the sink off the first token",
          paper_value="sink moves to the bias", unit="ratio to softmax", paper_ref="Sec. 7 (attention biases)",
          measures="mean final Sink_1 on the first real token with the key-bias slot / the same for the softmax "
                   "model; bootstrap interval over seeds, resampling (key-bias, softmax) pairs of the same seed",
          rule=AtMost(0.25, partial=0.6), fidelity="analogue", tolerance=TOL["key-bias-absorbs"],
          preconditions=(ENOUGH_SEEDS["key-bias-absorbs"], SOFTMAX_HAS_SINK)),
]  # fmt: skip
