"""Export: the cookbook layout, round trip through import, every image mode, atomicity, manifest, formats."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tools.synthetic_ocrvqa import write_parquet
from vqa_desk.core.errors import Cancelled
from vqa_desk.core.export import (
    ExportError,
    ExportOptions,
    estimate_workspace,
    export_workspace,
    preview_example,
)
from vqa_desk.core.images import ImageError, encode_for_export
from vqa_desk.core.importer import import_dataset
from vqa_desk.core.prompts import DEFAULT_SYSTEM_PROMPT, set_system_prompt
from vqa_desk.core.sampling import parse_sizes
from vqa_desk.core.validate import validate_file
from vqa_desk.core.workspace import Workspace

FAKE_KEY = "sk-proj-FAKE0123456789abcdefTESTKEYdoNotLeak"
DEMO_PLANTED = json.loads((Path(__file__).parents[2] / "vqa_desk/resources/demo/planted.json").read_text())


# ----- fixtures ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """14 train / 4 validation / 4 test covers, 5 QA pairs each (JPEG covers from a pool of 64)."""
    root = tmp_path_factory.mktemp("small")
    write_parquet(root / "src" / "train-00000-of-00001.parquet", 14, start=0)
    write_parquet(root / "src" / "validation-00000-of-00001.parquet", 4, start=100)
    write_parquet(root / "src" / "test-00000-of-00001.parquet", 4, start=200)
    import_dataset(str(root / "src"), root / "small.vqadesk", sizes=parse_sizes("all,all,all"))
    return root / "small.vqadesk"


@pytest.fixture(scope="module")
def demo_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.vqadesk"
    import_dataset("demo", path)
    return path


@pytest.fixture(scope="module")
def demo_export(demo_ws: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The demo workspace exported once with one few-shot example (keeps the files small)."""
    return export_workspace(demo_ws, tmp_path_factory.mktemp("demo-out") / "out",
                            options=ExportOptions(few_shot=1))


