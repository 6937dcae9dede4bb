"""How devgerrit picks the Java a Gerrit version needs (deploy/devgerrit.py), without Gerrit:
a wrong pick shows up only as a daemon that will not start, minutes into an e2e run."""

from __future__ import annotations

import zipfile
from pathlib import Path

import devgerrit
import pytest


def fake_jdk(root: Path, name: str, version: str) -> Path:
    """A directory that looks like a JDK of `version` (release file, java/javac/jar)."""
    home = root / name
    (home / "bin").mkdir(parents=True)
    for tool in ("java", "javac", "jar"):
        (home / "bin" / tool).write_text("#!/bin/sh\n")
        (home / "bin" / tool).chmod(0o755)
    (home / "release").write_text(f'IMPLEMENTOR="Test"\nJAVA_VERSION="{version}"\n')
    return home


@pytest.fixture
def jvms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty /usr/lib/jvm stand-in, with no javac on PATH and no JAVA_HOME."""
    root = tmp_path / "jvm"
    root.mkdir()
    monkeypatch.setattr(devgerrit, "JDK_GLOB", str(root / "*"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    return root


def test_the_oldest_jdk_that_is_new_enough_is_chosen(jvms: Path) -> None:
    fake_jdk(jvms, "java-17", "17.0.15")
    jdk21 = fake_jdk(jvms, "jdk-21", "21.0.4")
    jdk25 = fake_jdk(jvms, "temurin-25-jdk-amd64", "25.0.3")
    (jvms / "not-a-jdk").mkdir()
    assert devgerrit.find_jdk(21) == jdk21.resolve()
    assert devgerrit.find_jdk(22) == jdk25.resolve()


def test_the_jdk_on_path_comes_first_when_it_fits(
    jvms: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_path = fake_jdk(jvms.parent, "path-jdk-17", "17.0.15")
    newer = fake_jdk(jvms, "temurin-25-jdk-amd64", "25.0.3")
    monkeypatch.setenv("PATH", str(on_path / "bin"))
    assert devgerrit.find_jdk(17) == on_path.resolve()  # 3.10 keeps running where it always did
    assert devgerrit.find_jdk(21) == newer.resolve()


def test_java_home_is_used_when_path_does_not_fit(
    jvms: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = fake_jdk(jvms.parent, "custom-21", "21.0.1")
    fake_jdk(jvms, "temurin-25-jdk-amd64", "25.0.3")
    monkeypatch.setenv("JAVA_HOME", str(home))
    assert devgerrit.find_jdk(21) == home.resolve()


def test_no_fitting_jdk_is_a_clear_error(jvms: Path) -> None:
    fake_jdk(jvms, "java-17", "17.0.15")
    with pytest.raises(RuntimeError, match=r"Gerrit 3\.11\.0 needs a JDK 21 or newer") as error:
        devgerrit.find_jdk(21, why="Gerrit 3.11.0")
    assert "java-17 (Java 17)" in str(error.value)
    assert "JAVA_HOME" in str(error.value)


@pytest.mark.parametrize(("major", "release"), [(61, 17), (65, 21)])
def test_a_jars_java_release_comes_from_its_class_files(
    tmp_path: Path, major: int, release: int
) -> None:
    jar = tmp_path / "gerrit-plugin-api.jar"
    with zipfile.ZipFile(jar, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        archive.writestr(
            "com/google/gerrit/Api.class", b"\xca\xfe\xba\xbe\x00\x00" + bytes([0, major])
        )
    assert devgerrit.class_release(jar) == release
