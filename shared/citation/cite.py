"""`papers cite SLUG [--claim ID] [--version TAG|COMMIT] [--format bibtex|cff|json|apa]`: cite one result at one version.

A citation names the version (tag and commit), the results file with its SHA-256 and git object id, the data,
parameters and inputs hashes the run recorded, the profile and device, and the original paper. Everything is read
from git at that version, so the printed numbers are the ones a reader gets back with
`git show <commit>:papers/<slug>/results/<profile>.json`, whatever the working tree holds today.
"""

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

from shared import ROOT
from shared.citation.gitrepo import read_at, resolve
from shared.citation.snapshot import Snapshot, did_you_mean
from shared.paper import PaperError

FORMATS = ("bibtex", "cff", "json", "apa")
DEFAULT_SOFTWARE = {
    "title": "Token Papers: claim-level replications of token-level LLM papers",
    "authors": [{"name": "Token Papers contributors"}],
}


def software_meta(repo: Path, commit: str) -> dict:
    """The project's own citation metadata (`CITATION.cff`) as it was at `commit`; defaults where it is missing."""
    raw = read_at(repo, commit, "CITATION.cff")
    cff = {}
    if raw:
        try:
            cff = yaml.safe_load(raw) or {}
        except yaml.YAMLError:
            cff = {}
    return {
        "title": cff.get("title") or DEFAULT_SOFTWARE["title"],
        "authors": cff.get("authors") or DEFAULT_SOFTWARE["authors"],
        "repository": cff.get("repository-code") or cff.get("url"),
        "doi": cff.get("doi"),
        "license": cff.get("license"),
    }


def person_name(author: dict) -> str:
    """A CFF author (person or entity) as one display string."""
    if "name" in author:
        return str(author["name"])
    parts = [author.get("given-names"), author.get("name-particle"), author.get("family-names")]
    return " ".join(str(p) for p in parts if p)


def split_authors(authors) -> list[dict]:
    """`"Ruiqi Zhang, Spencer Frei, Peter L. Bartlett"` (or a list) as CFF persons; the last word is the family name."""
    if not authors:
        return []
    names = authors if isinstance(authors, list) else re.split(r",\s*|\s+and\s+", str(authors))
    out = []
    for name in (str(n).strip() for n in names):
        if not name:
            continue
        words = name.split()
        out.append({"given-names": " ".join(words[:-1]), "family-names": words[-1]} if len(words) > 1
                   else {"name": name})  # fmt: skip
    return out


def paper_year(meta: dict, arxiv_id: str | None) -> int | None:
    """The original paper's year: `year` in paper.yaml, else the last year in its venue, else its arXiv month."""
    if meta.get("year"):
        return int(meta["year"])
    years = re.findall(r"\b(?:19|20)\d\d\b", str(meta.get("venue") or ""))
    if years:
        return int(years[-1])
    if arxiv_id and re.match(r"^\d{4}\.", arxiv_id):
        return 2000 + int(arxiv_id[:2])
    return None


def citation(slug: str, claim: str | None = None, version: str | None = None, profile: str | None = None,
             repo: Path = ROOT) -> dict:  # fmt: skip
    """Everything a citation of one result needs, as one JSON-able dict (the `json` format prints it as is)."""
    v = resolve(repo, version)
    snap = Snapshot(repo, v.commit, v.label)
    res = snap.result(slug, profile)
    record, prov = res.record, res.record["provenance"]
    claim_entry = None
    if claim is not None:
        ids = [c["id"] for c in record["claims"]]
        if claim not in ids:
            raise PaperError(f"{slug} has no claim {claim!r} in its {res.profile!r} results at {v.label}"
                             f"{did_you_mean(claim, ids)}; valid: {', '.join(ids)}")  # fmt: skip
        claim_entry = next(c for c in record["claims"] if c["id"] == claim)
    software = software_meta(repo, v.commit)
    meta = snap.meta(slug)
    arxiv_id = record.get("arxiv_id") or meta.get("arxiv_id")
    swhid = swhid_full = None
    if res.blob and len(res.blob) == 40:
        # a Software Heritage content id is git's blob id; the anchor says which commit and path it was found at
        swhid = f"swh:1:cnt:{res.blob}"
        swhid_full = f"{swhid};anchor=swh:1:rev:{v.commit};path=/{res.path}"
        if software["repository"]:
            swhid_full = f"{swhid};origin={software['repository']};anchor=swh:1:rev:{v.commit};path=/{res.path}"
    return {
        "version": {"label": v.label, "tag": v.tag, "commit": v.commit, "date": v.date},
        "software": software,
        "result": {
            "paper": slug,
            "profile": res.profile,
            "device": prov["device"],
            "file": res.path,
            "sha256": res.sha256,
            "git_blob": res.blob,
            "swhid": swhid,
            "swhid_qualified": swhid_full,
            "data_hash": prov["data_hash"],
            "params_hash": prov["params_hash"],
            "inputs_hash": prov["inputs_hash"],
            "run_commit": prov["commit"],
            "run_finished_utc": prov["finished_utc"],
            "summary": record["summary"],
            "claim": claim_entry,
        },
        "original": {
            "title": record["title"],
            "authors": split_authors(meta.get("authors")),
            "venue": meta.get("venue"),
            "year": paper_year(meta, arxiv_id),
            "arxiv_id": arxiv_id,
            "url": meta.get("url") or (f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else None),
            "catalog_id": record["catalog_id"],
        },
    }


