"""Citing one result at one version: `papers cite`, `papers release` and `papers diff`, all read from git.

A citation must point at bytes that anyone can get back later, so everything here reads results from a commit (a tag,
a hash, or HEAD) with `git show`, never from the working tree: `papers cite --version v2026.12.0` prints the numbers
as they were at that tag even after they changed.
"""
