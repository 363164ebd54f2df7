"""Supply chain: the lock file pins every package with hashes, and LiteLLM is never a known-bad release.

LiteLLM 1.82.7 and 1.82.8 were published compromised (credential-stealing code) and yanked; 1.107.x is
outside the range this project is tested against. The check covers the lock file, the dependency
range declared in ``pyproject.toml`` and the version installed in the running environment.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
KNOWN_BAD = (Version("1.82.7"), Version("1.82.8"))


def _is_bad(version: Version) -> bool:
    return version in KNOWN_BAD or (version.major, version.minor) == (1, 107)


def _lock_blocks(path: Path) -> dict[str, tuple[str, list[str]]]:
    """``name -> (version, hashes)`` for every requirement in a ``--generate-hashes`` lock file."""
    blocks: dict[str, tuple[str, list[str]]] = {}
    current: str | None = None
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            m = re.match(r"^([A-Za-z0-9_.\-\[\],]+)==([^\s\\;]+)", line)
            assert m, f"{path.name}: requirement not pinned with ==: {line!r}"
            current = re.sub(r"\[.*\]", "", m.group(1)).lower().replace("_", "-")
            blocks[current] = (m.group(2), [])
        elif "--hash=" in line:
            assert current is not None
            blocks[current][1].extend(re.findall(r"--hash=(sha256:[0-9a-f]{64})", line))
    return blocks


@pytest.fixture(scope="module")
def lock() -> dict[str, tuple[str, list[str]]]:
    path = ROOT / "requirements.lock"
    if not path.exists():
        pytest.skip("requirements.lock is not in this checkout")
    return _lock_blocks(path)


def test_every_locked_package_is_pinned_with_sha256_hashes(lock: dict[str, tuple[str, list[str]]]) -> None:
    assert len(lock) > 50
    unhashed = sorted(name for name, (_, hashes) in lock.items() if not hashes)
    assert not unhashed, f"packages without --hash in requirements.lock: {unhashed}"


def test_locked_litellm_is_not_a_known_bad_release(lock: dict[str, tuple[str, list[str]]]) -> None:
    assert "litellm" in lock
    version = Version(lock["litellm"][0])
    assert not _is_bad(version), f"requirements.lock pins litellm {version}, a known-bad release"


def test_installed_litellm_is_not_a_known_bad_release() -> None:
    version = Version(metadata.version("litellm"))
    assert not _is_bad(version), (
        f"installed litellm {version} is a known-bad release: reinstall from the lock"
    )


def test_declared_range_excludes_the_bad_releases() -> None:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        pytest.skip("tomllib needs Python 3.11")
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    req = next(Requirement(d) for d in deps if Requirement(d).name == "litellm")
    for bad in ("1.82.7", "1.82.8", "1.107.0", "1.107.5"):
        assert not req.specifier.contains(bad, prereleases=True), f"pyproject allows litellm {bad}: {req}"


def test_the_check_itself_flags_bad_versions() -> None:
    assert _is_bad(Version("1.82.7")) and _is_bad(Version("1.82.8")) and _is_bad(Version("1.107.3"))
    assert not _is_bad(Version("1.106.2")) and not _is_bad(Version("1.82.6"))
    blocks = _lock_blocks_text("foo==1.0 \\\n    --hash=sha256:" + "a" * 64 + "\nbar==2.0\n")
    assert blocks == {"foo": ("1.0", ["sha256:" + "a" * 64]), "bar": ("2.0", [])}


def _lock_blocks_text(text: str) -> dict[str, tuple[str, list[str]]]:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".lock", delete=False) as f:
        f.write(text)
    try:
        return _lock_blocks(Path(f.name))
    finally:
        Path(f.name).unlink()
