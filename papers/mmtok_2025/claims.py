"""The claims of "MMTok: Multimodal Coverage Maximization for Efficient Inference of VLMs" (Dong, Hu, Zhang, Yin, Fu,
Qian; arXiv:2508.18264v1; ICLR 2026) under test, with their verdict rules: fixed before any run, judged by code after.

A scaled-down test on the project's small scene VLM (`shared.vision.vlm`: frozen DINOv2-S -> trained projector ->
SmolLM2-135M with a merged LoRA; 64 visual tokens per 112 px scene; four templated question types with one-word
answers), not on LLaVA. MMTok selects the projected vision tokens before the LM's first layer, where the paper selects
them; no fine-tuning. The coverage selector is `method.Coverage` (greedy maximum coverage of the question's text
tokens and of all vision tokens; the authors' alpha and temperatures).

The unit is a scene seed: each seed draws its own held-out scenes (`shared.vision.scenes`, the held-out item pools)
and one question of each type per scene; every arm answers the same questions. Accuracy margins are per-seed paired
differences on the same questions, averaged over the claim's budgets; intervals are Student t over seeds
(`Measurement.t_mean`); the retention ratio is a geometric mean with the t interval on the per-seed log ratios.
The pilot (held-out scene seed 0, 10 scenes; an unrecorded script that sized the run) and an exploratory run of the
notebook on scene seeds 9001-9002 (to check that it runs and time it) are kept out of the recorded seeds.

Budgets: 64 visual tokens -> 16 / 6 / 4 kept (25%, 9.4%, 6.25%). The claims are judged at HIGH_BUDGETS = 6 and 4:
6 of 64 is the <= 10% setting of the issue and of the paper's tightest LLaVA-1.5 budgets (64 of 576 = 11.1%), 4 is
the paper's "only four vision tokens" (on LLaVA-1.5 that is 4 of 576, 0.7%: our 64-token VLM cannot go that low
and still ask about four cells, so the count, not the share, is matched). 16 was shown in the first `full` (the
pilot, see below), not judged.

Power, from the binomial spread rather than from any run (as DivPrune's and IDPruner's replications on the same
VLM): a paired per-question difference of exact answers has a standard deviation of at most about 0.7, so the t
half-width over S seeds of N questions in all is about t(S-1) * 0.7 / sqrt(N); it falls to about 0.1 at N of about
250. The default (5 seeds x 8 questions) therefore records the accuracy claims as inconclusive by design
(`enough-questions`) and checks the pipeline; `full` decides.

Power redesign of `full` (before the run it judges): the first `full` (10 seeds x 40 questions = 400; commit 1e710fc)
and its rerun on scene seeds 1001-1010 recorded all four claims inconclusive (none moved), the comparisons at
+0.014..+0.026 with intervals reaching just below 0, and an engine estimate of about 16-18 seeds to decide. They are
the pilot; `full` now runs 20 fresh scene seeds (2001-2020) x 36 questions = 720 per arm and budget, at the judged
budgets only. Claims, bars, arms, judged budgets and preconditions are unchanged.

Power precondition for `retains-with-four-tokens` (session 16, committed before the runs it judges): its verdict moved
under other seeds (the recorded full, scene seeds 2001-2020: 0.748 [0.669, 0.836], inconclusive, straddling the
partial bar 0.777; scene seeds 3001-3020: 0.719 [0.669, 0.774], not reproduced, clearing it by 0.003). The engine's
estimate (`Rule.decide`: n x (half-width / distance to the bar)^2 x 1.1) from the recorded full is 20 x (0.0835 /
0.0289)^2 x 1.1 = 184 seeds of 36 questions, out of reach, so the claim now needs `enough-seeds-retention` (>= 184)
and both profiles say inconclusive on it by design. Both runs put the retention below the partial bar and exclude the
paper's 0.877; the README says so. The blind answerer is now the shared `shared.vision.baselines.blind_correct` (the
same rule: identical values).
"""

from shared.claims import AtLeast, Claim, Control, Precondition, Tolerance

PAPER = "2508.18264v1"
QUOTE_MULTIMODAL = ("The comparison illustrates that vision and text information are complementary, and combining "
                    "multimodal information can surpass the unimodal baseline with a clear margin.")  # fmt: skip
QUOTE_UNIMODAL = ("While many algorithms have been proposed to reduce the number of vision tokens, most of them apply "
                  "only unimodal information (i.e., vision/text) for pruning and ignore the inherent multimodal "
                  "property of vision-language tasks.")  # fmt: skip
