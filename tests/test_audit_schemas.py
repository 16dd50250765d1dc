"""Artifacts of the audit/submission part publish strict JSON Schemas (unknown keys are errors)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from orchestrator.audit.dashboard_data import DashboardData
from orchestrator.audit.log import AuditEntry, AuditHead, PolicyChangePayload, SubmissionPayload
from orchestrator.audit.trajectory import Trajectory
from orchestrator.leaderboard.kaggle import KaggleSubmission
from orchestrator.leaderboard.package import PackageCheck, SubmissionConfig
from orchestrator.leaderboard.submit import SubmissionRecord

MODELS = [AuditEntry, AuditHead, PolicyChangePayload, SubmissionPayload, DashboardData, KaggleSubmission,
          PackageCheck, SubmissionConfig, SubmissionRecord, Trajectory]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_schema_is_strict(model) -> None:
    schema = model.json_schema()
    assert schema["additionalProperties"] is False
    assert schema["type"] == "object"


def test_audit_entry_payload_is_discriminated_by_kind() -> None:
    schema = AuditEntry.json_schema()
    assert schema["properties"]["payload"]["discriminator"]["propertyName"] == "kind"
    with pytest.raises(ValidationError):
        AuditEntry.model_validate({"seq": 0, "ts": 1.0, "kind": "submission", "prev_hash": "0", "hash": "1",
                                   "payload": {"kind": "policy_change", "round": 1, "surprise": True}})
    payload = SubmissionPayload(candidate="r001/w00", round=1, backend="local", zip_path="z", zip_sha256="0",
                                zip_bytes=1, status="complete").model_dump()
    with pytest.raises(ValidationError, match="does not match payload kind"):
        AuditEntry.model_validate({"seq": 0, "ts": 1.0, "kind": "policy_change", "prev_hash": "0", "hash": "1",
                                   "payload": payload})


def test_submission_config_rejects_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="max_lora_rnk"):
        SubmissionConfig.model_validate({"max_lora_rnk": 16})
