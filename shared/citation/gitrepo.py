"""A thin layer over the `git` command: resolve versions, read files at a commit, list tags, check for local changes.

It shells out to git rather than using a library because git is already a requirement of the project and its plumbing
commands (`rev-parse`, `cat-file`, `ls-tree`) are stable; every failure becomes a `GitError` with git's own message.
"""

import subprocess
from dataclasses import dataclass
from pathlib import Path

from shared.cli import UsageError


class GitError(UsageError):
    """A git command failed, or a version does not exist; printed as one line by the `papers` command."""


def git(repo: Path, *args: str, check: bool = True) -> str:
    """Run `git -C repo args...` and return its stdout (text, trailing newline kept off)."""
    try:
        proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed: citing, releasing and diffing versions read results from git") from None
    if check and proc.returncode != 0:
        msg = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        raise GitError(f"git {args[0]} failed: {msg}")
    return proc.stdout.rstrip("\n")


def git_bytes(repo: Path, *args: str) -> bytes | None:
    """Like `git`, but binary stdout, and None instead of an error (used to read files that may not exist)."""
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    return proc.stdout if proc.returncode == 0 else None


def is_repo(repo: Path) -> bool:
    return git_bytes(repo, "rev-parse", "--git-dir") is not None


def require_repo(repo: Path) -> None:
    if not is_repo(repo):
        raise GitError(f"{repo} is not a git repository: versions are git tags and commits")
    if git_bytes(repo, "rev-parse", "--verify", "--quiet", "HEAD") is None:
        raise GitError(f"{repo} has no commits yet: commit the results first, then cite or release them")


def tags(repo: Path) -> list[str]:
    """Every tag, newest version first (`v2026.12.0` before `v2026.11.3`)."""
    out = git(repo, "tag", "--list", "--sort=-v:refname")
    return [t for t in out.splitlines() if t]


@dataclass(frozen=True)
class Version:
    """One resolved version: what the user typed, the commit it names, and the tag on that commit if there is one."""

    spec: str  # as given: a tag, a commit, or "HEAD"
    commit: str  # full hash
    tag: str | None
    date: str  # commit date, YYYY-MM-DD

    @property
    def label(self) -> str:
        """The version as a citation shows it: the tag, else the short commit."""
        return self.tag or self.commit[:12]


def resolve(repo: Path, spec: str | None = None) -> Version:
    """Turn `--version TAG|COMMIT` (default: HEAD) into a `Version`; unknown names list the valid tags."""
    require_repo(repo)
    spec = spec or "HEAD"
    commit = git(repo, "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}", check=False)
    if not commit:
        known = tags(repo)
        listed = ", ".join(known[:15]) + (f" (and {len(known) - 15} more)" if len(known) > 15 else "")
        raise GitError(f"unknown version {spec!r}: valid tags are {listed or 'none yet'}, or give a commit hash")
    # a tag given by name wins; otherwise the newest tag that points at the commit, if any
    is_tag = git_bytes(repo, "rev-parse", "--verify", "--quiet", f"refs/tags/{spec}") is not None
    on_commit = [t for t in git(repo, "tag", "--points-at", commit, "--sort=-v:refname").splitlines() if t]
    tag = spec if is_tag else (on_commit[0] if on_commit else None)
    date = git(repo, "show", "-s", "--format=%cs", commit)
    return Version(spec, commit, tag, date)


def read_at(repo: Path, commit: str, path: str) -> bytes | None:
    """The bytes of `path` at `commit`, or None if it did not exist there."""
    return git_bytes(repo, "cat-file", "blob", f"{commit}:{path}")


def blob_id(repo: Path, commit: str, path: str) -> str | None:
    """Git's object id of `path` at `commit`: for a file it is also the Software Heritage content id (sha1_git)."""
    out = git_bytes(repo, "rev-parse", "--verify", "--quiet", f"{commit}:{path}")
    return out.decode().strip() if out else None


def list_at(repo: Path, commit: str, under: str) -> list[str]:
    """Paths of the files under `under` at `commit`."""
    out = git(repo, "ls-tree", "-r", "--name-only", commit, "--", under)
    return [p for p in out.splitlines() if p]


def changed_paths(repo: Path, pathspecs: list[str]) -> list[str]:
    """Files under `pathspecs` that differ from HEAD (modified, staged, deleted or untracked), as `git status` says."""
    out = git(repo, "status", "--porcelain", "--untracked-files=all", "--", *pathspecs)
    return [line[3:] for line in out.splitlines() if line]


def last_commits(repo: Path, pathspec: str) -> dict[str, str]:
    """For each file matching `pathspec`, the last commit that changed it: `{path: hash}` (one `git log` call)."""
    if not is_repo(repo) or git_bytes(repo, "rev-parse", "--verify", "--quiet", "HEAD") is None:
        return {}
    out = git(repo, "log", "--format=@%H", "--name-only", "--", pathspec, check=False)
    found, current = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            current = line[1:]
        elif line and current:
            found.setdefault(line, current)
    return found
