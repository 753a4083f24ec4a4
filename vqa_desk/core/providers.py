"""Provider profiles: where fine-tuning and inference requests go, and with which key.

Profiles (OpenAI, Azure OpenAI, any OpenAI-compatible endpoint, our offline sandbox) live in a small JSON
file in the user config folder; model names are configuration, not constants, because vendors retire them
(OpenAI takes no new fine-tuning jobs after 2027-01-06; GPT-4o shuts down on 2027-01-14).

Keys come from the OS keyring, or from a named environment variable, and are handed to the client and to
nothing else: not to the profile file, the workspace, exports, logs or error messages.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from vqa_desk.core.errors import Cancelled, VQADeskError
from vqa_desk.core.fsutil import write_atomic
from vqa_desk.core.paths import config_dir
from vqa_desk.core.progress import check_cancel

_T = TypeVar("_T")
KEYRING_SERVICE = "vqa-desk"
PROFILES_VERSION = 1


class ProviderKind(StrEnum):
    OPENAI = "openai"
    AZURE = "azure"
    COMPATIBLE = "compatible"
    SANDBOX = "sandbox"
    LOCAL = "local"  # LoRA on an open vision-language model, trained and served on this machine (vqa_desk.local)


class ProviderError(VQADeskError):
    """A provider refused or failed a request; the message says what it said and what to do."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.status in (408, 409, 429) or (self.status is not None and self.status >= 500) or self.status == 0


@dataclass
class ProviderProfile:
    name: str
    kind: ProviderKind
    base_url: str | None = None
    api_version: str | None = None  # Azure only
    key_env: str = "OPENAI_API_KEY"
    finetune_model: str = "gpt-4o-2024-08-06"
    chat_model: str = "gpt-4o"
    judge_model: str = "gpt-4o-mini"
    images_per_example: int = 10
    prices: dict[str, float] = field(default_factory=dict)  # per 1M tokens: training, input, output

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProviderProfile:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["kind"] = ProviderKind(known.get("kind", "compatible"))
        return cls(**known)


def default_profiles() -> list[ProviderProfile]:
    return [
        ProviderProfile("openai", ProviderKind.OPENAI, prices={"training": 25.0, "input": 3.75, "output": 15.0}),
        ProviderProfile("azure", ProviderKind.AZURE, base_url="https://YOUR-RESOURCE.openai.azure.com",
                        api_version="2025-04-01-preview", key_env="AZURE_OPENAI_API_KEY", images_per_example=64),
        ProviderProfile("sandbox", ProviderKind.SANDBOX, key_env="VQA_DESK_SANDBOX_KEY", finetune_model="sandbox-ocr",
                        chat_model="sandbox-ocr", judge_model="sandbox-ocr", images_per_example=10),
        # The base model is a folder or a hub id whose weights are on this machine; the judge is the sandbox's
        # offline one (a small VLM is no judge).
        ProviderProfile("local", ProviderKind.LOCAL, key_env="VQA_DESK_SANDBOX_KEY",
                        finetune_model="HuggingFaceTB/SmolVLM-256M-Instruct",
                        chat_model="HuggingFaceTB/SmolVLM-256M-Instruct", judge_model="sandbox-ocr",
                        images_per_example=10),
    ]


def profiles_path() -> Path:
    return config_dir() / "providers.json"


def load_profiles() -> list[ProviderProfile]:
    """The user's profiles, or the defaults. An unreadable file is reported, not silently replaced."""
    path = profiles_path()
    if not path.exists():
        return default_profiles()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("version", 0) > PROFILES_VERSION:
            raise ProviderError(f"{path} was written by a newer VQA Desk; update VQA Desk to use it.")
        profiles = [ProviderProfile.from_json(p) for p in raw["profiles"]]
    except ProviderError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ProviderError(f"{path} cannot be read ({exc}). Fix or delete it to get the default profiles.") from exc
    # Our own offline providers are always there, also for a file saved before one of them existed.
    names = {p.name for p in profiles}
    builtin = [p for p in default_profiles() if p.kind in (ProviderKind.SANDBOX, ProviderKind.LOCAL)]
    return profiles + [p for p in builtin if p.name not in names]


