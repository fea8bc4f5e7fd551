"""The data manifest: per dataset, its source packages and versions, license, method, files, sizes and sha256.

Two copies exist: `data/manifest.json` (built with the data, so it is part of the `data.dvc` hash) and
`shared/data/manifest.json` (committed to git: what the files *should* be). Comparing the two, file by file, is how a
rebuild on another machine says which file differs and why, where the bare `data.dvc` md5 could only say "different".
"""

import hashlib
import json
from pathlib import Path

from shared import ROOT
from shared.repro import file_digest, file_sha256

DATA_DIR = ROOT / "data"
MANIFEST_NAME = "manifest.json"
EXPECTED_MANIFEST = Path(__file__).with_name(MANIFEST_NAME)
FORMAT = 1


def file_md5(path: Path) -> str:
    """DVC's content hash of one file."""
    return file_digest(path, "md5")


def describe_files(folder: Path) -> dict[str, dict]:
    """`{relative posix path: {"size", "sha256"}}` for every file under `folder`, sorted by path."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {p.relative_to(folder).as_posix(): {"size": p.stat().st_size, "sha256": file_sha256(p)} for p in files}


def combined_sha256(files: dict[str, dict]) -> str:
    """One hash for a dataset: sha256 over its sorted `path sha256` lines."""
    return hashlib.sha256("".join(f"{k} {v['sha256']}\n" for k, v in sorted(files.items())).encode()).hexdigest()


def dataset_entry(ds, folder: Path) -> dict:
    """The manifest entry of one built dataset (`ds` is a `sources.Dataset`, `folder` its output)."""
    files = describe_files(folder)
    return {
        "kind": ds.kind,
        "sources": [
            {"manager": o.manager, "package": o.package, "version": o.installed_version()} for o in ds.origins
        ],  # fmt: skip
        "license": ds.license,
        "method": ds.method,
        "params": ds.params,
        "files": files,
        "nfiles": len(files),
        "size": sum(f["size"] for f in files.values()),
        "sha256": combined_sha256(files),
    }


def dump(manifest: dict) -> str:
    return json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def load(path: Path) -> dict | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def dvc_dir_md5(folder: Path) -> tuple[str, int, int]:
    """The md5 DVC 3 records for a directory in `<name>.dvc`, computed the way `dvc add` does, without the cache.

    DVC hashes each file (md5 of the bytes), lists `{"md5", "relpath"}` sorted by path, serialises the list with
    `json.dumps(sort_keys=True)` and takes the md5 of that, with `.dir` appended. `tests/data` checks this against
    `dvc add`. Returns `(md5, total size, number of files)`.
    """
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    entries = sorted(({"md5": file_md5(p), "relpath": p.relative_to(folder).as_posix()} for p in files),
                     key=lambda e: e["relpath"])  # fmt: skip
    md5 = hashlib.md5(json.dumps(entries, sort_keys=True).encode("utf-8")).hexdigest() + ".dir"
    return md5, sum(p.stat().st_size for p in files), len(files)


def diff_manifests(expected: dict, built: dict) -> list[str]:
    """Human-readable differences between two manifests, each with its likely cause. Empty when they agree."""
    out = []
    exp, got = expected.get("datasets", {}), built.get("datasets", {})
    for key in sorted(set(exp) | set(got)):
        if key not in got:
            out.append(f"{key}: expected but not built")
            continue
        if key not in exp:
            out.append(f"{key}: built but not in the expected manifest (a new dataset: rebuild with --update)")
            continue
        e, g = exp[key], got[key]
        if e["sha256"] == g["sha256"]:
            continue
        files = []
        for f in sorted(set(e["files"]) | set(g["files"])):
            ef, gf = e["files"].get(f), g["files"].get(f)
            if ef is None:
                files.append(f"{key}/{f} is new")
            elif gf is None:
                files.append(f"{key}/{f} is missing")
            elif ef["sha256"] != gf["sha256"]:
                files.append(f"{key}/{f} differs (sha256 {gf['sha256'][:12]}…, expected {ef['sha256'][:12]}…, "
                             f"size {gf['size']:,} vs {ef['size']:,})")  # fmt: skip
        versions = [f"{s['manager']} {s['package']} {s['version']} here, {t['version']} when the manifest was made"
                    for s, t in zip(g["sources"], e["sources"]) if s["version"] != t["version"]]  # fmt: skip
        if versions:
            cause = "likely cause: a different package version (" + "; ".join(versions) + ")"
        elif e.get("params") != g.get("params"):
            cause = "likely cause: the extraction parameters changed in shared/data/sources.py"
        else:
            cause = ("same package versions: likely the extractor in shared/data/sources.py changed, "
                     "or it is not deterministic")  # fmt: skip
        out.append(f"{key}: {len(files)} file(s) differ; {cause}")
        out.extend("  " + f for f in files[:10])
        if len(files) > 10:
            out.append(f"  … and {len(files) - 10} more")
    return out


def check_files(folder: Path, manifest: dict) -> list[str]:
    """Problems with the files under `folder` (the `data/` tree) against `manifest`: missing, extra, altered."""
    problems = []
    listed = {f"{key}/{f}": meta for key, entry in manifest["datasets"].items() for f, meta in entry["files"].items()}
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {MANIFEST_NAME}
    for rel in sorted(set(listed) - present):
        problems.append(f"{rel}: missing")
    for rel in sorted(present - set(listed)):
        problems.append(f"{rel}: not in the manifest")
    for rel in sorted(set(listed) & present):
        path = folder / rel
        if path.stat().st_size != listed[rel]["size"] or file_sha256(path) != listed[rel]["sha256"]:
            problems.append(f"{rel}: sha256 does not match the manifest (modified or corrupted)")
    return problems
