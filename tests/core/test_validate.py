"""The validator on files we did not write: cookbook-style examples, and every rule broken on purpose."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from vqa_desk.core.validate import PROVIDERS, ValidateError, validate_file

SYSTEM = ("Generate an answer to the question based on the image of the book provided. Output only the final "
          "answer.")


def _data_url(img: Image.Image, fmt: str = "JPEG", mime: str | None = None) -> str:
    buf = io.BytesIO()
    img.save(buf, fmt)
    return f"data:{mime or 'image/' + fmt.lower()};base64,{base64.b64encode(buf.getvalue()).decode()}"


COVER = _data_url(Image.new("RGB", (60, 90), "navy"))


def _user(question: str, url: str = COVER) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": question}, {"type": "image_url",
                                                                              "image_url": {"url": url}}]}


def cookbook_example(i: int, few_shot: int = 2, url: str = COVER) -> dict[str, Any]:
    """The layout of the OpenAI cookbook's VQA notebook: system, few-shot pairs with images, question, answer."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}]
    for k in range(few_shot):
        messages += [_user(f"Question [{k}]: Who wrote this book?"), {"role": "assistant", "content": f"Author {k}"}]
    messages += [_user(f"Question [{i}]: What is the title of this book?", url),
                 {"role": "assistant", "content": f"Title {i}"}]
    return {"messages": messages}


def _write(path: Path, lines: list[Any]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for line in lines:
            fh.write((line if isinstance(line, str) else json.dumps(line)) + "\n")
    return path


def _codes(issues: list[Any]) -> dict[str, list[int]]:
    """code -> every line it was reported on (one code may come with several messages)."""
    out: dict[str, list[int]] = {}
    for issue in issues:
        out.setdefault(issue.code, []).extend(issue.lines)
    return {code: sorted(lines) for code, lines in out.items()}


def test_a_cookbook_style_file_passes(tmp_path: Path) -> None:
    path = _write(tmp_path / "train.jsonl", [cookbook_example(i) for i in range(12)])
    rep = validate_file(path)
    assert rep.ok, [e.message for e in rep.errors]
    assert set(_codes(rep.warnings)) == {"few_examples", "moderation"}
    assert rep.stats.examples == 12 and rep.stats.images == 36 and rep.stats.max_images_per_example == 3
    assert rep.stats.distinct_images == 1  # the same image is decoded once, however often it repeats
    # 3 images of 60x90 are one tile each: 255 tokens.
    assert rep.stats.tokens.image_tokens == 12 * 3 * 255
    assert rep.stats.tokens.text_tokens > 12 * 50
    assert rep.estimate(epochs=1).training_tokens == rep.stats.tokens.total_tokens


def test_eleven_images_are_refused_for_openai_with_line_numbers_and_accepted_for_azure(tmp_path: Path) -> None:
    lines = [cookbook_example(i, few_shot=2) for i in range(12)]
    for n in (3, 8, 11):  # lines 4, 9 and 12 get 10 few-shot pairs: 11 images
        lines[n] = cookbook_example(n, few_shot=10)
    path = _write(tmp_path / "train.jsonl", lines)
    rep = validate_file(path, provider="openai")
    assert not rep.ok
    (err,) = [e for e in rep.errors if e.code == "too_many_images"]
    assert err.lines == [4, 9, 12] and err.line == 4
    assert err.message.startswith("Lines 4, 9, 12 (3 lines): 11 images in one example; OpenAI accepts at most 10.")
    assert "at most 9 few-shot examples" in err.message
    assert validate_file(path, provider="azure").ok


def test_every_broken_rule_is_reported_on_its_line(tmp_path: Path) -> None:
    good = [cookbook_example(i) for i in range(12)]
    assistant_image = cookbook_example(1)
    assistant_image["messages"][-1] = {"role": "assistant", "content": [
        {"type": "image_url", "image_url": {"url": COVER}}]}
    no_answer = {"messages": [{"role": "system", "content": SYSTEM}, _user("Who wrote this book?")]}
    bad_role = cookbook_example(3)
    bad_role["messages"][0]["role"] = "narrator"
    lines: list[Any] = [
        good[0],                                                               # 1
        '{"messages": [{"role": "user", "content": "cut off',                 # 2
        assistant_image,                                                       # 3
        cookbook_example(4, url=_data_url(Image.new("CMYK", (40, 60)))),      # 4
        cookbook_example(5, url=_data_url(Image.new("P", (40, 60)), "GIF")),  # 5
        no_answer,                                                             # 6
        cookbook_example(7, url="data:image/jpeg;base64,@@not base64@@"),     # 7
        bad_role,                                                              # 8
        cookbook_example(9, url="https://example.invalid/cover.jpg"),         # 9
        cookbook_example(10, url="http://example.invalid/cover.jpg"),         # 10
        cookbook_example(11, url=_data_url(Image.new("RGB", (40, 60)), "PNG", "image/jpeg")),  # 11
        cookbook_example(12, url="data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8garbage").decode()),  # 12
        [1, 2],                                                                # 13
        "",                                                                    # 14
        {"messages": cookbook_example(15)["messages"][:-1]},                   # 15
        *good[1:],
    ]
    rep = validate_file(_write(tmp_path / "mixed.jsonl", lines))
    errors, warnings = _codes(rep.errors), _codes(rep.warnings)
    assert errors["not_json"] == [2]
    assert errors["assistant_image"] == [3]
    assert errors["image_mode"] == [4, 5]  # CMYK, and the GIF's palette
    assert errors["image_format"] == [5]
    assert errors["no_answer"] == [6]
    assert errors["image_bad_base64"] == [7]
    assert errors["bad_role"] == [8]
    assert warnings["url_not_fetched"] == [9]
    assert errors["bad_image_url"] == [10]
    assert warnings["image_mime"] == [11]
    assert errors["image_unreadable"] == [12]
    assert errors["no_messages"] == [13]
    assert warnings["empty_line"] == [14]
    assert warnings["ends_after_answer"] == [15]
    messages = {e.code: e.message for e in rep.errors if e.code != "image_mode" or e.line == 4}
    assert messages["image_mode"] == ("Line 4: an image is in CMYK mode; OpenAI accepts RGB or RGBA. Convert it "
                                      "(VQA Desk's export does).")
    assert "move it to the user message" in messages["assistant_image"]
    out = rep.to_dict()
    assert out["ok"] is False and {"line", "message"} <= set(out["errors"][0]) and isinstance(out["warnings"], list)


