"""The three places that pin versions agree: constraints.txt, environment.yml, binder/."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAME = {"redis": "redis-py", "matplotlib": "matplotlib-base", "tzdata": "python-tzdata"}
CONDA_ONLY = {"python", "pip", "make"}
#: not on conda-forge at the pinned versions: the env files install them with pip, pinned
PIP_IN_CONDA = {"playwright", "pytest-playwright"}


def _declared() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + project["optional-dependencies"]["dev"]
    return [re.split(r"[<>=!~\[ ;]", spec, maxsplit=1)[0].lower() for spec in specs]


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        name, sep, version = line.strip().partition("==")
        if sep:
            pins[name.lower()] = version
    return pins


def _conda_pins(path: Path) -> dict[str, str]:
    """The conda packages and, under ``pip:``, the pip packages pinned with ``==``."""
    pins = {}
    lines = path.read_text().splitlines()
    for line in lines[lines.index("dependencies:") + 1 :]:
        match = re.fullmatch(r"  - ([A-Za-z0-9_.-]+)(?:=(\S+))?", line) or re.fullmatch(
            r"      - ([A-Za-z0-9_.-]+)==(\S+)", line)
        if match:
            pins[match[1].lower()] = match[2] or ""
    return pins


def test_every_declared_dependency_is_pinned_exactly_in_constraints() -> None:
    pins = _constraints()
    missing = [name for name in _declared() if name not in pins]
    assert not missing, f"pin these in constraints.txt: {missing}"


@pytest.mark.parametrize("env_file", ["environment.yml", "binder/environment.yml"])
def test_conda_environment_carries_the_same_pins_as_constraints(env_file: str) -> None:
    pins = _constraints()
    conda = _conda_pins(ROOT / env_file)
    expected = {CONDA_NAME.get(name, name): pins[name] for name in _declared()}
    mismatched = {
        name: (conda.get(name), version)
        for name, version in expected.items()
        if conda.get(name) != version
    }
    assert not mismatched, f"{env_file} disagrees with constraints.txt (have, want): {mismatched}"
    extra = set(conda) - set(expected) - CONDA_ONLY
    assert not extra, f"{env_file} lists packages pyproject.toml does not declare: {extra}"
    assert conda.get("python") == "3.11"


def test_root_environment_installs_the_package_editable_and_binder_does_it_in_post_build() -> None:
    assert "      - -e ." in (ROOT / "environment.yml").read_text().splitlines()
    assert "pip install --no-deps -e ." in (ROOT / "binder" / "postBuild").read_text()


@pytest.mark.parametrize("env_file", ["environment.yml", "binder/environment.yml"])
def test_packages_missing_from_conda_forge_are_pinned_in_the_pip_section(env_file: str) -> None:
    lines = (ROOT / env_file).read_text().splitlines()
    pip_lines = lines[next(i for i, line in enumerate(lines) if line.startswith("  - pip:")):]
    pins = _constraints()
    for name in PIP_IN_CONDA:
        assert f"      - {name}=={pins[name]}" in pip_lines, f"{env_file}: pip-install {name}"
