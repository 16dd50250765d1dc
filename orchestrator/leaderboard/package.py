"""Package an adapter as the challenge expects and validate it before anything is sent.

`submission.zip` holds exactly `adapter_config.json` + `adapter_model.safetensors` at its root.
Validation reads the zip itself (what would be sent), not the source folder: files present, no
folder inside, LoRA rank ≤ limit (from the config's `r`/`rank_pattern` AND from the lora_A tensor
shapes in the safetensors header), target modules and base model as configured, size limit.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zipfile
from pathlib import Path

from pydantic import Field

from evotrain.errors import EvotrainError
from evotrain.io import atomic_write_bytes, read_model
from evotrain.schemas.common import Artifact

CONFIG_NAME = "adapter_config.json"
WEIGHTS_NAME = "adapter_model.safetensors"
REQUIRED = (CONFIG_NAME, WEIGHTS_NAME)


class KaggleSettings(Artifact):
    competition: str = "nvidia-nemotron-model-reasoning-challenge"
    # Only for tests/self-hosted fakes: replaces the host of the kaggle package's LOCALHOST endpoint.
    api_endpoint: str | None = None
    poll_interval_s: float = Field(default=30.0, gt=0)
    poll_timeout_s: float = Field(default=3600.0, gt=0)


class SubmissionConfig(Artifact):
    """What the challenge accepts. Read from `campaigns/<c>/submission.yaml` when present."""

    max_lora_rank: int = Field(default=32, ge=1)
    target_modules: list[str] | None = None  # allowed modules; None = any
    base_model: str | None = None  # required base_model_name_or_path; None = any
    # real LoRA adapters of the Nemotron challenge were 1-3.5 GB; the campaign config can change it
    max_zip_bytes: int = Field(default=4 * 1024**3, ge=1)
    kaggle: KaggleSettings = Field(default_factory=KaggleSettings)


class PackageCheck(Artifact):
    """What validation saw in a zip (shown by --dry-run and recorded with a submission)."""

    zip_path: str
    zip_bytes: int
    zip_sha256: str
    files: list[str]
    rank: int
    target_modules: list[str]
    base_model: str


class SubmissionInvalid(EvotrainError):
    """The package would be refused: nothing is sent."""


def load_submission_config(path: Path | None, campaign_config: Path | None = None) -> SubmissionConfig:
    """`path` (YAML/JSON) or defaults; the Kaggle competition id falls back to the campaign record's
    `config.leaderboard.competition` (campaigns/<c>/campaign.json) when the file does not set one."""
    cfg = read_model(path, SubmissionConfig) if path is not None and path.exists() else SubmissionConfig()
    if "competition" not in cfg.kaggle.model_fields_set and campaign_config is not None and campaign_config.is_file():
        from orchestrator.config import CampaignRecord  # the campaign's own typed record

        cfg.kaggle.competition = read_model(campaign_config, CampaignRecord).config.leaderboard.competition
    return cfg


def package_adapter(adapter_dir: Path, out_zip: Path) -> Path:
    """Zip the two adapter files at the root of `out_zip` (atomic: a failed packing leaves nothing)."""
    import io

    missing = [n for n in REQUIRED if not (adapter_dir / n).is_file()]
    if missing:
        raise SubmissionInvalid(f"{adapter_dir}: adapter folder lacks {', '.join(missing)}")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in REQUIRED:
            zf.write(adapter_dir / name, arcname=name)
    return atomic_write_bytes(out_zip, buf.getvalue())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def validate_package(zip_path: Path, cfg: SubmissionConfig) -> PackageCheck:
    """Raise SubmissionInvalid with one clear line on the first problem; else describe the package."""
    where = str(zip_path)
    if not zip_path.is_file():
        raise SubmissionInvalid(f"{where}: file not found")
    size = zip_path.stat().st_size
    if size > cfg.max_zip_bytes:
        raise SubmissionInvalid(f"{where}: {size} bytes exceeds the size limit of {cfg.max_zip_bytes} bytes")
    try:
        with zipfile.ZipFile(zip_path) as zf:
            names = zf.namelist()
            _check_layout(names, where)
            config = _read_config(zf, where)
            header = _read_safetensors_header(zf, where)
    except zipfile.BadZipFile as exc:
        raise SubmissionInvalid(f"{where}: not a zip file ({exc})") from exc
    rank = _check_rank(config, header, cfg.max_lora_rank, where)
    modules = _check_modules(config, cfg.target_modules, where)
    base = _check_base(config, cfg.base_model, where)
    return PackageCheck(zip_path=where, zip_bytes=size, zip_sha256=sha256_file(zip_path), files=names,
                        rank=rank, target_modules=modules, base_model=base)


def _check_layout(names: list[str], where: str) -> None:
    nested = sorted({n.split("/", 1)[0] + "/" for n in names if "/" in n})
    if nested:
        raise SubmissionInvalid(
            f"{where}: contains folder {nested[0]} — {CONFIG_NAME} and {WEIGHTS_NAME} must sit at the zip root"
        )
    for name in REQUIRED:
        if name not in names:
            raise SubmissionInvalid(f"{where}: missing {name} at the zip root (has: {', '.join(names) or 'nothing'})")
    extra = sorted(set(names) - set(REQUIRED))
    if extra:
        raise SubmissionInvalid(f"{where}: unexpected file {extra[0]} (only {', '.join(REQUIRED)} are allowed)")


def _read_config(zf: zipfile.ZipFile, where: str) -> dict[str, object]:
    try:
        data = json.loads(zf.read(CONFIG_NAME).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise SubmissionInvalid(f"{where}: {CONFIG_NAME} is not valid JSON") from exc
    if not isinstance(data, dict):
        raise SubmissionInvalid(f"{where}: {CONFIG_NAME} is not a JSON object")
    if str(data.get("peft_type", "")).upper() != "LORA":
        found = data.get("peft_type")
        raise SubmissionInvalid(f"{where}: {CONFIG_NAME} field 'peft_type' is {found!r}, expected 'LORA'")
    return data


def _read_safetensors_header(zf: zipfile.ZipFile, where: str) -> dict[str, dict[str, object]]:
    """Tensor name → {dtype, shape, ...} from the header only (the weights are never loaded)."""
    with zf.open(WEIGHTS_NAME) as fh:
        head = fh.read(8)
        if len(head) != 8:
            raise SubmissionInvalid(f"{where}: {WEIGHTS_NAME} is truncated")
        (length,) = struct.unpack("<Q", head)
        if length > 100_000_000:
            raise SubmissionInvalid(f"{where}: {WEIGHTS_NAME} header length {length} is implausible")
        try:
            header = json.loads(fh.read(length).decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise SubmissionInvalid(f"{where}: {WEIGHTS_NAME} has an unreadable header") from exc
    if not isinstance(header, dict):
        raise SubmissionInvalid(f"{where}: {WEIGHTS_NAME} has an unreadable header")
    tensors = {k: v for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)}
    if not tensors:
        raise SubmissionInvalid(f"{where}: {WEIGHTS_NAME} holds no tensors")
    return tensors


def _check_rank(config: dict[str, object], tensors: dict[str, dict[str, object]], limit: int, where: str) -> int:
    r = config.get("r")
    if not isinstance(r, int) or isinstance(r, bool) or r < 1:
        raise SubmissionInvalid(f"{where}: {CONFIG_NAME} field 'r' must be a positive integer, got {r!r}")
    ranks = {"r": r}
    pattern = config.get("rank_pattern") or {}
    if isinstance(pattern, dict):
        ranks.update({f"rank_pattern.{k}": v for k, v in pattern.items() if isinstance(v, int)})
    for name, meta in tensors.items():
        shape = meta.get("shape")
        if ".lora_A." in name and isinstance(shape, list) and shape:
            ranks[f"tensor {name}"] = int(shape[0])
    worst = max(ranks, key=lambda k: ranks[k])
    if ranks[worst] > limit:
        raise SubmissionInvalid(f"{where}: LoRA rank {ranks[worst]} ({worst}) exceeds the limit of {limit}")
    return max(ranks.values())


def _check_modules(config: dict[str, object], allowed: list[str] | None, where: str) -> list[str]:
    raw = config.get("target_modules")
    modules = [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, list) else []
    if not modules:
        raise SubmissionInvalid(f"{where}: {CONFIG_NAME} field 'target_modules' is missing or empty")
    if allowed is not None:
        bad = sorted(str(m) for m in modules if m not in allowed)
        if bad:
            raise SubmissionInvalid(
                f"{where}: target module(s) {', '.join(bad)} not allowed (configured: {', '.join(allowed)})"
            )
    return sorted(str(m) for m in modules)


def _check_base(config: dict[str, object], required: str | None, where: str) -> str:
    base = str(config.get("base_model_name_or_path") or "")
    # Kaggle's vLLM resolves the base by model id: a path from the training machine (what PEFT records
    # when the base was loaded from disk) cannot load there
    if not base or base.startswith(("/", "~", "./", "../", "\\")) or (len(base) > 1 and base[1] == ":"):
        raise SubmissionInvalid(f"{where}: {CONFIG_NAME} field 'base_model_name_or_path' is {base!r}, a local path; "
                                "it must name the model id (e.g. 'nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16')")
    if required is not None and base != required:
        raise SubmissionInvalid(
            f"{where}: {CONFIG_NAME} field 'base_model_name_or_path' is {base!r}, expected {required!r}"
        )
    return base
