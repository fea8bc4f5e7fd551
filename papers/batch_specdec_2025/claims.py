"""The claims of "Batch Speculative Decoding Done Right" under test, with their verdict rules: fixed before any run,
judged by code after.

Greedy decoding of a fixed set of chat prompts is deterministic, so the equivalence shares and the cache-copy counts are
exact values over that set (`kind="exact"`, n = the prompts). The realignment share of EQSPEC's wall time is a timing
from one run: it is reported (`kind="timing"`), and without repeats the engine calls it inconclusive.
"""

from shared.claims import AtLeast, AtMost, Claim, Precondition, Tolerance

# measured by running the default profile at 1 and at 2 threads, same seeds and prompts
SHARE_TOL = Tolerance(rel=2e-3, why="1 vs 2 threads: identical (0); floor 2e-3 for last-digit drift across CPUs")
COPIES_TOL = Tolerance(rel=7e-3, why="1 vs 2 threads moved it 6.8e-3 relative (EXSPEC's acceptances shift with the "
                       "draft's argmax near-ties; outputs stay identical)")  # fmt: skip
TIMING_TOL = Tolerance(rel=2.0, why="1 vs 2 threads moved it 1.4x relative (wall clock on a shared CPU; reported, "
                       "never failed on)")  # fmt: skip

# equivalence after realignment means something only if the rows of a batch accept different numbers of draft tokens
RAGGED = Precondition("ragged", "the rows of the EQSPEC batch accept different numbers of draft tokens in at least half "
                      "of its steps (else there is nothing to realign)", AtLeast(0.5))  # fmt: skip

CLAIMS = [
    Claim("naive-positions-break", "Batched speculative decoding that mishandles ragged position ids violates output "
          "equivalence", paper_value="violated", unit="fraction of rows differing",
          paper_ref="Sec. 3 (the ragged tensor problem)",
          measures="fraction of prompts whose greedy output under mode naive_positions differs from unbatched greedy "
                   "(a count over the fixed prompt set)",
          rule=AtLeast(0.01), fidelity="scaled-down", kind="exact", tolerance=SHARE_TOL),
    Claim("naive-mask-break", "Leaving rejected draft entries visible in the KV cache violates output equivalence",
          paper_value="violated", unit="fraction of rows differing", paper_ref="Sec. 3 (the ragged tensor problem)",
          measures="fraction of prompts whose greedy output under mode naive_unmasked differs from unbatched greedy "
                   "(a count over the fixed prompt set)",
          rule=AtLeast(0.01), fidelity="scaled-down", kind="exact", tolerance=SHARE_TOL),
    Claim("eqspec-equivalence", "Realignment (EQSPEC) restores output equivalence", paper_value=0.95,
          unit="fraction of rows identical", paper_ref="Abstract; Sec. 4 (EQSPEC)",
          measures="fraction of prompts whose batched (realign) greedy output equals unbatched greedy (a count over "
                   "the fixed prompt set)",
          rule=AtLeast(0.95, partial=0.8), fidelity="scaled-down", kind="exact", tolerance=SHARE_TOL,
          preconditions=(RAGGED,)),
    Claim("exspec-equivalence", "EXSPEC's same-length grouping keeps output equivalence", paper_value=0.95,
          unit="fraction of rows identical", paper_ref="Abstract; Sec. 5 (EXSPEC)",
          measures="fraction of prompts whose EXSPEC greedy output equals unbatched greedy (a count over the fixed "
                   "prompt set)",
          rule=AtLeast(0.95, partial=0.8), fidelity="scaled-down", kind="exact", tolerance=SHARE_TOL),
    Claim("realign-overhead", "Realignment is a large share of EQSPEC's time", paper_value=0.40,
          unit="share of wall time", paper_ref="Abstract (40% of overhead)",
          measures="seconds spent realigning caches / total seconds of the batched realign run (wall clock, CPU, one "
                   "run: no interval, so the engine cannot judge it)",
          rule=AtLeast(0.2, partial=0.05), fidelity="scaled-down", kind="timing", tolerance=TIMING_TOL),
    Claim("exspec-overhead", "EXSPEC's same-length grouping reduces the realignment overhead", paper_value="lower",
          unit="EXSPEC regroup copies / EQSPEC realign copies", paper_ref="Abstract; Sec. 5 (EXSPEC)",
          measures="KV-cache positions (per layer and model) EXSPEC copies to form its same-length groups / positions "
                   "EQSPEC's realignment gathers to re-pad its rows, same prompts, draft length and emitted tokens "
                   "(a deterministic count; wall clock is shown, not judged)",
          rule=AtMost(1.0), fidelity="scaled-down", kind="exact", tolerance=COPIES_TOL),
]  # fmt: skip
