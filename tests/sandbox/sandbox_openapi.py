"""OpenAI's own response schemas, for checking what the sandbox sends with a JSON-schema validator.

The contract is OpenAI's OpenAPI description (``shared/openai-openapi.yaml`` beside the repository, 3 MB).
The tests read the schemas they need from a subset kept next to this file (``openai-openapi-subset.yaml``:
the named component schemas and everything they reference), so CI needs nothing outside the repository.
Regenerate it after the shared file changes (a test fails when they drift apart):

    .venv/bin/python tests/sandbox/sandbox_openapi.py
"""

from __future__ import annotations

import copy
import hashlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
SUBSET = HERE / "openai-openapi-subset.yaml"
SHARED = HERE.parents[2] / "shared" / "openai-openapi.yaml"
ROOTS = (
    "Batch", "CreateChatCompletionResponse", "CreateChatCompletionStreamResponse", "DeleteFileResponse",
    "DeleteModelResponse", "Error", "ErrorResponse", "FineTuningJob", "FineTuningJobCheckpoint", "FineTuningJobEvent",
    "ListBatchesResponse", "ListFilesResponse", "ListFineTuningJobCheckpointsResponse",
    "ListFineTuningJobEventsResponse", "ListModelsResponse", "ListPaginatedFineTuningJobsResponse", "Model",
    "OpenAIFile",
)
_PREFIX = "#/components/schemas/"


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_PREFIX):
            yield ref[len(_PREFIX):]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def extract(spec: dict[str, Any], roots: tuple[str, ...] = ROOTS) -> dict[str, Any]:
    """The named component schemas and every schema they reference, as a small OpenAPI document."""
    schemas = spec["components"]["schemas"]
    keep: dict[str, Any] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        if name not in schemas:
            raise KeyError(f"{name} is not a component schema of the OpenAPI file")
        keep[name] = schemas[name]
        todo.extend(_refs(schemas[name]))
    return {"openapi": spec.get("openapi"), "info": {"title": spec["info"].get("title"),
                                                     "version": spec["info"].get("version")},
            "components": {"schemas": dict(sorted(keep.items()))}}


def load_shared() -> dict[str, Any]:
    with SHARED.open("rb") as fh:
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def load_subset() -> dict[str, Any]:
    if not SUBSET.is_file():
        raise FileNotFoundError(f"{SUBSET} is missing: the sandbox tests check responses against OpenAI's schemas "
                                f"from it. Regenerate it from {SHARED} with: .venv/bin/python "
                                "tests/sandbox/sandbox_openapi.py")
    with SUBSET.open("rb") as fh:
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def normalise(node: Any) -> Any:
    """OpenAPI 3.0 habits the 3.1 file still has, rewritten as JSON Schema 2020-12 means them:
    ``nullable: true`` (ignored by a 2020-12 validator: null would be refused) and a boolean
    ``exclusiveMinimum`` next to ``minimum`` (2020-12 reads ``true`` as the number 1)."""
    if isinstance(node, list):
        return [normalise(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: normalise(v) for k, v in node.items()}
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if isinstance(out.get(exclusive), bool) and out.pop(exclusive) and bound in out:
            out[exclusive] = out.pop(bound)
    if out.pop("nullable", False) is True:
        kind = out.get("type")
        if isinstance(kind, str) and "enum" not in out:
            out["type"] = [kind, "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


class OpenAISchemas:
    def __init__(self, document: dict[str, Any]) -> None:
        from jsonschema import Draft202012Validator

        self.document = document
        self._components = normalise(copy.deepcopy(document["components"]))
        self._validators: dict[str, Any] = {}
        self._cls = Draft202012Validator

    @classmethod
    def load(cls) -> OpenAISchemas:
        return cls(load_subset())

    def validator(self, name: str) -> Any:
        if name not in self._validators:
            if name not in self._components["schemas"]:
                raise KeyError(f"{name} is not in {SUBSET.name}; add it to ROOTS and regenerate")
            schema = {"$ref": _PREFIX + name, "components": self._components}
            self._validators[name] = self._cls(schema)
        return self._validators[name]

    def validate(self, name: str, instance: Any) -> None:
        errors = sorted(self.validator(name).iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            lines = [f"- at /{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:10]]
            raise AssertionError(f"response does not match OpenAI's {name} schema:\n" + "\n".join(lines))


def write_subset() -> Path:
    spec = load_shared()
    subset = extract(spec)
    digest = hashlib.sha256(SHARED.read_bytes()).hexdigest()
    header = (f"# Generated by tests/sandbox/sandbox_openapi.py from shared/openai-openapi.yaml (sha256 {digest}).\n"
              "# OpenAI's OpenAPI description, MIT licence (github.com/openai/openai-openapi); do not edit by hand.\n")
    SUBSET.write_text(header + yaml.safe_dump(subset, sort_keys=False, allow_unicode=True, width=120),
                      encoding="utf-8")
    return SUBSET


if __name__ == "__main__":
    print(write_subset(), file=sys.stderr)
