"""Submission packaging + validation; a refused package never reaches a backend."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
import typer
from fakes.fake_campaign import FakeLeaderboard, build_fake_campaign, write_peft_adapter
from typer.testing import CliRunner

from evotrain.errors import EvotrainError
from evotrain.io import read_model, write_model
from evotrain.paths import CandidateRef
from evotrain.schemas.manifest import Manifest
from orchestrator.audit.log import AuditLog
from orchestrator.cli.audit import register_audit_commands
from orchestrator.leaderboard import submit as submit_flow
from orchestrator.leaderboard.package import (
    SubmissionConfig,
    SubmissionInvalid,
    package_adapter,
    validate_package,
)
from orchestrator.leaderboard.submit import LocalTarget, SubmissionRecord

CFG = SubmissionConfig(target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], base_model="substrate/default/base")


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _adapter_files(tmp_path: Path, **kw) -> dict[str, bytes]:
    folder = write_peft_adapter(tmp_path / "src", **kw)
    return {n: (folder / n).read_bytes() for n in ("adapter_config.json", "adapter_model.safetensors")}


def test_valid_package_is_described(tmp_path: Path) -> None:
    folder = write_peft_adapter(tmp_path / "a", rank=16)
    check = validate_package(package_adapter(folder, tmp_path / "submission.zip"), CFG)
    assert check.files == ["adapter_config.json", "adapter_model.safetensors"]
    assert check.rank == 16 and check.target_modules == ["q_proj", "v_proj"]
    assert check.base_model == "substrate/default/base"
    with zipfile.ZipFile(tmp_path / "submission.zip") as zf:
        assert zf.read("adapter_model.safetensors") == (folder / "adapter_model.safetensors").read_bytes()


def test_rank_64_is_refused(tmp_path: Path) -> None:
    folder = write_peft_adapter(tmp_path / "a", rank=64)
    with pytest.raises(SubmissionInvalid) as err:
        validate_package(package_adapter(folder, tmp_path / "s.zip"), CFG)
    assert "LoRA rank 64 (r) exceeds the limit of 32" in err.value.message


def test_rank_hidden_in_tensors_is_refused(tmp_path: Path) -> None:
    files = _adapter_files(tmp_path, rank=64)
    config = json.loads(files["adapter_config.json"])
    config["r"] = 8  # the config lies; the lora_A shapes do not
    files["adapter_config.json"] = json.dumps(config).encode()
    with pytest.raises(SubmissionInvalid, match=r"LoRA rank 64 \(tensor .*lora_A.weight\) exceeds the limit of 32"):
        validate_package(_zip(tmp_path / "s.zip", files), CFG)


def test_zip_without_safetensors_is_refused(tmp_path: Path) -> None:
    files = _adapter_files(tmp_path)
    del files["adapter_model.safetensors"]
    with pytest.raises(SubmissionInvalid) as err:
        validate_package(_zip(tmp_path / "s.zip", files), CFG)
    assert "missing adapter_model.safetensors at the zip root" in err.value.message


def test_zip_with_nested_folder_is_refused(tmp_path: Path) -> None:
    files = {f"my_adapter/{k}": v for k, v in _adapter_files(tmp_path).items()}
    with pytest.raises(SubmissionInvalid) as err:
        validate_package(_zip(tmp_path / "s.zip", files), CFG)
    assert "contains folder my_adapter/" in err.value.message and "must sit at the zip root" in err.value.message


@pytest.mark.parametrize(("kw", "cfg", "expect"), [
    ({"target_modules": ["q_proj", "gate_proj"]}, CFG, "target module(s) gate_proj not allowed"),
    ({"base_model": "other/base"}, CFG, "'base_model_name_or_path' is 'other/base', expected 'substrate/default/base'"),
    ({}, SubmissionConfig(max_zip_bytes=100), "exceeds the size limit of 100 bytes"),
])
def test_configured_limits(tmp_path: Path, kw: dict, cfg: SubmissionConfig, expect: str) -> None:
    folder = write_peft_adapter(tmp_path / "a", **kw)
    with pytest.raises(SubmissionInvalid) as err:
        validate_package(package_adapter(folder, tmp_path / "s.zip"), cfg)
    assert expect in err.value.message and "\n" not in err.value.message


def test_extra_file_and_garbage_are_refused(tmp_path: Path) -> None:
    files = _adapter_files(tmp_path)
    with pytest.raises(SubmissionInvalid, match=r"unexpected file README\.md"):
        validate_package(_zip(tmp_path / "a.zip", {**files, "README.md": b"hi"}), CFG)
    (tmp_path / "b.zip").write_bytes(b"not a zip")
    with pytest.raises(SubmissionInvalid, match="not a zip file"):
        validate_package(tmp_path / "b.zip", CFG)


# --- the flow: nothing is sent when validation fails -------------------------------------------


@pytest.fixture
def fake(tmp_path: Path):
    return build_fake_campaign(tmp_path / "ws", rounds=2, workers=3)


def _swap_adapter(fake, ref: CandidateRef, **kw) -> Path:
    manifest = submit_flow.load_manifest(fake.paths, ref)
    folder = Path(manifest.chosen_adapter or "")
    shutil.rmtree(folder)
    return write_peft_adapter(folder, **kw)


@pytest.mark.parametrize("defect", ["rank64", "no_safetensors"])
def test_refused_candidate_sends_and_records_nothing(fake, defect: str) -> None:
    ref = CandidateRef(1, "w01")
    folder = _swap_adapter(fake, ref, rank=64)
    if defect == "no_safetensors":
        write_peft_adapter(folder, rank=8)
        (folder / "adapter_model.safetensors").unlink()
    board = FakeLeaderboard()
    opened: list[str] = []

    def open_target() -> LocalTarget:
        opened.append("local")
        return LocalTarget(board)

    with pytest.raises(SubmissionInvalid):
        submit_flow.submit(fake.paths, ref, open_target, CFG)
    assert board.calls == [] and opened == []
    assert not fake.paths.audit_log.exists()
    assert [p.name for p in (fake.paths.state / "submissions").iterdir()] == []


def test_local_submission_sends_the_validated_bytes_and_records_it(fake) -> None:
    ref = CandidateRef(2, "w01")
    board = FakeLeaderboard()
    record = submit_flow.submit(fake.paths, ref, lambda: LocalTarget(board), CFG, "local leaderboard")
    assert len(board.calls) == 1
    label, round_no, sent_dir = board.calls[0]
    assert (label, round_no) == ("r002/w01", 2)
    source = Path(submit_flow.load_manifest(fake.paths, ref).chosen_adapter or "")
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        assert (sent_dir / name).read_bytes() == (source / name).read_bytes()
    assert record.result is not None and record.result.public == board.history()[0].public
    saved = read_model(Path(record.check.zip_path).with_name("submission.json"), SubmissionRecord)
    assert saved == record
    entries = AuditLog(fake.paths.audit_log).entries()
    assert len(entries) == 1 and entries[0].kind == "submission"
    assert entries[0].payload.zip_sha256 == record.check.zip_sha256
    assert entries[0].payload.public == record.result.public


def test_best_candidate_is_highest_leaderboard_among_usable(fake) -> None:
    # Hand-set scores: r001/w02 has the top leaderboard score but its manifest is tampered (not
    # usable), so the best is the runner-up r002/w01.
    hand = {(1, "w02"): 0.95, (2, "w01"): 0.90, (3, "w01"): 0.50}
    for rep in fake.reports:
        cands = [c.model_copy(update={"leaderboard": hand.get((rep.round, c.worker_id), 0.10)}) for c in rep.candidates]
        write_model(fake.paths.report(rep.round), rep.model_copy(update={"candidates": cands}))
    tampered = read_model(fake.paths.manifest(1, "w02"), Manifest).model_copy(update={"status": "tampered"})
    write_model(fake.paths.manifest(1, "w02"), tampered)
    assert submit_flow.best_candidate(fake.paths) == CandidateRef(2, "w01")


def test_budget_exhausted_is_recorded_as_an_error(fake) -> None:
    class SpentBoard(FakeLeaderboard):
        def submit(self, candidate, round_no, adapter_dir):
            from orchestrator.leaderboard.base import SubmissionBudgetExceeded

            raise SubmissionBudgetExceeded(f"round {round_no}: 0 left")

    with pytest.raises(EvotrainError, match="submission budget of round 1 is spent"):
        submit_flow.submit(fake.paths, CandidateRef(1, "w01"), lambda: LocalTarget(SpentBoard()), CFG)
    entries = AuditLog(fake.paths.audit_log).entries()
    assert [e.payload.status for e in entries] == ["error"]


# --- CLI --------------------------------------------------------------------------------------------


def _app() -> typer.Typer:
    app = typer.Typer()
    register_audit_commands(app)
    return app


def test_cli_dry_run_prints_package_and_sends_nothing(fake, monkeypatch) -> None:
    monkeypatch.chdir(fake.paths.root)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(submit_flow, "open_local_leaderboard", lambda paths: pytest.fail("opened a backend"))
    result = CliRunner().invoke(_app(), ["submit", "--best", "--to", "local", "--dry-run"])
    assert result.exit_code == 0, result.output
    best = submit_flow.best_candidate(fake.paths)
    assert f"DRY RUN — would send {best.label} to local leaderboard" in result.output
    assert "adapter_config.json, adapter_model.safetensors" in result.output
    assert "LoRA rank" in result.output and " 8 " in result.output
    assert not (fake.paths.state / "submissions").exists() and not fake.paths.audit_log.exists()


def test_cli_rank64_exits_2_with_one_line_and_no_call(fake, monkeypatch) -> None:
    monkeypatch.chdir(fake.paths.root)
    _swap_adapter(fake, CandidateRef(1, "w02"), rank=64)
    board = FakeLeaderboard()
    monkeypatch.setattr(submit_flow, "open_local_leaderboard", lambda paths: board)
    result = CliRunner().invoke(_app(), ["submit", "--candidate", "1/w02", "--to", "local"])
    assert isinstance(result.exception, SubmissionInvalid) and result.exception.exit_code == 2
    assert "LoRA rank 64 (r) exceeds the limit of 32" in result.exception.message
    assert board.calls == []


def test_cli_local_submit_uses_config_file(fake, monkeypatch) -> None:
    monkeypatch.chdir(fake.paths.root)
    monkeypatch.setenv("COLUMNS", "200")
    board = FakeLeaderboard()
    monkeypatch.setattr(submit_flow, "open_local_leaderboard", lambda paths: board)
    write_model(fake.paths.state / "submission.yaml", SubmissionConfig(max_lora_rank=4))
    # read_model parses .yaml with yaml.safe_load, and JSON is valid YAML
    refused = CliRunner().invoke(_app(), ["submit", "--candidate", "r001/w01", "--to", "local"])
    assert isinstance(refused.exception, SubmissionInvalid) and "limit of 4" in refused.exception.message
    (fake.paths.state / "submission.yaml").unlink()
    ok = CliRunner().invoke(_app(), ["submit", "--candidate", "r001/w01", "--to", "local"])
    assert ok.exit_code == 0, ok.output
    assert "sent r001/w01 to local leaderboard" in ok.output and len(board.calls) == 1


def test_cli_needs_exactly_one_candidate_choice(fake, monkeypatch) -> None:
    monkeypatch.chdir(fake.paths.root)
    for args in (["submit", "--to", "local"], ["submit", "--best", "--candidate", "1/w01", "--to", "local"]):
        result = CliRunner().invoke(_app(), args)
        assert isinstance(result.exception, EvotrainError) and "exactly one of" in result.exception.message
    bad = CliRunner().invoke(_app(), ["submit", "--candidate", "one/two", "--to", "local"])
    assert isinstance(bad.exception, EvotrainError) and "is not ROUND/WORKER" in bad.exception.message


def test_unopenable_backend_or_broken_log_leaves_nothing(fake) -> None:
    ref = CandidateRef(1, "w01")

    def no_backend() -> LocalTarget:
        raise EvotrainError("--to local: no leaderboard")

    with pytest.raises(EvotrainError, match="no leaderboard"):
        submit_flow.submit(fake.paths, ref, no_backend, CFG)
    assert list((fake.paths.state / "submissions").iterdir()) == []
    fake.paths.audit_log.write_text("garbage\n", encoding="utf-8")
    board = FakeLeaderboard()
    with pytest.raises(EvotrainError, match=r"audit log is broken: .*audit\.jsonl:1: not valid JSON"):
        submit_flow.submit(fake.paths, ref, lambda: LocalTarget(board), CFG)
    assert board.calls == [] and list((fake.paths.state / "submissions").iterdir()) == []


def test_backend_crash_is_still_recorded(fake) -> None:
    class CrashingBoard(FakeLeaderboard):
        def submit(self, candidate, round_no, adapter_dir):
            raise RuntimeError("evaluate subprocess died")

    with pytest.raises(RuntimeError):
        submit_flow.submit(fake.paths, CandidateRef(1, "w01"), lambda: LocalTarget(CrashingBoard()), CFG)
    [entry] = AuditLog(fake.paths.audit_log).entries()
    assert entry.payload.status == "error" and entry.payload.message == "RuntimeError: evaluate subprocess died"


def _campaign_record(tmp_path: Path, competition: str = "campaign-comp", per_round: int = 2):
    from evotrain.schemas.constitution import ConstitutionRecord
    from orchestrator.config import CampaignConfig, CampaignRecord

    config = CampaignConfig(name="x")
    config.leaderboard.competition = competition
    config.leaderboard.submissions_per_round = per_round
    return CampaignRecord(config=config, workspace_root=str(tmp_path), substrate_dir=str(tmp_path / "substrate"),
                          constitution=ConstitutionRecord(directory="constitution", constitution_md_sha256="0",
                                                          rules_yaml_sha256="0"), created_at=0.0)


def test_competition_falls_back_to_campaign_record(tmp_path: Path) -> None:
    from orchestrator.leaderboard.package import load_submission_config

    write_model(tmp_path / "campaign.json", _campaign_record(tmp_path))
    assert load_submission_config(None, tmp_path / "campaign.json").kaggle.competition == "campaign-comp"
    (tmp_path / "s.yaml").write_text("kaggle:\n  competition: explicit-comp\n", encoding="utf-8")
    assert load_submission_config(tmp_path / "s.yaml", tmp_path / "campaign.json").kaggle.competition == "explicit-comp"
    (tmp_path / "s.yaml").write_text("max_lora_rnk: 16\n", encoding="utf-8")
    with pytest.raises(EvotrainError, match="field 'max_lora_rnk'"):
        load_submission_config(tmp_path / "s.yaml")


def test_local_leaderboard_is_the_campaigns_own(fake) -> None:
    from orchestrator.leaderboard.local import LocalLeaderboard

    with pytest.raises(EvotrainError, match=r"campaign\.json not found"):
        submit_flow.open_local_leaderboard(fake.paths)
    write_model(fake.paths.config, _campaign_record(fake.paths.root, per_round=2))
    board = submit_flow.open_local_leaderboard(fake.paths)
    assert isinstance(board, LocalLeaderboard)
    assert board.folder == fake.paths.leaderboard.resolve() and board.budget_per_round == 2
    assert board.substrate_dir == (fake.paths.root / "substrate").resolve()