def save_profiles(profiles: list[ProviderProfile]) -> None:
    write_atomic(profiles_path(),
                 json.dumps({"version": PROFILES_VERSION, "profiles": [p.to_json() for p in profiles]}, indent=2))


def get_profile(name: str) -> ProviderProfile:
    for profile in load_profiles():
        if profile.name == name:
            return profile
    names = ", ".join(p.name for p in load_profiles())
    raise ProviderError(f"No provider profile named {name!r}. Known profiles: {names}.")


# ----- keys ---------------------------------------------------------------------------------------------

def get_key(profile: ProviderProfile) -> str | None:
    """The profile's key: the OS keyring first, then its environment variable."""
    try:
        import keyring
        from keyring.errors import KeyringError

        try:
            stored = keyring.get_password(KEYRING_SERVICE, profile.name)
        except KeyringError:
            stored = None
    except ImportError:
        stored = None
    return stored or os.environ.get(profile.key_env) or None


def set_key(profile: ProviderProfile, key: str) -> None:
    """Store a key in the OS keyring. Refuses (rather than falling back to a file) when there is no keyring."""
    import keyring
    from keyring.errors import KeyringError, NoKeyringError

    try:
        keyring.set_password(KEYRING_SERVICE, profile.name, key)
    except (NoKeyringError, KeyringError) as exc:
        raise ProviderError(
            f"No usable OS keyring here ({type(exc).__name__}), so the key was not stored. Set the environment "
            f"variable {profile.key_env} instead."
        ) from None


# ----- clients and errors --------------------------------------------------------------------------------

def make_client(profile: ProviderProfile, *, key: str | None = None, timeout: float = 60.0,
                max_retries: int = 0) -> Any:
    """An ``openai`` client for the profile. Raises ProviderError when there is no key to use.

    The client's own retries are off by default: ``call_with_retries`` is the one retry policy.
    """
    import openai

    key = key or get_key(profile)
    if not key:
        raise ProviderError(
            f"No API key for provider {profile.name!r}: store one in the app (it goes to the OS keyring) or set "
            f"the environment variable {profile.key_env}."
        )
    if profile.kind == ProviderKind.AZURE:
        if not profile.base_url or "YOUR-RESOURCE" in profile.base_url:
            raise ProviderError("The azure profile needs your resource's endpoint as its base URL.")
        return openai.AzureOpenAI(api_key=key, azure_endpoint=profile.base_url,
                                  api_version=profile.api_version or "2025-04-01-preview", timeout=timeout,
                                  max_retries=max_retries)
    if profile.kind in (ProviderKind.COMPATIBLE, ProviderKind.SANDBOX, ProviderKind.LOCAL) and not profile.base_url:
        raise ProviderError(f"Provider {profile.name!r} needs a base URL (for the sandbox or local models: start it "
                            "with 'vqa-desk sandbox [--local]' or choose it in the app, which starts it).")
    if profile.kind == ProviderKind.LOCAL:
        # One answer at a time on this machine's device, and the first request loads the model: requests wait.
        timeout = max(timeout, 600.0)
    return openai.OpenAI(api_key=key, base_url=profile.base_url, timeout=timeout, max_retries=max_retries)