QUOTE_FOUR = ("Furthermore, with only four vision tokens, it still preserves 87.7% of the original performance on "
              "LLaVA-1.5-7B.")  # fmt: skip

HIGH_BUDGETS = (6, 4)  # visual tokens kept (of 64) where the comparisons are judged
FOUR = 4  # the retention claim's budget

# Tolerances. The values come from a fixed pretrained and shipped model evaluated deterministically (no training in
# the notebook), like DivPrune's and IDPruner's on the same VLM, whose same-seed reruns on the AVX2 code path gave
# identical values (spread 0); declared at their floors: a few borderline answers flipping under another CPU's
# float32 rounding (one flip moves a per-seed accuracy by 1 / questions per seed).
_WHY = ("deterministic evaluation of shipped weights (exact-answer argmax, greedy selection on float64 coverage); "
        "the floor allows a few borderline answers flipping under another CPU's float32 rounding; DivPrune's and "
        "IDPruner's same-seed reruns on the AVX2 code path, same VLM: spread 0")  # fmt: skip
TOL = Tolerance(rel=0.002, abs=0.006, why=_WHY)

MIN_QUESTIONS = 250
ENOUGH = Precondition("enough-questions", f"at least {MIN_QUESTIONS} questions per arm and budget (scene seeds x "
                      "questions per seed): fewer cannot decide an accuracy difference or the preconditions to within "
                      "0.1 (from the binomial spread)", AtLeast(MIN_QUESTIONS))  # fmt: skip
MIN_SEEDS_RETENTION = 184  # the power precondition of retains-with-four-tokens (module docstring)
ENOUGH_SEEDS_RETENTION = Precondition("enough-seeds-retention", f"at least {MIN_SEEDS_RETENTION} scene seeds of 36 "
                                      "questions: the engine's estimate from the recorded full (0.748 [0.669, "
                                      "0.836]), whose verdict moved under scene seeds 3001-3020",
                                      AtLeast(MIN_SEEDS_RETENTION))  # fmt: skip
ABOVE_BLIND = Precondition("vlm-above-blind", "with every visual token kept the VLM answers the held-out questions "
                           "well above a blind answerer (the majority answer per question text in training scenes): "
                           "mean per-seed margin >= 0.05, t interval over seeds", AtLeast(0.05))  # fmt: skip
RANDOM_LOSES = Precondition("random-pruning-loses", "random selection at 6 and 4 of 64 tokens loses accuracy against "
                            "all tokens (mean loss >= 0.02, t interval over seeds): there is visual information to "
                            "keep, so a better selection can show", AtLeast(0.02))  # fmt: skip
# the multimodal claim needs a text term that carries information: if the question's word embeddings did not point
# at the asked item among the projected vision tokens, MMTok's text rows would be noise and the comparison with
# vision-only coverage could not show the paper's effect. Bar: the top text-matching token lies in a cell holding the
# asked item at least 0.10 more often than a uniformly random token does (chance = that item's share of the tokens).
TEXT_GROUNDS = Precondition("text-grounds", "the text-vision coverage points at the asked item: over the seed's "
                            "'Is there a <item>?' questions whose item is in the scene, the share whose top "
                            "text-matching vision token (largest P summed over the text tokens) lies in a cell holding "
                            "the item, minus the share expected of a random token; mean over seeds >= 0.10, t "
                            "interval over seeds", AtLeast(0.10))  # fmt: skip

_ACC_MEASURES = ("per scene seed: exact-answer accuracy with MMTok's kept tokens minus with {arm}'s at the same "
                 "budget, on the same questions (one per type per scene), mean over HIGH_BUDGETS (6 and 4 of 64 "
                 "tokens); mean over seeds, Student t interval over seeds")  # fmt: skip

