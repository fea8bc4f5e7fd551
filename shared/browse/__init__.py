"""Browsing results: the results index (`papers results`) and the static site (`papers site build|serve`).

The site is plain files under `site/` that work offline: no CDN, no request leaves the machine. The only JavaScript is
the project's own table script and KaTeX, copied at build time from Debian's `libjs-katex` when it is installed.
"""
