"""Every paper's results as they were at one commit, read with `git show` and validated against the current schema.

Also home to the one rule shared by the index, the site and `papers cite`: which profile speaks for a paper when it has
several (`headline_profile`).
"""

import difflib
import fnmatch
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from shared.citation.gitrepo import blob_id, list_at, read_at
from shared.paper import PaperError
from shared.results import ResultsError, validate

# the bigger run speaks for a paper when there are several: paper-scale GPU runs, then full CPU runs, then the default
PROFILE_PREFERENCE = ("gpu", "full", "default")


def headline_profile(profiles) -> str:
    """The profile whose results count in summaries: the first of `PROFILE_PREFERENCE` present, else alphabetical."""
    profiles = sorted(profiles)
    for p in PROFILE_PREFERENCE:
        if p in profiles:
            return p
    return profiles[0]


def profile_order(profiles) -> list[str]:
    """Profiles in display order: the headline first, then the rest by preference and name."""
    rank = {p: i for i, p in enumerate(PROFILE_PREFERENCE)}
    return sorted(profiles, key=lambda p: (rank.get(p, len(rank)), p))


def did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=3)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ResultAt:
    """One `papers/<slug>/results/<profile>.json` at one commit."""

    slug: str
    profile: str
    path: str  # repository-relative
    record: dict
    sha256: str  # of the file's bytes: what a reader checks after `git show <commit>:<path>`
    blob: str | None  # git object id (sha1_git), also the Software Heritage content id


class Snapshot:
    """The papers and results of the repository at `commit` (lazily read, cached)."""

    def __init__(self, repo: Path, commit: str, label: str):
        self.repo, self.commit, self.label = Path(repo), commit, label
        self._results: dict[tuple[str, str], ResultAt] | None = None
        self._meta: dict[str, dict] = {}

    def slugs(self) -> list[str]:
        paths = list_at(self.repo, self.commit, "papers")
        return sorted(p.split("/")[1] for p in paths if fnmatch.fnmatch(p, "papers/*/paper.yaml") and
                      not p.split("/")[1].startswith("_"))  # fmt: skip

    def check_slug(self, slug: str) -> str:
        slugs = self.slugs()
        if slug not in slugs and (self.repo / "papers" / slug / "paper.yaml").exists():
            raise PaperError(f"{slug} is in the working tree but not committed at {self.label}: commit the paper and "
                             f"its results first, then cite them")  # fmt: skip
        if slug not in slugs:
            raise PaperError(f"unknown paper {slug!r} at {self.label}{did_you_mean(slug, slugs)}; "
                             f"valid: {', '.join(slugs) or 'none at this version'}")  # fmt: skip
        return slug

    def meta(self, slug: str) -> dict:
        """`paper.yaml` of `slug` at this version."""
        if slug not in self._meta:
            raw = read_at(self.repo, self.commit, f"papers/{slug}/paper.yaml")
            self._meta[slug] = (yaml.safe_load(raw) or {}) if raw else {}
        return self._meta[slug]

    def results(self) -> dict[tuple[str, str], ResultAt]:
        """`{(slug, profile): ResultAt}` for every results file at this version; an invalid one raises `ResultsError`."""
        if self._results is None:
            found = {}
            for path in list_at(self.repo, self.commit, "papers"):
                if not fnmatch.fnmatch(path, "papers/*/results/*.json") or path.count("/") != 3:
                    continue
                slug, profile = path.split("/")[1], Path(path).stem
                raw = read_at(self.repo, self.commit, path)
                try:
                    record = json.loads(raw)
                except json.JSONDecodeError as e:
                    raise ResultsError(f"{path} at {self.label}: not valid JSON: {e}") from None
                validate(record, f"{path} at {self.label}")
                found[slug, profile] = ResultAt(slug, profile, path, record, sha256_bytes(raw),
                                                blob_id(self.repo, self.commit, path))  # fmt: skip
            self._results = dict(sorted(found.items()))
        return self._results

    def profiles(self, slug: str) -> list[str]:
        return profile_order(p for s, p in self.results() if s == slug)

    def result(self, slug: str, profile: str | None = None) -> ResultAt:
        """The results of `slug` under `profile` (default: its headline profile) at this version."""
        self.check_slug(slug)
        profiles = self.profiles(slug)
        if not profiles:
            raise PaperError(f"{slug} has no results at {self.label}: run it and commit results/<profile>.json")
        profile = profile or headline_profile(profiles)
        if profile not in profiles:
            raise PaperError(f"{slug} has no {profile!r} results at {self.label}{did_you_mean(profile, profiles)}; "
                             f"valid: {', '.join(profiles)}")  # fmt: skip
        return self.results()[slug, profile]
