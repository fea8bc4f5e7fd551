"""The claims of "$title" under test, with their verdict rules: fixed before any run, judged by code after.

Each claim quotes the paper (`paper_version`, `paper_quote`: the arXiv version and the verbatim sentence or table cell),
says what kind of quantity it is (`noisy` needs an interval over >= 5 units; `exact`; `timing`), carries the
reproduction tolerance measured by re-running (1 vs 2 threads: `papers stability $slug --threads 2`), and, where it
compares, the trivial control the method must beat. See `shared/claims.py` and `papers/README.md`.
"""

from shared.claims import AtLeast, Claim, Control, Tolerance

CLAIMS = [
    Claim("main", "<the claim, as the paper makes it>", paper_value=None, unit="", paper_ref="<Sec./Tab./Fig.>",
          paper_version="<arXiv id with version, e.g. 2309.17453v4>", paper_quote="<the verbatim sentence or cell>",
          measures="<what exactly our number is, over which units>", rule=AtLeast(1.0), fidelity="scaled-down",
          kind="noisy", control=Control("random", "<the cheapest explanation of the effect>"),
          tolerance=Tolerance(0.002, why="<the spread measured by re-running with 1 vs 2 threads>")),
]  # fmt: skip
