"""A static audit of a built site: every reference a page makes, sorted into local files, outbound links and leaks.

A "leak" is anything that would make the browser contact another machine while loading a page: a script, style,
image, font or frame from an absolute URL, or a CSS `url()`/`@import` of one. Outbound links (`<a href>` to the papers)
are allowed, but only to the hosts listed, and are never fetched on load.
"""

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

OUTBOUND_HOSTS = {"arxiv.org", "doi.org"}
URL_ATTRS = {"src", "href", "srcset", "poster", "data", "action", "formaction", "background", "manifest", "ping"}
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""")
CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str]] = []  # (tag, url)
        self.css: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name == "style":
                self.css.append(value)
            elif name in URL_ATTRS:
                urls = [u.strip().split(" ")[0] for u in value.split(",")] if name == "srcset" else [value.strip()]
                self.refs += [(tag, u) for u in urls if u]
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.css.append(data)


def css_urls(css: str) -> list[str]:
    return [a or b for a, b in CSS_URL.findall(CSS_COMMENT.sub("", css))]


def is_external(url: str) -> bool:
    return bool(urlsplit(url).scheme in ("http", "https", "ftp", "ws", "wss") or url.startswith("//"))


def audit(site: Path) -> dict:
    """`{"leaks": [...], "outbound": [...], "broken": [...], "pages": n}` for every HTML and CSS file under `site`."""
    leaks, outbound, broken = [], [], []
    pages = sorted(site.rglob("*.html"))
    for path in pages + sorted(site.rglob("*.css")):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".html":
            parser = _Refs()
            parser.feed(text)
            refs, css = parser.refs, parser.css
        else:
            refs, css = [], [text]
        refs += [("css", u) for block in css for u in css_urls(block)]
        for tag, url in refs:
            where = f"{path.relative_to(site)}: <{tag}> {url}"
            if url.startswith(("data:", "#", "mailto:", "javascript:void")):
                continue
            if is_external(url):
                host = urlsplit(url if not url.startswith("//") else "https:" + url).hostname or ""
                if tag == "a" and host.removeprefix("www.") in OUTBOUND_HOSTS:
                    outbound.append(where)
                else:
                    leaks.append(where)
                continue
            target = (path.parent / urlsplit(url).path).resolve()
            if urlsplit(url).path and not target.exists():
                broken.append(where)
    return {"leaks": leaks, "outbound": outbound, "broken": broken, "pages": len(pages)}