CLAIMS = [
    Claim("beats-vision-coverage",
          "Multimodal coverage (the question's text tokens and the vision tokens) keeps accuracy better than "
          "vision-only coverage at the same budget",
          paper_value="multimodal coverage surpasses the unimodal baseline with a clear margin",
          unit="accuracy, MMTok minus vision-only coverage (fraction)",
          paper_ref="Abstract", paper_version=PAPER,
          paper_quote=QUOTE_MULTIMODAL,
          measures=_ACC_MEASURES.format(arm="vision-only coverage (the same greedy on the vision-vision rows alone, "
                                            "`Coverage(modes='vision')`)"),
          notes=("bar: keeps accuracy better = margin > 0 with the whole t interval; wholly below 0 not reproduced",
                 "control: random selection of the same number of tokens (MMTok minus random, same questions, mean "
                 "over HIGH_BUDGETS, t over seeds)",
                 "precondition text-grounds: without a text term that locates the asked item the setup cannot show "
                 "the effect (inconclusive, not not-reproduced)"),
          rule=AtLeast(0.0), fidelity="scaled-down", tolerance=TOL,
          preconditions=(ENOUGH, ABOVE_BLIND, RANDOM_LOSES, TEXT_GROUNDS),
          control=Control("random", "random selection of the same number of visual tokens")),
    Claim("beats-text-attention",
          "At low keep ratios MMTok keeps accuracy better than importance by the LLM's text-to-image attention "
          "(a text-only, FastV/SparseVLM-style signal)",
          paper_value="multimodal coverage surpasses unimodal (text-only) pruning",
          unit="accuracy, MMTok minus text-to-image attention top-k (fraction)",
          paper_ref="Abstract", paper_version=PAPER, paper_quote=QUOTE_UNIMODAL,
          measures=_ACC_MEASURES.format(arm="text-to-image attention top-k (the last prompt token's attention to each "
                                            "visual token in an unpruned eager pass, mean over heads and all LM "
                                            "layers: `shared.vision.vlm_hooks.TextAttention`)"),
          notes=("bar: margin > 0 with the whole t interval; wholly below 0 not reproduced",
                 "control: random selection of the same number of tokens (MMTok minus random)",
                 "the attention is read from an unpruned pass over all layers and the tokens are pruned at the LM "
                 "input, so both arms prune at the same place and only the selection differs"),
          rule=AtLeast(0.0), fidelity="scaled-down", tolerance=TOL, preconditions=(ENOUGH, ABOVE_BLIND, RANDOM_LOSES),
          control=Control("random", "random selection of the same number of visual tokens")),
    Claim("beats-cls-attention",
          "At low keep ratios MMTok keeps accuracy better than importance by the vision encoder's CLS attention "
          "(a vision-only, VisionZip-style signal)",
          paper_value="multimodal coverage surpasses unimodal (vision-only) pruning",
          unit="accuracy, MMTok minus CLS-attention top-k (fraction)",
          paper_ref="Abstract", paper_version=PAPER, paper_quote=QUOTE_UNIMODAL,
          measures=_ACC_MEASURES.format(arm="CLS-attention top-k (DINOv2-S's last block, mean over heads)"),
          notes=("bar: margin > 0 with the whole t interval; wholly below 0 not reproduced",
                 "control: plain spatial downsampling to the same number of tokens (MMTok minus downsampling): an "
                 "even spatial spread is the cheapest explanation of a covering set's advantage",
                 "VisionZip also merges the dropped tokens into contextual ones; only its importance ranking is "
                 "tested"),
          rule=AtLeast(0.0), fidelity="scaled-down", tolerance=TOL, preconditions=(ENOUGH, ABOVE_BLIND, RANDOM_LOSES),
          control=Control("downsample", "spatial downsampling to the same number of visual tokens")),
    Claim("retains-with-four-tokens",
          "With only four vision tokens MMTok still preserves 87.7% of the original performance",
          paper_value=0.877, unit="retention (accuracy with 4 tokens / accuracy with all 64)",
          paper_ref="Abstract (POPE, LLaVA-1.5-7B)", paper_version=PAPER, paper_quote=QUOTE_FOUR,
          measures="per scene seed: MMTok's accuracy at 4 of 64 tokens / the unpruned VLM's accuracy on the same "
                   "questions (the paper's relative performance); geometric mean over seeds, Student t interval on "
                   "the per-seed log ratios",
          notes=("bar: the paper's 87.7% (reproduced); partially within 10 points of it (0.777), the allowance "
                 "for a 135M LM that reads a 2 x 2 scene from 4 tokens without any training on pruned inputs; below "
                 "not reproduced",
                 "the paper's 87.7% is POPE F1 (a yes/no benchmark, chance 0.5); ours is exact-answer accuracy over "
                 "four question types, whose blind floor is lower: the ratio includes what a blind answerer gets, "
                 "as the paper's does",
                 "control: random selection of 4 tokens (MMTok minus random accuracy at 4 tokens, t over seeds)"),
          rule=AtLeast(0.877, partial=0.777), fidelity="scaled-down", tolerance=TOL,
          preconditions=(ENOUGH, ENOUGH_SEEDS_RETENTION, ABOVE_BLIND),
          control=Control("random", "random selection of 4 visual tokens")),
]  # fmt: skip
