"""The claims of "$title" under test, with their verdict rules: fixed before any run, judged by code after."""

from shared.claims import AtLeast, Claim

CLAIMS = [
    Claim("main", "<the claim, as the paper makes it>", paper_value=None, unit="", paper_ref="<Sec./Tab./Fig.>",
          measures="<what exactly our number is>", rule=AtLeast(1.0), fidelity="scaled-down"),
]  # fmt: skip
