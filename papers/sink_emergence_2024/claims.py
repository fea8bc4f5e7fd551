"""The claims of arXiv:2410.10781 under test, with their verdict rules: fixed before any run, judged by code after.

Sink values are the paper's Sink_1^eps in percent (eps = 0.3, T = 64): the share of heads whose mean attention on the
first token, over the queries that see it, exceeds eps. Intervals are Student-t 95% over probe sequences (pretrained
models) or over training seeds (trained models).
"""

from shared.claims import AtLeast, AtMost, Claim

CLAIMS = [
    Claim("natural-smollm2", "Pretrained LMs have a first-token attention sink on natural text",
          paper_value="present in all 30 open LMs", unit="% of heads", paper_ref="Sec. 3",
          measures="Sink_1 on fortunes text (tokenizer's default prefix) in SmolLM2-135M-Instruct; interval over "
                   "sequences",
          rule=AtLeast(20.0, partial=5.0), fidelity="scaled-down"),
    Claim("natural-gemma3", "Pretrained LMs have a first-token attention sink on natural text",
          paper_value="present in all 30 open LMs", unit="% of heads", paper_ref="Sec. 3",
          measures="Sink_1 on fortunes text (tokenizer's default prefix, <bos>) in Gemma-3-270M; interval over "
                   "sequences",
          rule=AtLeast(20.0, partial=5.0), fidelity="scaled-down"),
    Claim("random-smollm2", "The sink appears on random-token inputs too",
          paper_value="present", unit="% of heads", paper_ref="Sec. 3 (input types)",
          measures="Sink_1 on uniformly random token ids, no special tokens, SmolLM2-135M-Instruct",
          rule=AtLeast(20.0, partial=5.0), fidelity="scaled-down"),
    Claim("random-gemma3", "The sink appears on random-token inputs too",
          paper_value="present", unit="% of heads", paper_ref="Sec. 3 (input types)",
          measures="Sink_1 on uniformly random token ids, no special tokens, Gemma-3-270M",
          rule=AtLeast(20.0, partial=5.0), fidelity="scaled-down"),
    Claim("first-token-only", "The sink sits on the first token, not on the positions after it",
          paper_value="Sink_1 >> Sink_k (k > 1)", unit="percentage points", paper_ref="Sec. 3",
          measures="min over the two models of Sink_1 - max_{2<=k<=10} Sink_k on natural text",
          rule=AtLeast(20.0, partial=5.0), fidelity="scaled-down"),
    Claim("softmax-emerges", "With softmax attention a first-token sink emerges during training",
          paper_value="emerges after effective optimisation", unit="% of heads",
          paper_ref="Sec. 4 (optimisation)",
          measures="final Sink_1 of the softmax model minus its Sink_1 at initialisation (bigram-backcopy task on "
                   "project-corpus statistics, <bos>-prefixed); mean over seeds",
          rule=AtLeast(10.0, partial=2.0), fidelity="analogue"),
    Claim("sigmoid-no-sink", "Sigmoid attention without normalisation develops no sink",
          paper_value="no sink, up to 1B params", unit="% of heads", paper_ref="Sec. 7 (attention operation)",
          measures="final Sink_1 of the sigmoid (no normalisation) model, weights row-normalised for the metric as "
                   "in the official code; mean over seeds",
          rule=AtMost(2.0, partial=5.0), fidelity="analogue"),
    Claim("sigmoid-matched-loss", "...at a loss comparable to softmax attention",
          paper_value="comparable valid loss", unit="relative loss gap", paper_ref="Sec. 7 (attention operation)",
          measures="(sigmoid val loss - softmax val loss) / softmax val loss, same seed; mean over seeds",
          rule=AtMost(0.03, partial=0.10), fidelity="analogue"),
    Claim("key-bias-absorbs", "A learnable key bias with zero value takes the sink off the first token",
          paper_value="sink moves to the bias", unit="ratio to softmax", paper_ref="Sec. 7 (attention biases)",
          measures="mean final Sink_1 on the first real token with the key-bias slot / the same for the softmax "
                   "model",
          rule=AtMost(0.25, partial=0.6), fidelity="analogue"),
]  # fmt: skip
