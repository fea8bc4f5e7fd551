"""The claims of "DivPrune: Diversity-based Visual Token Pruning for Large Multimodal Models" (Alvar, Singh, Akbari,
Zhang; CVPR 2025; arXiv:2503.02175v2) under test, with their verdict rules: fixed before any run, judged by code after.

A scaled-down test on the project's small scene VLM (`shared.vision.vlm`: frozen DINOv2-S -> trained projector ->
SmolLM2-135M with a merged LoRA; 64 visual tokens per 112 px scene; four templated question types with one-word
answers), not on LLaVA. DivPrune prunes the projected visual tokens before the LM's first layer, exactly where the
paper prunes them (its "layer 0" setting); no fine-tuning.

The unit is a scene seed: each seed draws its own held-out scenes (`shared.vision.scenes`, the held-out item pools)
and one question of each type per scene; every arm answers the same questions. Accuracy margins are per-seed paired
differences (the same questions), averaged over the claim's budgets; intervals are Student t over seeds. Seed 0 (the
stage's own held-out report and the pilot `python -m shared.vision.vlm_hooks table --scenes 50`, which ran random,
downsampling, CLS and text attention but not DivPrune) is kept out of the recorded seeds.

Budgets: 64 visual tokens -> 32 / 16 / 6 / 3 kept (keep 50%, 25%, 9.4%, 4.7%). The claims are judged at the high
pruning ratios, HIGH_BUDGETS = 6 and 3 tokens: 6 of 64 is the paper's headline setting (the authors' script keeps
0.098 of LLaVA-1.5's 576 tokens, 56; 90.2% pruned), 3 of 64 a step beyond it. 32 and 16 are shown, not judged.

Power redesign of the default (issue 15): under scene seeds 1001-1005 the default (5 seeds x 12 questions) failed the
`vlm-above-blind` precondition (+0.133 [-0.024, +0.290] against the bar 0.05) and one verdict moved. At 12 questions
per seed no redesign within the default's 60 s can make the preconditions hold robustly: the paired per-question
spread measured in `full` (about 0.64 for the VLM's margin over the blind answerer, 0.61 for random pruning's loss)
puts the t half-width over 5 seeds at 2.78 x 0.64 / sqrt(N) for N questions in all, which falls to about 0.1 only at
N ~ 300-400; the unpruned pass alone on that many questions costs about 40-50 s on one thread, before the five arms at
two budgets (every arm is some claim's measurement or control, and both budgets are every accuracy claim's). So the
accuracy claims get a power precondition instead, as IDPruner's do: `enough-questions` (>= 250 questions per arm and
budget, from the binomial spread, not from any run). The default records those three claims as inconclusive by design
and checks the pipeline; `full` (600 questions) decides. Claims, bars, arms, budgets and the other preconditions are
unchanged; the intervals now come from the shared `Measurement.t_mean` (the same Student t as the paper's former copy:
identical values).
"""

from shared.claims import AtLeast, Claim, Control, Precondition, Tolerance

PAPER = "2503.02175v2"
QUOTE_MMDP = ("we first formulate token pruning as Max-Min Diversity Problem (MMDP) where the goal is to select a "
              "subset such that the diversity among the selected tokens is maximized.")  # fmt: skip
QUOTE_DIVERSITY = ("The proposed method, DivPrune, reduces redundancy and achieves the highest diversity of the "
                   "selected tokens.")  # fmt: skip
QUOTE_ACCURACY = ("By ensuring high diversity, the selected tokens better represent the original tokens, enabling "
                  "effective performance even at high pruning ratios without requiring fine-tuning.")  # fmt: skip
QUOTE_IMPORTANCE = ("The existing token pruning methods either require extensive calibration and fine-tuning or rely "
                    "on suboptimal importance metrics which results in increased redundancy among the retained "
                    "tokens.")  # fmt: skip

HIGH_BUDGETS = (6, 3)  # visual tokens kept (of 64) where the claims are judged
# "effective performance" at 90% pruning: the share of the unpruned model's above-blind accuracy that DivPrune keeps
# at 6 of 64 tokens. Fixed from the word, before any DivPrune number was seen: keeping at least 80% of what the image
# adds is effective (reproduced); at least half is partial; less is not reproduced.
RETAIN, RETAIN_PARTIAL = 0.8, 0.5

