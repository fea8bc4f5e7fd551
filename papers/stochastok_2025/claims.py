"""The claims of arXiv:2506.01687 (StochasTok) under test, with their verdict rules: fixed before any run, judged by
code after."""

from shared.claims import AtLeast, AtMost, Claim

CLAIMS = [
    Claim("games-gain",
          "Pretraining with StochasTok substantially improves accuracy on subword-level language games (after the same "
          "finetuning on them), where deterministically tokenized pretraining leaves models weak",
          paper_value="substantial gain", unit="held-out exact match, StochasTok minus canonical (fraction)",
          paper_ref="Sec. 4, LangGame results (Fig. 4)",
          measures="per seed: mean over the games (first letter, last letter, spelling) of the exact-match accuracy "
                   "on held-out words of the StochasTok-pretrained model minus that of the canonically pretrained one "
                   "(same seed, same finetuning); mean and t-interval over seeds",
          rule=AtLeast(0.15, partial=0.05), fidelity="analogue"),
    Claim("lm-unchanged",
          "StochasTok does not degrade language modelling: evaluated with the canonical tokenization, the model is as "
          "good as one pretrained on canonical tokens",
          paper_value="no degradation", unit="held-out loss per byte, StochasTok / canonical",
          paper_ref="Sec. 4, pretraining benchmarks",
          measures="per seed: nats per byte of canonically tokenized held-out text for the StochasTok-pretrained "
                   "model over that of the canonically pretrained one (before finetuning); mean and t-interval",
          rule=AtMost(1.03, partial=1.10), fidelity="scaled-down"),
    Claim("robust-to-splits",
          "Models pretrained with StochasTok are robust to alternative (non-canonical) tokenizations of their input, "
          "which degrade deterministically pretrained models",
          paper_value="robust", unit="loss increase on split text, StochasTok model / canonical model",
          paper_ref="Sec. 5, robustness to alternative tokenizations",
          measures="per seed: increase of held-out nats per byte from canonical to StochasTok-split text (p as in "
                   "training) for the StochasTok model, divided by the same increase for the canonical model; mean "
                   "and t-interval over seeds",
          rule=AtMost(0.5, partial=0.8), fidelity="scaled-down"),
]  # fmt: skip
