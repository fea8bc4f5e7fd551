"""`papers new`: a paper folder from the template in `shared/templates/paper/`."""

import argparse
import json
import string
from pathlib import Path

from shared.catalog import entry
from shared.notebooks import text_to_notebook, write
from shared.paper import KERNELS, PAPERS_DIR, SLUG_RE, PaperError

TEMPLATE = Path(__file__).with_name("templates") / "paper"
# template file -> path in the paper folder ({slug} is replaced)
FILES = {
    "README.md": "README.md",
    "paper.yaml": "paper.yaml",
    "init.py": "__init__.py",
    "method.py": "method.py",
    "claims.py": "claims.py",
    "test_method.py": "test_method.py",
    "params/full.yaml": "params/full.yaml",
    "notebook.py": "{slug}.py",
}


def create(slug: str, catalog_id: int, arxiv_id: str | None = None, root: Path = PAPERS_DIR,
           kernel: str = "cpu") -> Path:  # fmt: skip
    """Create `root/<slug>/` for catalog entry `catalog_id`; refuses to overwrite an existing folder."""
    if not SLUG_RE.match(slug):
        raise PaperError(f"slug {slug!r} must be importable snake_case ending in a year, like `streamingllm_2023`")
    e = entry(catalog_id)
    dest = root / slug
    if dest.exists():
        raise PaperError(f"{dest} exists already")
    taken = {}
    for meta in root.glob("*/paper.yaml"):
        import yaml

        taken[int((yaml.safe_load(meta.read_text()) or {}).get("catalog_id", -1))] = meta.parent.name
    if int(catalog_id) in taken:
        raise PaperError(f"catalog id {catalog_id} is replicated in papers/{taken[int(catalog_id)]} already")
    values = {
        "slug": slug,
        "catalog_id": str(int(catalog_id)),
        "title": e["title"],
        "title_yaml": json.dumps(e["title"]),
        "arxiv": arxiv_id or "unknown",
        "arxiv_yaml": json.dumps(arxiv_id),
        "category": e.get("category", ""),
        "abstract": " ".join(e.get("abstract", "").split()),
    }
    for src, dst in FILES.items():
        out = dest / dst.format(slug=slug)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(string.Template((TEMPLATE / src).read_text()).safe_substitute(values))
    write(text_to_notebook(dest / f"{slug}.py", KERNELS[kernel]), dest / f"{slug}.ipynb")
    return dest


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("slug", help="importable snake_case folder name ending in the year, e.g. streamingllm_2023")
    p.add_argument("--catalog-id", type=int, required=True, help="the paper's id in the catalog (`papers catalog`)")
    p.add_argument("--arxiv", help="arXiv id, e.g. 2309.17453")
    p.add_argument("--kernel", choices=sorted(KERNELS), default="cpu")


def main(args) -> int:
    dest = create(args.slug, args.catalog_id, args.arxiv, kernel=args.kernel)
    print(f"created {dest.relative_to(PAPERS_DIR.parent)}/: write method.py and its tests, fill the notebook "
          f"({args.slug}.py and .ipynb are a jupytext pair), then `papers run {args.slug}`")  # fmt: skip
    return 0
