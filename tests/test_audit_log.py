"""Hash-chained audit log: every edit, removal, reorder or insertion is detected and located."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.fake_campaign import build_fake_campaign

from evotrain.errors import EvotrainError
from evotrain.paths import CampaignPaths
from orchestrator.audit.log import GENESIS_HASH, AuditLog, PolicyChangePayload, SubmissionPayload
from orchestrator.audit.policies import record_new_policies


def _policy_payload(round_no: int) -> PolicyChangePayload:
    return PolicyChangePayload(round=round_no, policy_path=f"policies/x/round-{round_no:03d}.json",
                               policy_sha256="ab" * 32, search_mode="Recipe stabilisation",
                               objective="raise_dev", dead_ends=round_no, rationale="learned ü")


def _submission_payload() -> SubmissionPayload:
    return SubmissionPayload(candidate="r001/w01", round=1, backend="local", zip_path="s.zip",
                             zip_sha256="cd" * 32, zip_bytes=123, status="complete", submission_id="s1", public=0.61)


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    log = AuditLog(tmp_path / "audit.jsonl")
    for r in (1, 2):
        log.append(_policy_payload(r))
    log.append(_submission_payload())
    log.append(_policy_payload(3))
    return log


def test_append_builds_a_chain_that_verifies(log: AuditLog) -> None:
    entries = log.entries()
    assert [e.seq for e in entries] == [0, 1, 2, 3]
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    assert [e.kind for e in entries] == ["policy_change", "policy_change", "submission", "policy_change"]
    result = log.verify()
    assert result.ok and result.entries == 4 and result.error == ""


def test_every_single_byte_change_is_detected(log: AuditLog) -> None:
    original = log.path.read_bytes()
    # every byte of the submission line (all field kinds: keys, numbers, strings, hashes) + every newline
    start = original.index(b"\n", original.index(b"\n") + 1) + 1
    end = original.index(b"\n", start) + 1
    offsets = sorted(set(range(start, end)) | {i for i, b in enumerate(original) if b == ord("\n")})
    for offset in offsets:
        tampered = bytearray(original)
        tampered[offset] ^= 0x01
        log.path.write_bytes(bytes(tampered))
        result = log.verify()
        assert not result.ok, f"flipping byte {offset} went unnoticed"
        line_no = original[:offset].count(b"\n") + 1
        assert f"audit.jsonl:{line_no}" in result.error or f"audit.jsonl:{line_no + 1}" in result.error
    log.path.write_bytes(original)
    assert log.verify().ok


def test_value_edit_names_the_line(log: AuditLog) -> None:
    lines = log.path.read_text(encoding="utf-8").splitlines()
    data = json.loads(lines[2])
    data["payload"]["public"] = 0.99  # a better score than the backend returned
    lines[2] = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    log.path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = log.verify()
    assert not result.ok
    assert result.error.endswith("audit.jsonl:3: hash mismatch (entry edited)")


@pytest.mark.parametrize("edit", ["remove_middle", "remove_last", "swap", "insert_copy", "append_foreign"])
def test_structural_tampering_is_detected(log: AuditLog, edit: str) -> None:
    lines = log.path.read_text(encoding="utf-8").splitlines()
    if edit == "remove_middle":
        del lines[1]
        expect = "audit.jsonl:2: seq is 2, expected 1"
    elif edit == "remove_last":
        lines.pop()
        expect = "removed from the end (head records 4, log has 3)"
    elif edit == "swap":
        lines[1], lines[2] = lines[2], lines[1]
        expect = "audit.jsonl:2: seq is 2, expected 1"
    elif edit == "insert_copy":
        lines.insert(2, lines[1])
        expect = "audit.jsonl:3: seq is 1, expected 2"
    else:
        lines.append(lines[-1])
        expect = "audit.jsonl:5: seq is 3, expected 4"
    log.path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = log.verify()
    assert not result.ok
    assert expect in result.error


def test_append_refuses_to_extend_a_broken_log(log: AuditLog) -> None:
    lines = log.path.read_text(encoding="utf-8").splitlines()
    log.path.write_text("\n".join(lines[:1] + lines[2:]) + "\n", encoding="utf-8")
    with pytest.raises(EvotrainError, match="refuses to append"):
        log.append(_policy_payload(9))
    assert len(log.path.read_text(encoding="utf-8").splitlines()) == 3


def test_empty_log_verifies(tmp_path: Path) -> None:
    result = AuditLog(tmp_path / "audit.jsonl").verify()
    assert result.ok and result.entries == 0


def test_record_new_policies_logs_each_version_once(tmp_path: Path) -> None:
    fake = build_fake_campaign(tmp_path, rounds=2)
    first = record_new_policies(fake.paths)
    assert [e.payload.round for e in first] == [1, 2, 3]
    assert record_new_policies(fake.paths) == []
    entries = AuditLog(fake.paths.audit_log).entries()
    assert [e.payload.dead_ends for e in entries] == [len(p.dead_ends) for p in fake.policies]


def test_policy_file_edited_after_logging_is_a_problem(tmp_path: Path) -> None:
    from orchestrator.audit.policies import check_policy_files

    fake = build_fake_campaign(tmp_path, rounds=2)
    problems, notes = check_policy_files(fake.paths)
    assert problems == [] and len(notes) == 3  # nothing logged yet
    record_new_policies(fake.paths)
    assert check_policy_files(fake.paths) == ([], [])
    policy = fake.paths.policy(2)
    policy.write_text(policy.read_text(encoding="utf-8").replace("lesson number 1", "lesson number 9"),
                      encoding="utf-8")
    problems, notes = check_policy_files(fake.paths)
    assert problems == [f"{policy}: changed since it was logged at audit.jsonl:2"]
    assert notes == [f"{policy}: not in the audit log yet"]


def _evotrain(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_cli_audit_verify_passes_then_fails_after_one_byte(tmp_path: Path) -> None:
    fake = build_fake_campaign(tmp_path, rounds=2)
    assert _evotrain(tmp_path, "audit", "record-policies").returncode == 0
    ok = _evotrain(tmp_path, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "audit log OK: 3 entries" in ok.stdout
    path = CampaignPaths(tmp_path, fake.paths.campaign).audit_log
    data = bytearray(path.read_bytes())
    at = data.index(b'"dead_ends":1') + len(b'"dead_ends":')
    data[at] = ord("0")  # one byte: the policy claims 0 dead ends instead of 1
    path.write_bytes(bytes(data))
    line_no = data[:at].count(b"\n") + 1
    bad = _evotrain(tmp_path, "audit", "verify")
    assert bad.returncode == 1
    assert "audit log BROKEN" in bad.stdout and f"audit.jsonl:{line_no}: hash mismatch" in bad.stdout
