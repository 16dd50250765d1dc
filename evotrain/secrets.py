"""Secrets never leave the orchestrator: an allow-listed environment for every job, and redaction by
value of anything bound for a file, a log, a tool result or a prompt.

A secret is any environment value whose NAME looks like a credential (…KEY, …TOKEN, …SECRET, …
PASSWORD, …CREDENTIALS) plus key-shaped strings (`sk-…`). Jobs get none of them: their environment
is built from an allow-list, never copied from `os.environ`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

REDACTED = "[REDACTED]"
# A name segment (between underscores) that says credential: OPENAI_API_KEY, HF_TOKEN, AWS_SECRET_ACCESS_KEY.
_SECRET_NAME = re.compile(r"(^|_)(KEYS?|TOKENS?|SECRETS?|PASSWORD|PASSWD|CREDENTIALS?|AUTH|APIKEY)(_|$)", re.IGNORECASE)
_KEY_SHAPED = re.compile(r"\b(sk-ant-[A-Za-z0-9_\-]{8,}|sk-[A-Za-z0-9_\-]{8,}|hf_[A-Za-z0-9]{16,})")
MIN_SECRET_LEN = 6  # shorter values would redact ordinary words

# What a job may see of the orchestrator's environment (names only; values copied if set).
PASSTHROUGH_ENV = ("LANG", "LC_ALL", "TZ", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
EVOTRAIN_ROOT = Path(__file__).resolve().parents[1]


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    """The values of every credential-like variable in `env` (default: this process), longest first."""
    env = os.environ if env is None else env
    values = {v for k, v in env.items() if is_secret_name(k) and len(v.strip()) >= MIN_SECRET_LEN}
    return sorted(values, key=len, reverse=True)


def redact_secrets(text: str, extra: Iterable[str] = ()) -> str:
    """`text` with every known secret value and key-shaped string replaced by [REDACTED]."""
    for value in [*secret_values(), *extra]:
        if value and len(value) >= MIN_SECRET_LEN:
            text = text.replace(value, REDACTED)
    return _KEY_SHAPED.sub(REDACTED, text)


def job_environment(extra: Mapping[str, str], *, home: str, python_bin: str | None = None) -> dict[str, str]:
    """The whole environment of a job: an allow-list plus `extra`, never a credential.

    `extra` (thread counts, CUDA_VISIBLE_DEVICES, HF offline flags) is checked too: a credential-like
    name in it is refused, so a config cannot smuggle a key into a job.
    """
    bad = [k for k in extra if is_secret_name(k)]
    if bad:
        from evotrain.errors import EvotrainError

        raise EvotrainError(f"job env: '{bad[0]}' looks like a credential; jobs never receive secrets")
    path = SAFE_PATH if python_bin is None else f"{python_bin}:{SAFE_PATH}"
    # the folder holding this `evotrain` package: the one isolation binds read-only, found first
    env = {"PATH": path, "HOME": home, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
           "PYTHONPATH": str(EVOTRAIN_ROOT)}
    env.update({k: os.environ[k] for k in PASSTHROUGH_ENV if k in os.environ})
    env.update(extra)
    return env
