"""Throughput of the toolkit's compression metrics over the whole gettext parallel corpus, as a ratio to the raw
library encode measured in the same run (1.0: no overhead; the target is >= 0.8).

    python -m shared.tokenization.bench [--repeats N] [tokenizer ...]
"""

import argparse
import sys


def corpus_texts() -> list[str]:
    """Every string of every language of every gettext domain in `data/parallel/gettext`."""
    from shared.data.loaders import data_path, read_jsonl

    texts = []
    for path in sorted(data_path("parallel/gettext").glob("*/messages.jsonl")):
        for row in read_jsonl(path):
            texts += [v for k, v in row.items() if k != "msgid" and v]
    return texts


def main(argv: list[str]) -> int:
    import pandas as pd

    from shared.tokenization import load, throughput

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", default=["tiktoken:o200k_base", "tiktoken:cl100k_base", "gpt2", "llama3"])
    p.add_argument("--repeats", type=int, default=3, help="timings per path; the best is kept (default 3)")
    args = p.parse_args(argv)
    texts = corpus_texts()
    print(f"{len(texts)} strings, {sum(len(t.encode()) for t in texts) / 1e6:.1f} MB", flush=True)
    for n in args.names:
        row = throughput(load(n), texts, repeats=args.repeats)
        print(pd.DataFrame([row]).round(3).to_string(index=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