# formats


def _what(c: dict) -> str:
    """`replication of "Title", claim X (profile p)`: the part of the title that says which result."""
    r = c["result"]
    s = f'replication of "{c["original"]["title"]}"'
    if r["claim"]:
        s += f", claim {r['claim']['id']}"
    return s + f" ({r['profile']} profile)"


def _outcome(c: dict) -> str:
    r = c["result"]
    if r["claim"]:
        cl = r["claim"]
        ours = cl["ours"]
        interval = f" [{ours['low']:.4g}, {ours['high']:.4g}]" if "low" in ours else ""
        # a unit reads well after a number ("0 relative deviation"), not after a word ("brittle")
        numeric = isinstance(cl["paper_value"], int | float)
        unit = f" {cl['paper_unit']}" if cl["paper_unit"] and numeric else ""
        return (f"verdict {cl['verdict']} ({cl['fidelity']}): ours {ours['value']:.4g}{interval}, "
                f"paper {cl['paper_value']}{unit} ({cl['paper_ref']})")  # fmt: skip
    s = r["summary"]
    return ", ".join(f"{n} {k}" for k, n in s.items() if n) + " claims"


def _pinning(c: dict) -> str:
    r, v = c["result"], c["version"]
    return (f"version {v['label']}, commit {v['commit']}; results {r['file']} (sha256 {r['sha256']}); "
            f"data {r['data_hash'] or 'none'}; parameters sha256 {r['params_hash']}; "
            f"profile {r['profile']}; device {r['device']}")  # fmt: skip


def _bib_escape(text: str) -> str:
    return re.sub(r"([&%$#_{}])", r"\\\1", str(text)).replace("~", r"\textasciitilde{}").replace("^", r"\^{}")


def _bib_key(*parts) -> str:
    return re.sub(r"[^A-Za-z0-9:._-]+", "-", ":".join(str(p) for p in parts if p)).strip("-")


def _original_key(o: dict) -> str:
    family = (o["authors"][0].get("family-names") or o["authors"][0].get("name", "")) if o["authors"] else "anon"
    word = next((w for w in re.findall(r"[A-Za-z]+", o["title"]) if len(w) > 3), "paper")
    return re.sub(r"[^a-z0-9]", "", f"{family}{o['year'] or ''}{word}".lower())


def _bib_entry(kind: str, key: str, fields: dict) -> str:
    body = ",\n".join(f"  {k:<12} = {{{v}}}" for k, v in fields.items() if v not in (None, ""))
    return f"@{kind}{{{key},\n{body}\n}}"


def to_bibtex(c: dict) -> str:
    """biblatex `@software` for the result (`version`, `swhid` from biblatex-software) and `@misc` for the paper."""
    r, v, s, o = c["result"], c["version"], c["software"], c["original"]
    okey = _original_key(o)
    authors = " and ".join("{" + _bib_escape(person_name(a)) + "}" if "name" in a else _bib_escape(person_name(a))
                           for a in s["authors"])  # fmt: skip
    ours = _bib_entry("software", _bib_key("tokenpapers", r["paper"], r["claim"] and r["claim"]["id"], v["label"]), {
        "title": "{" + _bib_escape(s["title"].split(":")[0]) + "}: " + _bib_escape(_what(c)),
        "author": authors,
        "version": _bib_escape(v["label"]),
        "date": v["date"],
        "year": v["date"][:4],
        "url": s["repository"],
        "doi": s["doi"],
        "swhid": r["swhid_qualified"],
        "note": _bib_escape(f"{_outcome(c)}. Pinned: {_pinning(c)}"),
        "related": okey,
    })  # fmt: skip
    paper = _bib_entry("misc", okey, {
        "title": "{" + _bib_escape(o["title"]) + "}",
        "author": " and ".join(_bib_escape(person_name(a)) for a in o["authors"]),
        "year": o["year"],
        "howpublished": _bib_escape(o["venue"]) if o["venue"] else None,
        "eprint": o["arxiv_id"],
        "archiveprefix": "arXiv" if o["arxiv_id"] else None,
        "url": o["url"],
    })  # fmt: skip
    return ours + "\n\n" + paper + "\n"