def explain(exc: BaseException, profile: ProviderProfile | None = None, key: str | None = None) -> ProviderError:
    """Turn an ``openai`` exception into a ProviderError: what the provider said, and what to do next."""
    import openai

    who = f"{profile.name} ({profile.kind.value})" if profile else "the provider"
    if isinstance(exc, openai.APITimeoutError):
        return ProviderError(f"{who} did not answer in time. Check the network and try again.", status=0)
    if isinstance(exc, openai.APIConnectionError):
        return ProviderError(f"Cannot reach {who}: {exc}. Check the base URL and the network.", status=0)
    if not isinstance(exc, openai.APIStatusError):
        return ProviderError(f"{who}: {exc}")
    status = exc.status_code
    body = exc.body if isinstance(exc.body, dict) else {}
    err = body.get("error", body) if isinstance(body, dict) else {}
    message = (err.get("message") if isinstance(err, dict) else None) or str(exc)
    code = err.get("code") if isinstance(err, dict) else None
    retry_after = _retry_after(exc)
    hint = {
        401: "The API key was refused: check it (and that it belongs to this provider).",
        403: "This account may not do this.",
        404: "Check the model name or id: model names are configuration, and vendors retire them.",
        429: "Rate limited: VQA Desk waits and retries; lower the concurrency if it keeps happening.",
    }.get(status, "The provider had a problem; VQA Desk retries where that is safe." if status >= 500 else "")
    if status == 403 and (code in ("training_not_available", "fine_tuning_not_available")
                          or "fine-tun" in message.lower()):
        hint = ("OpenAI is closing self-serve fine-tuning (no new jobs after 2027-01-06, and earlier for "
                "organisations without recent fine-tuning activity). Use an Azure OpenAI profile, which offers "
                "the same vision fine-tuning, or export with --format sharegpt / hf for an open-source trainer.")
    text = f"{who} answered {status}" + (f" ({code})" if code else "") + f": {message}. {hint}".rstrip()
    return ProviderError(mask_secrets(text, profile, key), status=status, code=code, retry_after=retry_after)


_KEYLIKE = re.compile(r"\b(?:sk|rk|pk)-[A-Za-z0-9_\-]{8,}")


def mask_secrets(text: str, profile: ProviderProfile | None = None, key: str | None = None) -> str:
    """Remove API keys from a message before it reaches a screen, a log or the workspace.

    Providers sometimes echo a key (or its prefix) back in their errors; anything shaped like a key goes too.
    """
    for secret in {key, get_key(profile) if profile is not None else None} - {None, ""}:
        text = text.replace(secret, "[key]")  # type: ignore[arg-type]
    return _KEYLIKE.sub("[key]", text)


def _retry_after(exc: Any) -> float | None:
    try:
        value = exc.response.headers.get("retry-after")
    except AttributeError:
        return None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def test_connection(profile: ProviderProfile, *, key: str | None = None) -> list[str]:
    """The model ids the provider lists (the app's "Test connection")."""
    client = make_client(profile, key=key, timeout=20.0, max_retries=0)
    try:
        return sorted(m.id for m in client.models.list())
    except Exception as exc:
        raise explain(exc, profile, key) from None
    finally:
        client.close()


def call_with_retries(fn: Callable[[], _T], profile: ProviderProfile, cancel: threading.Event | None, *,
                      attempts: int = 6, before_retry: Callable[[], Any] | None = None) -> _T:
    """Call the provider; retry what is worth retrying (429, 5xx, timeouts) with backoff and Retry-After.

    The one retry policy of the app: uploads, jobs, inference and judges all go through it. Anything not worth
    retrying is raised at once as a ProviderError that says what the provider said and what to do.
    """
    delay = 1.0
    for attempt in range(attempts):
        check_cancel(cancel)
        try:
            return fn()
        except Cancelled:
            raise
        except Exception as exc:
            error = explain(exc, profile)
            if not error.retryable or attempt == attempts - 1:
                raise error from None
            wait = min(error.retry_after if error.retry_after is not None else delay, 60.0)
            delay = min(delay * 2, 30.0)
            if cancel is not None:
                if cancel.wait(wait):
                    raise Cancelled("Stopped while waiting to retry.") from None
            else:
                time.sleep(wait)
            if before_retry is not None:
                before_retry()
    raise AssertionError("unreachable")