def _lines(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _image_urls(example: dict[str, Any]) -> list[str]:
    return [part["image_url"]["url"] for m in example["messages"] if isinstance(m["content"], list)
            for part in m["content"] if part["type"] == "image_url"]


def _decode(url: str) -> bytes:
    return base64.b64decode(url.split(",", 1)[1])


def _qa(ws_path: Path, split: str) -> Counter[tuple[str, str]]:
    with Workspace.open(ws_path) as ws:
        return Counter(ws.connection.execute(
            "SELECT q.question, q.answer FROM qa q JOIN images i ON i.id = q.image WHERE q.split = ? AND i.valid = 1 "
            "AND (q.split = 'test' OR trim(q.answer) != '')", (split,)).fetchall())


# ----- the OpenAI files -------------------------------------------------------------------------------------

def test_cookbook_layout_with_six_few_shot_examples(small_ws: Path, tmp_path: Path) -> None:
    result = export_workspace(small_ws, tmp_path / "out")
    assert result.examples == {"train": 70, "validation": 20, "test": 20}
    assert set(result.files) == {"train", "validation", "test"} and result.manifest.is_file()
    train = _lines(result.files["train"])
    few_shot_ids = {f["qa_id"] for f in result.few_shot}
    assert len(train) == 70 and len(few_shot_ids) == 6
    for example in train:
        roles = [m["role"] for m in example["messages"]]
        assert roles == ["system"] + ["user", "assistant"] * 7
        assert example["messages"][0]["content"] == DEFAULT_SYSTEM_PROMPT
        questions = [m["content"][0]["text"] for m in example["messages"] if m["role"] == "user"]
        assert [q.split(":")[0] for q in questions] == [f"Question [{n}]" for n in range(1, 8)]
        urls = _image_urls(example)
        assert len(urls) == 7
        assert urls[-1] not in urls[:-1]  # never its own cover among its few-shot examples
    for example in _lines(result.files["test"]):
        assert [m["role"] for m in example["messages"]][-1] == "user"  # no answer to predict from
        assert len(_image_urls(example)) == 7
    assert result.validation["train"].ok and result.validation["validation"].ok and "test" not in result.validation
    assert result.images == {"passthrough": 22}


def test_few_shot_examples_are_deterministic_training_items_of_mixed_types(small_ws: Path, tmp_path: Path) -> None:
    a = export_workspace(small_ws, tmp_path / "a", options=ExportOptions(workers=1))
    b = export_workspace(small_ws, tmp_path / "b", options=ExportOptions(workers=2))
    c = export_workspace(small_ws, tmp_path / "c", options=ExportOptions(seed=7))
    assert a.files["train"].read_bytes() == b.files["train"].read_bytes()  # threads keep the order
    assert a.few_shot == b.few_shot and a.few_shot != c.few_shot
    assert len({f["question_type"] for f in a.few_shot}) == 4  # title, author, genre and yes/no all shown
    with Workspace.open(small_ws) as ws:
        assert {ws.qa(f["qa_id"]).split for f in a.few_shot} == {"train"}


def test_export_then_import_gives_the_same_questions_and_answers(small_ws: Path, tmp_path: Path) -> None:
    result = export_workspace(small_ws, tmp_path / "out", options=ExportOptions(few_shot=2))
    for split in ("train", "validation", "test"):
        back = tmp_path / f"{split}.vqadesk"
        import_dataset(str(result.files[split]), back)
        imported = _qa(back, split)
        expected = _qa(small_ws, split)
        if split == "test":  # the test file carries no answers; they come back empty
            expected = Counter((q, "") for (q, _), n in expected.items() for _ in range(n))
        assert imported == expected
        with Workspace.open(back) as ws:  # lines with the same cover became one cover again
            assert ws.summary()["images"] == {split: 14 if split == "train" else 4}


def test_current_answers_edits_and_empty_answers(small_ws: Path, tmp_path: Path) -> None:
    copy = tmp_path / "edited.vqadesk"
    copy.write_bytes(small_ws.read_bytes())
    with Workspace.open(copy) as ws:
        train = ws.qa_for_image(ws.image_pk("B000000003"))
        test = ws.qa_for_image(ws.image_pk("B000000201"))
        ws.set_answer(train[0].id, "A Corrected Title", reason="test")
        ws.set_answer(train[1].id, "  ", reason="test")
        ws.set_answer(test[1].id, "", reason="test")
    result = export_workspace(copy, tmp_path / "out", options=ExportOptions(few_shot=0))
    answers = [ex["messages"][-1]["content"] for ex in _lines(result.files["train"])]
    assert "A Corrected Title" in answers and "  " not in answers
    assert result.examples == {"train": 69, "validation": 20, "test": 20}  # the empty test answer is fine
    (skip,) = result.skipped
    assert skip.qa_ids == (train[1].id,) and skip.reason.startswith("empty answer")
    manifest = json.loads(result.manifest.read_text())
    assert manifest["counts"]["edited_answers"] == 2  # the new title and the emptied test answer
    assert manifest["splits"]["train"]["edited_answers"] == 1
    assert manifest["skipped"] == [skip.to_dict()]


def test_all_images_decode_as_rgb_or_rgba(demo_export: Any) -> None:
    for split, path in demo_export.files.items():
        seen = set()
        for example in _lines(path):
            for url in _image_urls(example):
                if url in seen:
                    continue
                seen.add(url)
                mime = url[5:url.index(";")]
                with Image.open(io.BytesIO(_decode(url))) as img:
                    img.load()
                    assert img.mode in ("RGB", "RGBA") and mime == f"image/{img.format.lower()}"
                    assert img.format in ("JPEG", "PNG", "WEBP"), split


def _target_image(result: Any, image_id: str) -> Image.Image:
    """The exported image of a cover, found through lines.csv."""
    rows = list(csv.DictReader((result.out_dir / "lines.csv").open(encoding="utf-8")))
    row = next(r for r in rows if r["image_id"] == image_id)
    with result.files[row["split"]].open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if n == int(row["line"]):
                return Image.open(io.BytesIO(_decode(_image_urls(json.loads(line))[-1])))
    raise AssertionError(image_id)


def _planted(kind: str) -> dict[str, Any]:
    return next(p for p in DEMO_PLANTED["problems"] if p["kind"] == kind)


@pytest.mark.parametrize("kind", ["cmyk_jpeg", "palette_transparency", "la_png", "i16_png", "exif_orientation"])
def test_each_odd_image_mode_is_exported_correctly(demo_ws: Path, demo_export: Any, kind: str) -> None:
    planted = _planted(kind)
    img = _target_image(demo_export, planted["image_id"])
    assert img.format == "JPEG" and img.mode == "RGB"
    with Workspace.open(demo_ws) as ws:
        meta = ws.image_meta(ws.image_pk(planted["image_id"]))
        original = Image.open(io.BytesIO(ws.image_bytes(ws.image_pk(planted["image_id"]))))
    if kind == "exif_orientation":
        # Stored rotated with orientation 6: exported upright, so width and height swap.
        assert (img.width, img.height) == (meta.height, meta.width) and img.height > img.width
    else:
        assert img.size == (meta.width, meta.height)
    if kind == "palette_transparency":
        transparent = original.convert("RGBA").getpixel((0, 0))[3] == 0
        assert transparent and min(img.getpixel((0, 0))) > 245  # transparency laid onto white, not black
    if kind == "i16_png":
        lo, hi = img.convert("L").getextrema()
        assert hi - lo > 100  # scaled from 16 bits, not clipped to white


def test_unusable_covers_are_skipped_with_reasons(demo_export: Any) -> None:
    reasons = {s.image_id: s.reason for s in demo_export.skipped}
    assert "placeholder" in reasons[_planted("placeholder_gif")["image_id"]]
    assert "not a readable image" in reasons[_planted("not_an_image")["image_id"]]
    assert "damaged" in reasons[_planted("truncated_jpeg")["image_id"]]
    assert reasons[_planted("empty_answer")["image_id"]].startswith("empty answer")
    used = {f["image_id"] for f in demo_export.few_shot}
    assert not used & set(reasons)  # few-shot examples only from usable covers
    manifest = json.loads(demo_export.manifest.read_text())
    assert {s["image_id"] for s in manifest["skipped"]} == set(reasons)


def test_a_cover_that_fails_to_decode_at_export_time_is_skipped_whole(small_ws: Path, tmp_path: Path) -> None:
    copy = tmp_path / "broken.vqadesk"
    copy.write_bytes(small_ws.read_bytes())
    with Workspace.open(copy) as ws:  # marked valid at import, damaged since
        pk = ws.image_pk("B000000202")
        good = ws.image_bytes(pk)
        with ws.transaction() as conn:
            conn.execute("UPDATE image_data SET bytes = ? WHERE image = ?", (good[: len(good) // 3], pk))
    result = export_workspace(copy, tmp_path / "out", options=ExportOptions(few_shot=1))
    (skip,) = result.skipped
    assert skip.image_id == "B000000202" and skip.reason.startswith("the image cannot be exported")
    assert result.examples["test"] == 15 and len(_lines(result.files["test"])) == 15  # every line complete


def test_k_ten_is_refused_for_openai_with_line_numbers_and_accepted_for_azure(small_ws: Path, tmp_path: Path) -> None:
    result = export_workspace(small_ws, tmp_path / "out", options=ExportOptions(few_shot=10, provider="azure"))
    assert result.validation["train"].ok
    rep = validate_file(result.files["train"], provider="openai")
    (err,) = [e for e in rep.errors if e.code == "too_many_images"]
    assert err.lines == list(range(1, 71))
    assert err.message.startswith("Lines 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 60 more (70 lines): 11 images in one "
                                  "example; OpenAI accepts at most 10.")
    assert validate_file(result.files["train"], provider="azure").ok


# ----- images -------------------------------------------------------------------------------------------------

def _encode(img: Image.Image, fmt: str, **kw: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize(("img", "fmt"), [
    (Image.effect_noise((120, 180), 40).convert("RGB"), "JPEG"),
    (Image.new("RGBA", (120, 180), (10, 20, 30, 128)), "PNG"),
    (Image.new("RGB", (120, 180), "teal"), "WEBP"),
])
def test_passthrough_keeps_acceptable_bytes_identical(img: Image.Image, fmt: str) -> None:
    data = _encode(img, fmt)
    out = encode_for_export(data)
    assert out.passthrough and out.data == data and out.format == fmt
    for changed in (encode_for_export(data, quality=80), encode_for_export(data, passthrough=False),
                    encode_for_export(data, max_side=90)):
        assert not changed.passthrough and changed.format == "JPEG" and changed.mode == "RGB"
    assert encode_for_export(data, max_side=90).height == 90
    assert encode_for_export(data, max_side=500).passthrough  # already within the limit: nothing to change


def test_passthrough_in_the_export_keeps_the_workspace_bytes(small_ws: Path, tmp_path: Path) -> None:
    result = export_workspace(small_ws, tmp_path / "out", options=ExportOptions(few_shot=0))
    first = next(csv.DictReader((result.out_dir / "lines.csv").open(encoding="utf-8")))
    with Workspace.open(small_ws) as ws:
        stored = ws.image_bytes(ws.image_pk(first["image_id"]))
    assert _decode(_image_urls(_lines(result.files["train"])[0])[-1]) == stored
    reencoded = export_workspace(small_ws, tmp_path / "q", options=ExportOptions(few_shot=0, quality=50))
    assert _decode(_image_urls(_lines(reencoded.files["train"])[0])[-1]) != stored
    assert reencoded.images == {"re_encoded": 22}


def test_decompression_bombs_damage_and_placeholders_are_refused() -> None:
    with pytest.raises(ImageError, match="too large to decode safely"):
        encode_for_export(_encode(Image.new("1", (10_000, 10_000)), "PNG"))
    noisy = _encode(Image.effect_noise((200, 300), 80).convert("RGB"), "JPEG", quality=90)
    with pytest.raises(ImageError, match="damaged"):
        encode_for_export(noisy[: len(noisy) // 2])
    with pytest.raises(ImageError, match="placeholder"):
        encode_for_export(_encode(Image.new("P", (1, 1)), "GIF"))
    with pytest.raises(ImageError, match="not a readable image"):
        encode_for_export(b"random bytes" * 20)


def test_detail_is_written_and_counted(small_ws: Path, tmp_path: Path) -> None:
    result = export_workspace(small_ws, tmp_path / "out", options=ExportOptions(few_shot=1, detail="low"))
    example = _lines(result.files["validation"])[0]
    parts = [p for m in example["messages"] if isinstance(m["content"], list) for p in m["content"]
             if p["type"] == "image_url"]
    assert [p["image_url"]["detail"] for p in parts] == ["low", "low"]
    assert result.estimate is not None and result.estimate.splits["validation"].image_tokens == 20 * 2 * 85


# ----- atomic writing ----------------------------------------------------------------------------------------

def test_a_failure_midway_leaves_nothing_at_the_destination(small_ws: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from vqa_desk.core import formats

    out = tmp_path / "out"
    out.mkdir()
    real_write = formats.HashingFile.write
    calls = 0

    def disk_fills_up(self: formats.HashingFile, data: bytes) -> None:
        nonlocal calls
        calls += 1
        if calls == 40:  # in the middle of the training file
            raise OSError(28, "No space left on device (simulated)")
        real_write(self, data)

    monkeypatch.setattr(formats.HashingFile, "write", disk_fills_up)
    with pytest.raises(OSError, match="simulated"):
        export_workspace(small_ws, out, options=ExportOptions(few_shot=2))
    assert calls == 40
    assert list(out.iterdir()) == []  # no file, no hidden partial file


def test_an_error_in_an_encoding_thread_leaves_nothing(small_ws: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from vqa_desk.core import export

    real = export.encode_for_export
    seen = 0

    def flaky(data: bytes, **kw: Any) -> Any:
        nonlocal seen
        seen += 1
        if seen == 12:
            raise MemoryError("simulated")
        return real(data, **kw)

    monkeypatch.setattr(export, "encode_for_export", flaky)
    with pytest.raises(MemoryError):
        export_workspace(small_ws, tmp_path / "out", options=ExportOptions(few_shot=1))
    assert not (tmp_path / "out").exists()  # the folder this export created is gone too


def test_a_cancel_keeps_the_previous_export_untouched(small_ws: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = export_workspace(small_ws, out, options=ExportOptions(few_shot=0))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    cancel = threading.Event()

    def stop(done: int, total: int, message: str) -> None:
        if done >= 3:
            cancel.set()

    with pytest.raises(Cancelled):
        export_workspace(small_ws, out, options=ExportOptions(few_shot=3), progress=stop, cancel=cancel)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert first.manifest.is_file()


def test_a_missing_parent_folder_or_another_format_is_refused(small_ws: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="does not exist"):
        export_workspace(small_ws, tmp_path / "no" / "out")
    export_workspace(small_ws, tmp_path / "out", options=ExportOptions(few_shot=0))
    with pytest.raises(ExportError, match="already holds a openai export"):
        export_workspace(small_ws, tmp_path / "out", options=ExportOptions(format="sharegpt"))


@pytest.mark.parametrize("bad", [ExportOptions(format="csv"), ExportOptions(few_shot=-1), ExportOptions(few_shot=64),
                                 ExportOptions(quality=0), ExportOptions(detail="medium"),
                                 ExportOptions(max_side=10), ExportOptions(provider="acme"),
                                 ExportOptions(system_prompt="  ")])
def test_bad_options_are_explained(small_ws: Path, tmp_path: Path, bad: ExportOptions) -> None:
    with pytest.raises(ExportError):
        export_workspace(small_ws, tmp_path / "out", options=bad)
    assert not (tmp_path / "out").exists()


# ----- manifest -----------------------------------------------------------------------------------------------

def test_manifest_records_everything_and_no_secret(small_ws: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", FAKE_KEY)
    result = export_workspace(small_ws, tmp_path / "out", options=ExportOptions(few_shot=1))
    for path in (tmp_path / "out").rglob("*"):
        data = path.read_bytes()
        assert FAKE_KEY.encode() not in data and b"sk-proj" not in data, path
    manifest = json.loads(result.manifest.read_text())
    from vqa_desk import __version__

    assert manifest["tool"] == {"name": "vqa-desk", "version": __version__}
    assert manifest["workspace"]["path"] == str(small_ws.resolve())
    assert manifest["settings"]["few_shot"] == 1 and manifest["settings"]["system_prompt_origin"] == "default"
    assert manifest["counts"]["examples"] == {"train": 70, "validation": 20, "test": 20}
    assert manifest["splits"]["train"]["question_types"] == {"author": 14, "genre": 14, "title": 14, "yes_no": 28}
    for name, entry in manifest["files"].items():
        assert hashlib.sha256((tmp_path / "out" / name).read_bytes()).hexdigest() == entry["sha256"]
    assert set(manifest["files"]) == {"train.jsonl", "validation.jsonl", "test.jsonl", "lines.csv"}
    assert manifest["estimate"]["training_cost_usd"] > 0 and manifest["validation"]["train"]["ok"]


def test_system_prompt_from_the_workspace_or_the_options(small_ws: Path, tmp_path: Path) -> None:
    copy = tmp_path / "prompt.vqadesk"
    copy.write_bytes(small_ws.read_bytes())
    with Workspace.open(copy) as ws:
        set_system_prompt(ws, "Answer briefly.")
    saved = export_workspace(copy, tmp_path / "a", options=ExportOptions(few_shot=0))
    assert _lines(saved.files["train"])[0]["messages"][0]["content"] == "Answer briefly."
    assert json.loads(saved.manifest.read_text())["settings"]["system_prompt_origin"] == "workspace"
    given = export_workspace(copy, tmp_path / "b", options=ExportOptions(few_shot=0, system_prompt="Be exact."))
    assert _lines(given.files["test"])[0]["messages"][0]["content"] == "Be exact."
    with Workspace.open(copy) as ws:
        set_system_prompt(ws, None)
    reset = export_workspace(copy, tmp_path / "c", options=ExportOptions(few_shot=0))
    assert _lines(reset.files["train"])[0]["messages"][0]["content"] == DEFAULT_SYSTEM_PROMPT


# ----- estimate and preview -----------------------------------------------------------------------------------

def test_estimate_without_writing_matches_the_export(demo_ws: Path, demo_export: Any) -> None:
    estimate = estimate_workspace(demo_ws, ExportOptions(few_shot=1))
    assert estimate.to_dict()["splits"] == demo_export.estimate.to_dict()["splits"]
    assert estimate.training_cost_usd == demo_export.estimate.training_cost_usd
    assert estimate.training_cost_usd == pytest.approx(
        estimate.training_tokens * estimate.epochs * 25 / 1e6, abs=0.01)


def test_preview_shows_one_example_with_labels_for_images(small_ws: Path) -> None:
    preview = preview_example(small_ws, ExportOptions(few_shot=2))
    assert [m["role"] for m in preview.messages] == ["system", "user", "assistant", "user", "assistant", "user",
                                                      "assistant"]
    label = preview.messages[-2]["content"][1]["image_url"]["url"]
    assert label.startswith("<JPEG 64x96") and "original bytes" in label
    assert len(preview.images) == 3 and preview.image_tokens == 3 * 255
    test = preview_example(small_ws, ExportOptions(few_shot=2), split="test")
    assert test.messages[-1]["role"] == "user"


# ----- other formats ------------------------------------------------------------------------------------------

def test_sharegpt_export_loads(small_ws: Path, tmp_path: Path) -> None:
    result = export_workspace(small_ws, tmp_path / "out", options=ExportOptions(format="sharegpt"))
    records = json.loads(result.files["train"].read_text())
    assert len(records) == 14 and result.examples["train"] == 70
    first = records[0]
    assert first["conversations"][0]["value"].startswith("<image>\n")
    assert [t["from"] for t in first["conversations"]] == ["human", "gpt"] * 5
    with Image.open(result.out_dir / first["image"]) as img:
        assert img.format == "JPEG"
    pairs = Counter((records[i]["conversations"][k]["value"].removeprefix("<image>\n"),
                     records[i]["conversations"][k + 1]["value"]) for i in range(14) for k in range(0, 10, 2))
    assert pairs == _qa(small_ws, "train")
    listing = (result.out_dir / "images.sha256").read_text().splitlines()
    assert len(listing) == 22
    digest, name = listing[0].split("  ")
    assert hashlib.sha256((result.out_dir / name).read_bytes()).hexdigest() == digest
    assert json.loads(result.files["test"].read_text())[0]["conversations"][1]["from"] == "gpt"


def test_hf_export_loads_with_datasets_and_imports_back(small_ws: Path, tmp_path: Path) -> None:
    import datasets

    result = export_workspace(small_ws, tmp_path / "out", options=ExportOptions(format="hf"))
    loaded = datasets.load_from_disk(str(result.out_dir / "dataset"))
    assert {s: len(d) for s, d in loaded.items()} == {"train": 14, "validation": 4, "test": 4}
    row = loaded["train"][0]
    assert row["image"].mode == "RGB" and len(row["questions"]) == len(row["answers"]) == 5
    assert result.files["train"] == result.out_dir / "dataset" / "train"
    back = tmp_path / "back.vqadesk"
    import_dataset(str(result.out_dir / "dataset"), back, sizes=parse_sizes("all,all,all"))
    for split in ("train", "validation", "test"):
        assert _qa(back, split) == _qa(small_ws, split)


def test_a_rejected_export_never_replaces_a_previous_one(tmp_path: Path) -> None:
    from vqa_desk.core.export import ExportError, ExportOptions, export_workspace
    from vqa_desk.core.importer import import_dataset
    from vqa_desk.core.sampling import parse_sizes

    ws = tmp_path / "w.vqadesk"
    import_dataset("demo", ws, sizes=parse_sizes("12,4,4"))
    out = tmp_path / "out"
    export_workspace(ws, out, options=ExportOptions(few_shot=2, quality=50, max_side=256, estimate=False))
    before = (out / "train.jsonl").read_bytes()
    with pytest.raises(ExportError, match=r"previous export .* was kept"):
        # 10 few-shot pairs + the question = 11 images per example: OpenAI refuses more than 10
        export_workspace(ws, out, options=ExportOptions(few_shot=10, quality=50, max_side=256, estimate=False))
    assert (out / "train.jsonl").read_bytes() == before
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging left behind