def to_cff(c: dict) -> str:
    """A CITATION.cff (1.2.0) document for this one result, with the original paper under `references`."""
    r, v, s, o = c["result"], c["version"], c["software"], c["original"]
    identifiers = [{"type": "other", "value": f"sha256:{r['sha256']}",
                    "description": f"SHA-256 of {r['file']} at commit {v['commit']}"}]  # fmt: skip
    if r["swhid"]:
        identifiers.append({"type": "swh", "value": r["swhid"], "description": f"Software Heritage id of {r['file']}"})
    identifiers.append({"type": "other", "value": f"params-sha256:{r['params_hash']}", "description": "parameters"})
    if r["data_hash"]:
        identifiers.append({"type": "other", "value": f"data-md5:{r['data_hash']}", "description": "data (DVC)"})
    doc = {
        "cff-version": "1.2.0",
        "message": "If you use this result, please cite it at this version, and cite the original paper.",
        "type": "software",
        "title": f"{s['title'].split(':')[0]}: {_what(c)}",
        "authors": s["authors"],
        "version": v["label"],
        "commit": v["commit"],
        "date-released": v["date"],
        "abstract": f"{_outcome(c)}. Pinned: {_pinning(c)}.",
        "identifiers": identifiers,
    }
    if s["repository"]:
        doc["repository-code"] = s["repository"]
    if s["doi"]:
        doc["doi"] = s["doi"]
    if s["license"]:
        doc["license"] = s["license"]
    ref = {"type": "article", "title": o["title"], "authors": o["authors"] or [{"name": "unknown"}]}
    for key, value in (("year", o["year"]), ("journal", o["venue"]), ("url", o["url"])):
        if value:
            ref[key] = value
    if o["arxiv_id"]:
        ref["identifiers"] = [{"type": "other", "value": f"arXiv:{o['arxiv_id']}"}]
    doc["references"] = [ref]
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def _apa_person(a: dict) -> str:
    if "name" in a:
        return str(a["name"])
    initials = " ".join(f"{w[0]}." for w in re.split(r"[\s-]+", str(a.get("given-names", ""))) if w)
    return f"{a['family-names']}, {initials}".strip(", ")


def _apa_list(authors: list[dict]) -> str:
    names = [_apa_person(a) for a in authors]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + ", & " + names[-1]


def _sentence(text: str) -> str:
    """`text` ending in exactly one period (an author list may already end in an initial's)."""
    return text if text.endswith(".") else text + "."


def to_apa(c: dict) -> str:
    """APA 7 style, as plain text: the result as software, then the paper it replicates."""
    v, s, o = c["version"], c["software"], c["original"]
    head = s["title"].split(":")[0]
    pin = f"Version {v['tag']}, commit {v['commit'][:12]}" if v["tag"] else f"untagged commit {v['commit'][:12]}"
    ours = (f"{_sentence(_apa_list(s['authors']))} ({v['date'][:4]}). {head}: {_what(c)} ({pin}) "
            f"[Computer software].")  # fmt: skip
    if s["doi"]:
        ours += f" https://doi.org/{s['doi']}"
    elif s["repository"]:
        ours += f" {s['repository']}"
    ours += f"\n  {_outcome(c)}.\n  Pinned: {_pinning(c)}."
    paper = f"{_sentence(_apa_list(o['authors']))} ({o['year'] or 'n.d.'}). {_sentence(o['title'])}"
    if o["venue"]:
        paper += f" {_sentence(o['venue'])}"
    if o["url"]:
        paper += f" {o['url']}"
    return f"{ours}\n\nReplicates:\n{paper}\n"


def render(c: dict, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(c, indent=2, ensure_ascii=False) + "\n"
    return {"bibtex": to_bibtex, "cff": to_cff, "apa": to_apa}[fmt](c)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("slug", help="the paper, e.g. icl_lsa_2023")
    p.add_argument("--claim", help="cite one claim (default: the paper's whole result)")
    p.add_argument("--version", help="a release tag or commit (default: HEAD); results are read as they were there")
    p.add_argument("--profile", help="which results file (default: the biggest run: gpu, then full, then default)")
    p.add_argument("--format", default="bibtex", help=f"one of {', '.join(FORMATS)} (default: bibtex)")


def main(args) -> int:
    from shared.cli import UsageError

    if args.format not in FORMATS:
        raise UsageError(f"unknown format {args.format!r}; valid: {', '.join(FORMATS)}")
    c = citation(args.slug, args.claim, args.version, args.profile, repo=ROOT)
    if args.version is None:
        _warn_uncommitted(c)
    sys.stdout.write(render(c, args.format))
    return 0


def _warn_uncommitted(c: dict) -> None:
    """Citations come from commits: say so when the working tree holds different, uncommitted results."""
    from shared.citation.gitrepo import changed_paths

    if c["result"]["file"] in changed_paths(ROOT, [c["result"]["file"]]):
        print(f"note: {c['result']['file']} has uncommitted changes; this cites the committed version at "
              f"{c['version']['label']}", file=sys.stderr)  # fmt: skip
