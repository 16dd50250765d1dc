"""Kaggle submission backend through the official `kaggle` package (v2.x): submit, then poll.

Credentials are whatever the installed package reads (`KaggleApi.authenticate`): KAGGLE_API_TOKEN
or ~/.kaggle/access_token, KAGGLE_USERNAME + KAGGLE_KEY, ~/.kaggle/kaggle.json (or
$KAGGLE_CONFIG_DIR/kaggle.json), or OAuth credentials from `kaggle auth login`.

Endpoint override (tests): the package's only non-production endpoints are fixed hosts
(`KAGGLE_API_ENVIRONMENT=LOCALHOST` → http://localhost, port 80). With `api_endpoint` set we use that
same LOCAL mode (URLs `<endpoint>/api/v1/<service>/<method>`) and swap its host for the given one,
so a loopback fake on any port can stand in for Kaggle; production leaves it unset.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from evotrain.errors import EvotrainError
from evotrain.schemas.common import Artifact
from orchestrator.leaderboard.package import KaggleSettings

if TYPE_CHECKING:
    from kaggle.api.kaggle_api_extended import KaggleApi

AUTH_HELP = (
    "kaggle: no credentials found — set KAGGLE_USERNAME and KAGGLE_KEY, write ~/.kaggle/kaggle.json, "
    "or set KAGGLE_API_TOKEN"
)


class KaggleBackendError(EvotrainError):
    """Kaggle refused or failed the submission (not a user-input error)."""

    exit_code = 1


class KaggleSubmission(Artifact):
    ref: str
    status: Literal["complete", "pending", "error"]
    public: float | None = None
    private: float | None = None
    message: str = ""


def _make_api(endpoint: str | None) -> KaggleApi:
    # imported lazily and quietly: importing `kaggle` already tries to authenticate and prints help
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            from kaggle.api.kaggle_api_extended import KaggleApi
    except ImportError as exc:
        raise EvotrainError(f"--to kaggle: the kaggle package cannot be imported ({exc}); "
                            "install it with: pip install 'evotrain[kaggle]'") from exc

    if endpoint is None:
        return KaggleApi()

    class _EndpointKaggleApi(KaggleApi):
        def build_kaggle_client(self) -> Any:
            client = KaggleApi.build_kaggle_client_with_params(
                args=["--local"],
                username=self.config_values.get(self.CONFIG_NAME_USER),
                password=self.config_values.get(self.CONFIG_NAME_KEY),
                api_token=self.config_values.get(self.CONFIG_NAME_TOKEN),
                response_processor=self.get_response_processor(),
            )
            client._http_client._endpoint = endpoint.rstrip("/")
            return client

    return _EndpointKaggleApi()


class KaggleBackend:
    name = "kaggle"

    def __init__(self, settings: KaggleSettings, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._sleep = sleep
        self._clock = clock
        self._api: KaggleApi | None = None

    def authenticate(self) -> KaggleApi:
        """Find credentials the way the kaggle package does; one-line error (exit 2) when there are none."""
        if self._api is None:
            api = _make_api(self.settings.api_endpoint)
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    api.authenticate()  # prints help and calls exit(1) when nothing is found
            except SystemExit as exc:
                raise EvotrainError(AUTH_HELP) from exc
            self._api = api
        return self._api

    def submit(self, zip_path: Path, message: str) -> KaggleSubmission:
        """Upload `zip_path`, create the submission, poll until scored, errored or timed out."""
        ref, reply = self.upload(zip_path, message)
        return self.poll(self.authenticate(), ref, reply)

    def upload(self, zip_path: Path, message: str) -> tuple[str, str]:
        """Upload and create the submission: (its ref, Kaggle's message). No polling."""
        import requests

        api = self.authenticate()
        competition = self.settings.competition
        try:
            response = api.competition_submit(str(zip_path), message, competition, quiet=True)
        except (requests.RequestException, ValueError) as exc:
            raise KaggleBackendError(f"kaggle: submit to '{competition}' failed: {_one_line(exc)}") from exc
        if response.message == api.COMPETITION_SUBMIT_UPLOAD_FAILED_MESSAGE:
            raise KaggleBackendError(f"kaggle: upload of {zip_path.name} to '{competition}' failed")
        if not response.ref:
            raise KaggleBackendError(f"kaggle: '{competition}' returned no submission ref ({response.message})")
        return str(response.ref), response.message or ""

    def find(self, tag: str) -> str | None:
        """The ref of the competition submission whose description carries `tag` (a crash-safe intent)."""
        import requests

        api = self.authenticate()
        try:
            subs = api.competition_submissions(self.settings.competition) or []
        except requests.RequestException as exc:
            raise KaggleBackendError(f"kaggle: listing submissions failed: {_one_line(exc)}") from exc
        found = [str(s.ref) for s in subs if s is not None and tag in (getattr(s, "description", "") or "")]
        return found[0] if found else None

    def poll_once(self, api: KaggleApi, ref: str, message: str = "") -> KaggleSubmission:
        """The submission's state now (pending while Kaggle does not list it yet)."""
        import requests

        try:
            found = [s for s in api.competition_submissions(self.settings.competition) or []
                     if s is not None and str(s.ref) == ref]
        except requests.RequestException as exc:
            raise KaggleBackendError(f"kaggle: polling submission {ref} failed: {_one_line(exc)}") from exc
        return _to_result(found[0], ref, message) if found else KaggleSubmission(ref=ref, status="pending")

    def poll(self, api: KaggleApi, ref: str, message: str = "") -> KaggleSubmission:
        deadline = self._clock() + self.settings.poll_timeout_s
        while True:
            result = self.poll_once(api, ref, message)
            if result.status != "pending":
                return result
            if self._clock() >= deadline:
                return KaggleSubmission(ref=ref, status="pending",
                                        message=f"still pending after {self.settings.poll_timeout_s:g}s")
            self._sleep(self.settings.poll_interval_s)


def _to_result(sub: Any, ref: str, message: str) -> KaggleSubmission:
    status = getattr(sub.status, "name", str(sub.status)).lower()
    if status == "complete":
        return KaggleSubmission(ref=ref, status="complete", public=_score(sub.public_score),
                                private=_score(sub.private_score), message=message)
    if status == "error":
        return KaggleSubmission(ref=ref, status="error", message=sub.error_description or "scoring error")
    return KaggleSubmission(ref=ref, status="pending", message=message)


def _score(text: str | None) -> float | None:
    if text in (None, ""):
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