def test_too_few_examples(tmp_path: Path) -> None:
    rep = validate_file(_write(tmp_path / "t.jsonl", [cookbook_example(i) for i in range(7)]))
    (err,) = rep.errors
    assert err.code == "too_few_examples" and err.line is None
    assert "7 example(s); OpenAI needs at least 10" in err.message


def test_empty_file_and_unreadable_paths(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"")
    assert _codes(validate_file(tmp_path / "empty.jsonl").errors) == {"empty_file": []}
    with pytest.raises(ValidateError, match="not a file"):
        validate_file(tmp_path / "missing.jsonl")
    with pytest.raises(ValidateError, match="Unknown provider"):
        validate_file(tmp_path / "empty.jsonl", provider="acme")


def test_size_limits_come_from_the_provider_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "t.jsonl", [cookbook_example(i) for i in range(12)])
    small = dataclasses.replace(PROVIDERS["openai"], max_image_bytes=100, max_file_bytes=1000,
                                max_tokens_per_example=500)
    monkeypatch.setitem(PROVIDERS, "openai", small)
    rep = validate_file(path)
    errors, warnings = _codes(rep.errors), _codes(rep.warnings)
    assert errors["image_too_large"] == list(range(1, 13))
    assert "file_too_large" in errors
    assert warnings["too_many_tokens"] == list(range(1, 13))


def test_bom_and_non_utf8_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    body = [json.dumps(cookbook_example(i)).encode() for i in range(12)]
    body[5] = body[5].replace(b"Title 5", b"Title \xff")
    path.write_bytes(b"\xef\xbb\xbf" + b"\n".join(body) + b"\n")
    errors = _codes(validate_file(path).errors)
    assert errors["bom"] == [1] and errors["not_utf8"] == [6]


def test_compatible_provider_does_not_enforce_openai_limits(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.jsonl", [cookbook_example(i, few_shot=20) for i in range(3)])
    rep = validate_file(path, provider="compatible")
    assert rep.ok and rep.stats.max_images_per_example == 21