# Tolerances. The values come from a fixed pretrained and shipped model evaluated deterministically (no training in
# the notebook); exact-answer accuracy is discrete, and float32 drift on another CPU can flip a borderline argmax.
# Floors: a few questions flipping in the mean over seeds (accuracies), 1e-3 relative for the cosine distances.
# Measured (issue 15, before the runs these tolerances judge): the default's seeds rerun on the AVX2 code path
# (`ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 papers stability divprune_2025 --threads 1`) gave identical
# values for every claim, control and precondition at 4 significant digits (spread 0), so the floors stand unchanged.
_WHY_ACC = ("deterministic evaluation of shipped weights; the floor allows a few borderline answers flipping under "
            "another CPU's float32 rounding (one flip moves a per-seed accuracy by 1 / questions per seed); measured "
            "spread on the AVX2 code path, same seeds: 0")  # fmt: skip
_WHY_DIV = ("cosine distances of float32 tokens: last-digit drift across CPUs; 1e-3 relative; measured spread on the "
            "AVX2 code path, same seeds: 0")  # fmt: skip
TOL_ACC = Tolerance(rel=0.002, abs=0.006, why=_WHY_ACC)
TOL_DIV = Tolerance(rel=0.001, abs=0.001, why=_WHY_DIV)

ABOVE_BLIND = Precondition("vlm-above-blind", "with every visual token kept the VLM answers the held-out questions "
                           "well above a blind answerer (the majority answer per question text in training scenes): "
                           "mean per-seed margin >= 0.05, t interval over seeds", AtLeast(0.05))  # fmt: skip
RANDOM_LOSES = Precondition("random-pruning-loses", "random selection at 6 and 3 of 64 tokens loses accuracy against "
                            "all tokens (mean loss >= 0.02, t interval over seeds): there is visual information to "
                            "keep, so a better selection can show", AtLeast(0.02))  # fmt: skip

# power, from the binomial spread rather than from any run: a paired per-question difference of exact answers (each
# 0 or 1) has a standard deviation of at most about 0.7 where the two answerers disagree on up to half the questions,
# so the t half-width over S seeds of N questions in all is about t(S-1) * 0.7 / sqrt(N); it first falls to 0.1 (a
# difference the accuracy comparisons and their preconditions should resolve) at N of about 250 (t = 2.26 at 10
# seeds). Fewer questions cannot decide: the default (5 seeds x 12 questions) records the accuracy claims as
# inconclusive by design; `full` (10 x 60) decides. Not on `highest-diversity`: a geometric quantity of the kept
# tokens, decided at the default's size (2.40 [1.78, 3.24]; 1.99 [1.48, 2.69] under seeds 1001-1005).
MIN_QUESTIONS = 250
ENOUGH = Precondition("enough-questions", f"at least {MIN_QUESTIONS} questions per arm and budget (scene seeds x "
                      "questions per seed): fewer cannot decide an accuracy difference or the preconditions to within "
                      "0.1", AtLeast(MIN_QUESTIONS))  # fmt: skip

_ACC_MEASURES = ("per scene seed: exact-answer accuracy with DivPrune's kept tokens minus with {arm}'s at the same "
                 "budget, on the same questions (one per type per scene), mean over HIGH_BUDGETS (6 and 3 of 64 "
                 "tokens); mean over seeds, Student t interval over seeds")  # fmt: skip

