"""Exported adapters name the base by model id, never by a local path, for both substrates (issue #12):
what Kaggle's scorer resolves. `evotrain submit` refuses a local path (tests/test_nemotron_campaign.py
runs that through the CLI on a real nemotron adapter)."""

from __future__ import annotations

import importlib.util
import json
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from fakes.fake_campaign import write_peft_adapter

from orchestrator.leaderboard.package import SubmissionConfig, SubmissionInvalid, package_adapter, validate_package

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "substrate" / "default"


def test_default_substrate_adapters_name_the_model_id_not_the_folder(tmp_path: Path) -> None:
    from peft import LoraConfig, get_peft_model

    sys.path.insert(0, str(DEFAULT))
    try:
        from minitask.model import BASE_MODEL_ID, load_base
    finally:
        sys.path.remove(str(DEFAULT))
    model, _ = load_base(DEFAULT / "base", torch.device("cpu"))
    # the same call train.py makes at each save_steps
    get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])).save_pretrained(
        str(tmp_path / "adapter"))
    config = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert BASE_MODEL_ID == "evotrain/minitask-llama"
    assert config["base_model_name_or_path"] == "evotrain/minitask-llama"
    check = validate_package(package_adapter(tmp_path / "adapter", tmp_path / "submission.zip"), SubmissionConfig())
    assert check.base_model == "evotrain/minitask-llama" and check.rank == 4
    assert sorted(zipfile.ZipFile(tmp_path / "submission.zip").namelist()) == [
        "adapter_config.json", "adapter_model.safetensors"]


def test_nemotron_run_pins_the_hub_id_over_what_peft_recorded(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("nemotron_run", REPO / "substrate" / "nemotron" / "run.py")
    assert spec is not None and spec.loader is not None
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    ckpt = write_peft_adapter(tmp_path / "ckpt", base_model="/tmp/somewhere/base")
    run.pin_base_model_id(ckpt, "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16")
    config = json.loads((ckpt / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16"
    assert config["r"] == 8  # nothing else touched


@pytest.mark.parametrize("base", ["/work/models/nemotron", "~/models/nemotron", "./base", "../base", "", "C:\\m"])
def test_package_refuses_a_local_base_path(tmp_path: Path, base: str) -> None:
    folder = write_peft_adapter(tmp_path / "a", base_model=base)
    with pytest.raises(SubmissionInvalid, match=r"'base_model_name_or_path' is .*a local path; it must name the model"):
        validate_package(package_adapter(folder, tmp_path / "s.zip"), SubmissionConfig())
