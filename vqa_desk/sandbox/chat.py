"""Chat completions for the sandbox models: what a request asks, and the answer in OpenAI's shape.

The question is the text of the last user message and the cover its last image (a base64 data URL; the
sandbox fetches nothing from the network). ``response_format`` is honoured: ``json_object`` gives
``{"answer": ...}`` and ``json_schema`` gives an object valid for the schema — string fields carry the answer,
and when the prompt is a grading request (a ground truth and a prediction to compare, as an LLM judge gets)
enum fields get a rating from an offline string-similarity judge, ``reason`` fields a one-line reason.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

from vqa_desk.sandbox.errors import APIError, bad_request
from vqa_desk.sandbox.store import new_id

_DATA_URL = re.compile(r"^data:([^;,]*)(;base64)?,", re.IGNORECASE)
_IMAGE_TOKENS = 85  # per image, as OpenAI's low detail; the sandbox does not resize anything


@dataclass(frozen=True)
class ChatRequest:
    model: str
    question: str
    image: bytes | None
    images: int
    prompt_text: str  # every text part of every message, for the judge and the token count
    response_format: dict[str, Any] | None
    n: int
    stream: bool
    include_usage: bool


def parse_chat_request(body: Any) -> ChatRequest:
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("you must provide a model parameter", param="model", code="missing_required_parameter")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("Missing required parameter: 'messages'." if messages is None else
                          "Invalid 'messages': expected a non-empty array of messages.", param="messages",
                          code="missing_required_parameter" if messages is None else "invalid_value")
    question, image, images, texts = "", None, 0, []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("system", "developer", "user", "assistant",
                                                                          "tool", "function"):
            raise bad_request(f"Invalid 'messages[{i}]': each message needs a role (system, user, assistant).",
                              param=f"messages[{i}]", code="invalid_value")
        content = message.get("content")
        msg_text, msg_image = "", None
        if isinstance(content, str):
            msg_text = content
        elif isinstance(content, list):
            for j, part in enumerate(content):
                kind = part.get("type") if isinstance(part, dict) else None
                if kind == "text" and isinstance(part.get("text"), str):
                    msg_text = part["text"]
                    texts.append(part["text"])
                elif kind == "image_url":
                    images += 1
                    if message.get("role") == "user":
                        msg_image = (i, j, part.get("image_url"))
                else:
                    raise bad_request(f"Invalid 'messages[{i}].content[{j}]': unsupported content part type "
                                      f"{kind!r}; the sandbox takes 'text' and 'image_url'.",
                                      param=f"messages[{i}].content[{j}]", code="invalid_value")
        elif content is not None:
            raise bad_request(f"Invalid 'messages[{i}].content': expected a string or an array of parts.",
                              param=f"messages[{i}].content", code="invalid_type")
        if isinstance(content, str):
            texts.append(content)
        if message.get("role") == "user":
            question = msg_text
            image = msg_image
    data = _decode_image(*image) if image is not None else None
    fmt = body.get("response_format")
    if fmt is not None and (not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object",
                                                                                 "json_schema")):
        raise bad_request("Invalid 'response_format': type must be text, json_object or json_schema.",
                          param="response_format", code="invalid_value")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise bad_request("Missing required parameter: 'response_format.json_schema.name'.",
                              param="response_format.json_schema.name", code="missing_required_parameter")
    n = body.get("n", 1)
    if not isinstance(n, int) or not 1 <= n <= 128:
        raise bad_request("Invalid 'n': must be an integer from 1 to 128.", param="n", code="invalid_value")
    stream_options = body.get("stream_options") or {}
    return ChatRequest(model, question, data, images, "\n".join(texts), fmt if isinstance(fmt, dict) else None, n,
                       bool(body.get("stream")), bool(isinstance(stream_options, dict)
                                                      and stream_options.get("include_usage")))


def _decode_image(i: int, j: int, ref: Any) -> bytes:
    url = ref.get("url") if isinstance(ref, dict) else None
    param = f"messages[{i}].content[{j}].image_url"
    if not isinstance(url, str):
        raise bad_request(f"Invalid '{param}': expected an object with a 'url'.", param=param, code="invalid_value")
    if url.startswith(("http://", "https://")):
        raise bad_request("The sandbox does not download images; send the cover as a base64 data URL "
                          "(data:image/jpeg;base64,...).", param=param, code="invalid_image_url")
    match = _DATA_URL.match(url)
    if not match or not match.group(2):
        raise bad_request(f"Invalid '{param}': expected a base64 data URL (data:image/jpeg;base64,...).",
                          param=param, code="invalid_image_url")
    try:
        return base64.b64decode(url[match.end():], validate=True)
    except (binascii.Error, ValueError):
        raise bad_request(f"Invalid '{param}': the data URL is not valid base64.", param=param,
                          code="invalid_image_url") from None


# ----- the offline judge --------------------------------------------------------------------------------

RATINGS = ("Very Similar", "Mostly Similar", "Somewhat Similar", "Incorrect")
_TRUTH = re.compile(r"(?im)^[\s*_>#-]*(?:ground[ -]truth|truth|expected(?: answer)?|reference(?: answer)?|"
                    r"correct answer|actual(?: answer)?|label)[\s*_]*[:=]\s*(.+?)\s*$")
_PRED = re.compile(r"(?im)^[\s*_>#-]*(?:prediction|predicted(?: answer)?|model(?:'s)? answer|model output|"
                   r"candidate(?: answer)?|response|answer to grade|generated answer)[\s*_]*[:=]\s*(.+?)\s*$")


def judge_pair(text: str) -> tuple[str, str] | None:
    """(truth, prediction) when the prompt is a grading request, else None."""
    truth, pred = _TRUTH.search(text), _PRED.search(text)
    if truth is None or pred is None:
        return None
    return _unquote(truth.group(1)), _unquote(pred.group(1))


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'`":
        value = value[1:-1]
    return value.strip()


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def judge(truth: str, prediction: str) -> tuple[str, str, float]:
    """(rating, one-line reason, similarity 0..1) by string similarity: the offline stand-in for an LLM judge."""
    t, p = _norm(truth), _norm(prediction)
    if t in ("yes", "no"):
        said = re.search(r"\b(yes|no)\b", p)  # verbose answers: "**Answer:** No. The cover ..."
        if said is not None and said.group(1) == t:
            return "Very Similar", f"The answer is '{truth}', as expected.", 1.0
        return "Incorrect", f"Expected '{truth}'; the answer says otherwise.", 0.0
    if t == p:
        return "Very Similar", "The answer matches the ground truth.", 1.0
    ratio = fuzz.token_set_ratio(t, p) / 100.0
    if t and (t in p or p in t) and ratio >= 0.6:
        return "Mostly Similar", "The answer and the ground truth agree, with words missing or added.", ratio
    if ratio >= 0.9:
        return "Mostly Similar", "The answer differs from the ground truth only slightly.", ratio
    if ratio >= 0.6:
        return "Somewhat Similar", "The answer has the core of the ground truth but differs noticeably.", ratio
    return "Incorrect", "The answer does not match the ground truth.", ratio


# ----- structured output --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fill:
    answer: str
    rating: str | None = None
    reason: str = ""
    similarity: float | None = None


def fill_schema(schema: Mapping[str, Any], fill: Fill, root: Mapping[str, Any] | None = None,
                name: str = "") -> Any:
    """An instance valid for ``schema`` (the JSON Schema subset structured outputs accept)."""
    root = root if root is not None else schema
    if "$ref" in schema:
        return fill_schema(_resolve(root, schema["$ref"]), fill, root, name)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return _choose(list(schema["enum"]), fill)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
            return fill_schema(options[0], fill, root, name)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        props = schema.get("properties") or {}
        required = schema.get("required")
        keys = list(props) if required is None or schema.get("additionalProperties") is False else [
            k for k in props if k in required]
        return {k: fill_schema(props[k], fill, root, k) for k in keys}
    if kind == "array":
        item = schema.get("items") or {}
        return [fill_schema(item, fill, root, name) for _ in range(max(1, int(schema.get("minItems", 1))))]
    if kind == "string":
        lowered = name.lower()
        if any(w in lowered for w in ("reason", "explanation", "rationale", "justification", "comment")):
            return fill.reason or "Answered by the offline sandbox model from the cover's text."
        if "rating" in lowered or "grade" in lowered or "verdict" in lowered:
            return fill.rating or fill.answer
        return fill.answer
    if kind in ("number", "integer"):
        value: float = fill.similarity if fill.similarity is not None else 1.0
        if any(w in name.lower() for w in ("score", "confidence", "similarity", "probability")):
            value = round(value, 3)
        else:
            value = 0
        lo, hi = schema.get("minimum"), schema.get("maximum")
        if lo is not None:
            value = max(value, lo)
        if hi is not None:
            value = min(value, hi)
        return round(value) if kind == "integer" else float(value)
    if kind == "boolean":
        if fill.similarity is not None:
            return fill.similarity >= 0.9
        return fill.answer.strip().lower() == "yes"
    if kind == "null":
        return None
    return fill.answer


def _resolve(root: Mapping[str, Any], ref: str) -> Mapping[str, Any]:
    if not ref.startswith("#"):
        raise bad_request(f"The sandbox resolves only local $refs in response schemas, not {ref!r}.",
                          param="response_format")
    node: Any = root
    for part in ref.lstrip("#").strip("/").split("/"):
        if part:
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _choose(options: list[Any], fill: Fill) -> Any:
    by_text = {str(o).casefold(): o for o in options}
    if fill.rating is not None and fill.rating.casefold() in by_text:
        return by_text[fill.rating.casefold()]
    if fill.answer.casefold() in by_text:
        return by_text[fill.answer.casefold()]
    if fill.rating is not None:  # a judge's enum with other words ("correct" / "incorrect", "A" / "B" ...)
        good = fill.rating != "Incorrect"
        for option in options:
            word = str(option).casefold()
            if good and word in ("correct", "true", "yes", "match", "pass"):
                return option
            if not good and word in ("incorrect", "false", "no", "mismatch", "fail", "wrong"):
                return option
    return options[0] if options else None


def structured_content(fmt: Mapping[str, Any] | None, fill: Fill) -> str:
    """The message content for a response format (plain answer for text)."""
    if fmt is None or fmt.get("type") == "text":
        return fill.answer
    if fmt.get("type") == "json_object":
        out: dict[str, Any] = {"answer": fill.answer}
        if fill.rating is not None:
            out.update(rating=fill.rating, reason=fill.reason)
        return json.dumps(out, ensure_ascii=False)
    spec = fmt.get("json_schema") or {}
    schema = spec.get("schema") or {"type": "object", "properties": {"answer": {"type": "string"}}}
    try:
        return json.dumps(fill_schema(schema, fill), ensure_ascii=False)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise APIError(400, f"Invalid schema for response_format '{spec.get('name')}': {exc}",
                       param="response_format", code="invalid_json_schema") from exc


# ----- the response -------------------------------------------------------------------------------------

def estimate_tokens(text: str) -> int:
    """About four characters a token: the sandbox does not load a tokenizer for usage figures."""
    return max(1, (len(text) + 3) // 4) if text else 0


def completion(model: str, content: str, *, prompt_tokens: int, n: int = 1) -> dict[str, Any]:
    completion_tokens = estimate_tokens(content)
    return {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": i, "message": {"role": "assistant", "content": content, "refusal": None,
                                             "annotations": []},
                     "logprobs": None, "finish_reason": "stop"} for i in range(n)],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens * n,
                  "total_tokens": prompt_tokens + completion_tokens * n,
                  "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                  "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                                "accepted_prediction_tokens": 0,
                                                "rejected_prediction_tokens": 0}},
        "service_tier": "default",
        "system_fingerprint": "fp_sandbox",
    }


def prompt_tokens(request: ChatRequest) -> int:
    return estimate_tokens(request.prompt_text) + _IMAGE_TOKENS * request.images


def stream_chunks(full: dict[str, Any], include_usage: bool) -> list[dict[str, Any]]:
    """The completion as ``chat.completion.chunk`` events: role, content, finish (and usage if asked)."""
    base = {"id": full["id"], "object": "chat.completion.chunk", "created": full["created"], "model": full["model"],
            "system_fingerprint": full["system_fingerprint"]}
    chunks = []
    for choice in full["choices"]:
        i = choice["index"]
        chunks.append({**base, "choices": [{"index": i, "delta": {"role": "assistant", "content": ""},
                                            "logprobs": None, "finish_reason": None}]})
        chunks.append({**base, "choices": [{"index": i, "delta": {"content": choice["message"]["content"]},
                                            "logprobs": None, "finish_reason": None}]})
        chunks.append({**base, "choices": [{"index": i, "delta": {}, "logprobs": None, "finish_reason": "stop"}]})
    if include_usage:
        chunks.append({**base, "choices": [], "usage": full["usage"]})
    return chunks
