"""The runtime images (deploy/docker) agree with the package: what they copy, the torch pin, `{python}`.

No docker engine runs in CI, so the images are checked as text here; building them is a manual step
(docs/EXECUTORS.md)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.cuda"])
def test_image_installs_this_package_with_the_pinned_torch(name: str) -> None:
    text = (ROOT / "deploy" / "docker" / name).read_text()
    copied = set(re.findall(r"^COPY (\w+) \./\1$", text, flags=re.M))
    packages = {p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert copied == packages  # every package evotrain ships, nothing else
    pin = next(d for d in PYPROJECT["project"]["dependencies"] if d.startswith("torch"))
    assert "pip install --no-cache-dir --index-url" in text and f" {pin}" in text  # torch first, same version
    extras = re.search(r"^ARG EXTRAS=(\S+)$", text, flags=re.M)
    assert extras and set(extras.group(1).split(",")) <= set(PYPROJECT["project"]["optional-dependencies"])
    assert "PATH=/opt/venv/bin:$PATH" in text and "USER 1000:1000" in text  # `{python}`; non-root like the pod


def test_kubernetes_python_default_is_the_images_interpreter() -> None:
    pytest.importorskip("kubernetes_validate")
    from workers.executors.k8s_manifest import K8sJobOptions

    assert K8sJobOptions().python == "python"  # /opt/venv/bin/python through the image's PATH
    assert K8sJobOptions().run_as_user == 1000