CLAIMS = [
    Claim("beats-text-attention",
          "At high pruning ratios DivPrune keeps accuracy better than importance-based pruning by the LLM's attention "
          "to the visual tokens (FastV-style)",
          paper_value="DivPrune > FastV (attention importance) in Tab. 1 (LLaVA-1.5-7B, 90.2% of visual tokens pruned)",
          unit="accuracy, DivPrune minus text-to-image attention top-k (fraction)",
          paper_ref="Abstract; Sec. 1; Tab. 1 (vs FastV)", paper_version=PAPER, paper_quote=QUOTE_IMPORTANCE,
          measures=_ACC_MEASURES.format(arm="text-to-image attention top-k (the last prompt token's attention to each "
                                            "visual token in an unpruned eager pass, mean over heads and all LM "
                                            "layers: `shared.vision.vlm_hooks.TextAttention`)"),
          notes=("bar: keeps accuracy better = margin > 0 with the whole t interval; wholly below 0 not reproduced",
                 "control: random selection of the same number of tokens (DivPrune minus random, same questions, "
                 "mean over HIGH_BUDGETS, t over seeds)",
                 "FastV ranks tokens by the attention they receive in layer 2 and prunes there; here the attention is "
                 "read from an unpruned pass over all layers and the tokens are pruned at the LM input, so both arms "
                 "prune at the same place and only the selection differs"),
          rule=AtLeast(0.0), fidelity="scaled-down", tolerance=TOL_ACC, preconditions=(ENOUGH, ABOVE_BLIND, RANDOM_LOSES),
          control=Control("random", "random selection of the same number of visual tokens")),
    Claim("beats-cls-attention",
          "At high pruning ratios DivPrune keeps accuracy better than importance-based pruning by the vision "
          "encoder's CLS attention (PruMerge-style importance)",
          paper_value="DivPrune > PruMerge (CLS-attention importance) in Tab. 1 (LLaVA-1.5-7B)",
          unit="accuracy, DivPrune minus CLS-attention top-k (fraction)",
          paper_ref="Abstract; Sec. 1; Tab. 1 (vs PruMerge)", paper_version=PAPER, paper_quote=QUOTE_IMPORTANCE,
          measures=_ACC_MEASURES.format(arm="CLS-attention top-k (DINOv2-S's last block, mean over heads)"),
          notes=("bar: margin > 0 with the whole t interval; wholly below 0 not reproduced",
                 "control: plain spatial downsampling to the same number of tokens (no merging), DivPrune minus "
                 "downsampling, mean over HIGH_BUDGETS, t over seeds: an even spatial spread is the cheapest "
                 "explanation of a diverse set's advantage",
                 "PruMerge also merges the pruned tokens into the kept ones; only its importance ranking is tested"),
          rule=AtLeast(0.0), fidelity="scaled-down", tolerance=TOL_ACC, preconditions=(ENOUGH, ABOVE_BLIND, RANDOM_LOSES),
          control=Control("downsample", "spatial downsampling to the same number of visual tokens")),
    Claim("retains-accuracy-at-90pct",
          "DivPrune keeps effective performance at a high pruning ratio, without fine-tuning",
          paper_value="effective performance at 90.2% of visual tokens pruned (Tab. 1 setting: the authors' script "
                      "keeps 0.098 of the tokens)",
          unit="share of the unpruned model's above-blind accuracy kept at 6 of 64 tokens",
          paper_ref="Abstract; Tab. 1", paper_version=PAPER, paper_quote=QUOTE_ACCURACY,
          measures="(DivPrune's accuracy at 6 of 64 tokens - the blind answerer's) / (the unpruned VLM's accuracy - "
                   "the blind answerer's) on the same questions, each term a mean over scene seeds (a ratio of means: "
                   "a per-seed ratio explodes where one seed's unpruned margin is small); BCa bootstrap over seeds",
          notes=(f"bar: fixed from the word 'effective' before any DivPrune number was seen: >= {RETAIN} of the "
                 f"image's contribution kept reproduced, >= {RETAIN_PARTIAL} partial, below not reproduced",
                 "control: random selection at 6 tokens (DivPrune minus random accuracy at 6 tokens, same "
                 "questions, t over seeds)"),
          rule=AtLeast(RETAIN, partial=RETAIN_PARTIAL), fidelity="scaled-down", tolerance=TOL_ACC,
          preconditions=(ENOUGH, ABOVE_BLIND, RANDOM_LOSES),
          control=Control("random", "random selection of 6 visual tokens")),
    Claim("highest-diversity",
          "DivPrune's selected tokens have the highest diversity (min pairwise cosine distance, the MMDP objective)",
          paper_value="the highest diversity of the selected tokens among the compared methods",
          unit="DivPrune's min pairwise distance / the best other arm's",
          paper_ref="Abstract; Sec. 3 (MMDP)", paper_version=PAPER,
          paper_quote=QUOTE_DIVERSITY,
          measures="per scene seed and arm: the min pairwise cosine distance of the kept projected tokens, mean over "
                   "the seed's questions and HIGH_BUDGETS; per seed DivPrune's over the largest of the other arms "
                   "(random, CLS attention, text attention, downsampling; not k-center, DivPrune's own family); "
                   "geometric mean over seeds, t interval on the log ratios",
          notes=("bar: highest = ratio > 1 with the whole interval; wholly below 1 not reproduced",
                 "control: random selection (DivPrune minus random diversity, t over seeds)",
                 "not by construction: greedy max-min is a heuristic for the MMDP (cosine distance is not a metric, so "
                 "not even metric dispersion's 2-approximation holds), and another rule can find a more diverse set "
                 "on a given image (test_method shows one); the test of the rule feeds a ratio below 1"),
          rule=AtLeast(1.0), fidelity="scaled-down", tolerance=TOL_DIV,
          control=Control("random", "random selection of the same number of visual tokens")),
]  # fmt: skip
