"""The claims of "Batch Speculative Decoding Done Right" under test, with their verdict rules: fixed before any run,
judged by code after."""

from shared.claims import AtLeast, AtMost, Claim

CLAIMS = [
    Claim("naive-positions-break", "Batched speculative decoding that mishandles ragged position ids violates output "
          "equivalence", paper_value="violated", unit="fraction of rows differing",
          paper_ref="Sec. 3 (the ragged tensor problem)",
          measures="fraction of prompts whose greedy output under mode naive_positions differs from unbatched greedy",
          rule=AtLeast(0.01), fidelity="scaled-down"),
    Claim("naive-mask-break", "Leaving rejected draft entries visible in the KV cache violates output equivalence",
          paper_value="violated", unit="fraction of rows differing", paper_ref="Sec. 3 (the ragged tensor problem)",
          measures="fraction of prompts whose greedy output under mode naive_unmasked differs from unbatched greedy",
          rule=AtLeast(0.01), fidelity="scaled-down"),
    Claim("eqspec-equivalence", "Realignment (EQSPEC) restores output equivalence", paper_value=0.95,
          unit="fraction of rows identical", paper_ref="Abstract; Sec. 4 (EQSPEC)",
          measures="fraction of prompts whose batched (realign) greedy output equals unbatched greedy",
          rule=AtLeast(0.95, partial=0.8), fidelity="scaled-down"),
    Claim("exspec-equivalence", "EXSPEC's same-length grouping keeps output equivalence", paper_value=0.95,
          unit="fraction of rows identical", paper_ref="Abstract; Sec. 5 (EXSPEC)",
          measures="fraction of prompts whose EXSPEC greedy output equals unbatched greedy",
          rule=AtLeast(0.95, partial=0.8), fidelity="scaled-down"),
    Claim("realign-overhead", "Realignment is a large share of EQSPEC's time", paper_value=0.40,
          unit="share of wall time", paper_ref="Abstract (40% of overhead)",
          measures="seconds spent realigning caches / total seconds of the batched realign run (wall clock, CPU)",
          rule=AtLeast(0.2, partial=0.05), fidelity="scaled-down"),
    Claim("exspec-overhead", "EXSPEC's same-length grouping reduces the realignment overhead", paper_value="lower",
          unit="EXSPEC regroup seconds / EQSPEC realign seconds", paper_ref="Abstract; Sec. 5 (EXSPEC)",
          measures="seconds EXSPEC spends merging and splitting per-sequence caches / seconds EQSPEC spends realigning, "
          "same prompts and draft length (wall clock, CPU)",
          rule=AtMost(1.0), fidelity="scaled-down"),
]  # fmt: skip
