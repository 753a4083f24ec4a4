import json
from pathlib import Path

import httpx2 as httpx
import openai
import pytest

from vqa_desk.core.providers import (
    ProviderError,
    ProviderKind,
    ProviderProfile,
    default_profiles,
    explain,
    get_key,
    get_profile,
    load_profiles,
    make_client,
    profiles_path,
    save_profiles,
    set_key,
)


def _status_error(status: int, body: dict, headers: dict | None = None) -> openai.APIStatusError:
    request = httpx.Request("POST", "http://127.0.0.1/v1/fine_tuning/jobs")
    response = httpx.Response(status, json=body, headers=headers or {}, request=request)
    fallback = openai.InternalServerError if status >= 500 else openai.APIStatusError
    cls = {401: openai.AuthenticationError, 403: openai.PermissionDeniedError, 404: openai.NotFoundError,
           429: openai.RateLimitError}.get(status, fallback)
    return cls(body["error"]["message"], response=response, body=body)


def test_profiles_default_save_and_load(tmp_path: Path) -> None:
    names = [p.name for p in load_profiles()]
    assert names == ["openai", "azure", "sandbox", "local"]
    profiles = [*default_profiles(), ProviderProfile("local-vllm", ProviderKind.COMPATIBLE,
                                                     base_url="http://127.0.0.1:8000/v1", chat_model="qwen2-vl")]
    save_profiles(profiles)
    assert get_profile("local-vllm").chat_model == "qwen2-vl"
    assert get_profile("azure").images_per_example == 64
    with pytest.raises(ProviderError, match="Known profiles: openai, azure, sandbox, local, local-vllm"):
        get_profile("nope")
    # A file saved before the local provider existed still offers it (and the sandbox).
    save_profiles([default_profiles()[0]])
    assert [p.name for p in load_profiles()] == ["openai", "sandbox", "local"]
    profiles_path().write_text("{broken")
    with pytest.raises(ProviderError, match="Fix or delete it"):
        load_profiles()


def test_keys_come_from_keyring_then_environment_and_never_reach_the_profile_file(
        monkeypatch: pytest.MonkeyPatch, memory_keyring) -> None:
    profile = get_profile("openai")
    assert get_key(profile) is None
    with pytest.raises(ProviderError, match="OPENAI_API_KEY"):
        make_client(profile)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-123")
    assert get_key(profile) == "sk-from-env-123"
    set_key(profile, "sk-from-keyring-456")
    assert get_key(profile) == "sk-from-keyring-456"
    save_profiles(load_profiles())
    text = profiles_path().read_text()
    assert "sk-from" not in text and json.loads(text)["profiles"][0]["key_env"] == "OPENAI_API_KEY"


def test_no_keyring_refuses_instead_of_writing_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyring.backends.fail import Keyring as FailKeyring

    keyring.set_keyring(FailKeyring())
    with pytest.raises(ProviderError, match="environment variable OPENAI_API_KEY instead"):
        set_key(get_profile("openai"), "sk-x")


def test_clients_per_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert isinstance(make_client(get_profile("openai")), openai.OpenAI)
    with pytest.raises(ProviderError, match="resource's endpoint"):
        make_client(get_profile("azure"), key="k")
    azure = ProviderProfile("az", ProviderKind.AZURE, base_url="https://x.openai.azure.com",
                            api_version="2025-04-01-preview")
    assert isinstance(make_client(azure, key="k"), openai.AzureOpenAI)
    with pytest.raises(ProviderError, match="needs a base URL"):
        make_client(ProviderProfile("c", ProviderKind.COMPATIBLE), key="k")


def test_errors_are_explained_with_what_to_do() -> None:
    profile = get_profile("openai")
    wind_down = explain(_status_error(403, {"error": {
        "message": "Fine-tuning is not available for your organization.", "type": "invalid_request_error",
        "param": None, "code": "training_not_available"}}), profile)
    assert wind_down.status == 403 and not wind_down.retryable
    assert "2027-01-06" in str(wind_down) and "Azure" in str(wind_down) and "sharegpt" in str(wind_down)
    limited = explain(_status_error(429, {"error": {"message": "Slow down", "type": "rate_limit", "param": None,
                                                    "code": None}}, {"retry-after": "7"}), profile)
    assert limited.retryable and limited.retry_after == 7.0
    assert explain(_status_error(502, {"error": {"message": "bad gateway", "type": "server", "param": None,
                                                 "code": None}}), profile).retryable
    key = "sk-secret-abcdef"
    echoed = explain(_status_error(401, {"error": {"message": f"Incorrect API key provided: {key}",
                                                   "type": "invalid_request_error", "param": None,
                                                   "code": "invalid_api_key"}}), profile, key)
    assert key not in str(echoed) and "[key]" in str(echoed) and "check it" in str(echoed)


def test_keys_are_masked_on_every_provider_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """The retry path passes no key: the profile's own key and anything key-shaped must still be removed."""
    from vqa_desk.core.providers import call_with_retries

    monkeypatch.setenv("OPENAI_API_KEY", "my-very-private-key-123")
    profile = get_profile("openai")

    def echo() -> None:
        message = "bad request from my-very-private-key-123 (also sk-abcdef123456)"
        raise _status_error(400, {"error": {"message": message, "type": "invalid_request_error", "param": None,
                                            "code": None}})

    with pytest.raises(ProviderError) as err:
        call_with_retries(echo, profile, None)
    assert "my-very-private-key-123" not in str(err.value) and "sk-abcdef123456" not in str(err.value)
    assert str(err.value).count("[key]") == 2
