"""``sandbox-ocr`` without HTTP: reading a cover's layout, learning the label conventions, the offline judge,
structured output for any schema, life without the OCR engine; and the schema subset against its source."""

from __future__ import annotations

import json
import logging
from typing import Literal

import jsonschema
import pytest
import sandbox_openapi
from openai.lib._pydantic import to_strict_json_schema
from pydantic import BaseModel, Field

from vqa_desk.core.ocr import OcrLine
from vqa_desk.sandbox.chat import Fill, fill_schema, judge
from vqa_desk.sandbox.reader import CoverReader
from vqa_desk.sandbox.vqa_model import (
    Example,
    OcrVqaModel,
    Trainer,
    TrainingData,
    keyword_genre,
    looks_like_name,
    read_layout,
)


def line(text: str, top: float, height: float, width: float | None = None, score: float = 0.99) -> OcrLine:
    w = width if width is not None else len(text) * height * 0.55
    return OcrLine(text, score, top, height, ((20, top), (20 + w, top), (20 + w, top + height), (20, top + height)))


def book(title: list[str], author: str, subtitle: str = "", *, author_top: bool = False, extra=()) -> list[OcrLine]:
    lines, y = [], 60.0
    if author_top:
        lines.append(line(author, 12, 20))
    for text in extra:
        lines.append(line(text, y, 16))
        y += 22
    for text in title:
        lines.append(line(text, y, 40))
        y += 45
    if subtitle:
        lines.append(line(subtitle, y, 18, len(subtitle) * 7.5))
        y += 24
    lines.append(line("IOI", 200, 120, 60, score=0.7))  # cover art read as letters
    if not author_top:
        lines.append(line(author, 330, 20))
    return sorted(lines, key=lambda ln: ln.top)


# ----- reading covers -----------------------------------------------------------------------------------------

def test_layout_title_subtitle_author():
    layout = read_layout(book(["The Rustic", "Kitchen"], "Samuel G. Gordon", "Over 100 Easy Recipes"))
    assert layout.title == "The Rustic Kitchen"
    assert layout.subtitle == "Over 100 Easy Recipes"
    assert layout.author == "Samuel G. Gordon"


def test_layout_author_on_top_and_a_name_like_title():
    layout = read_layout(book(["Iron War"], "Samuel Rodriguez", author_top=True))
    assert (layout.title, layout.author) == ("Iron War", "Samuel Rodriguez")


def test_layout_edition_year_and_publisher():
    lines = [line("Zen Gardens", 20, 40), line("2014", 70, 60), line("Day-to-Day Calendar", 140, 22),
             line("WILLOW CREEK", 300, 20), line("PRESS", 322, 20)]
    layout = read_layout(lines)
    assert (layout.title, layout.year, layout.calendar_kind) == ("Zen Gardens", "2014", "Day-to-Day Calendar")
    assert layout.author == "WILLOW CREEK PRESS"
    edition = read_layout(book(["Basic", "Anatomy"], "Maria Barnes", extra=["3rd Edition"]))
    assert edition.edition == "3rd Edition" and edition.title == "Basic Anatomy"


@pytest.mark.parametrize(("text", "name"), [
    ("Søren Dahl", True), ("Lawrence A. Delgado", True), ("JACQUELINE T. HUNTER", True), ("Hervé Tullet", True),
    ("Skills and Drills", False), ("A Detective Story", False), ("12 GRE", False), ("Stories", False),
])
def test_looks_like_name(text, name):
    assert looks_like_name(text) is name


def test_base_model_answers_as_printed():
    model = OcrVqaModel()
    lines = book(["THE LOST", "EMPIRE"], "WALTER M. EDWARDS", "A History of the Sea Kings")
    assert model.answer("Question [7]: What is the title of this book?", lines) == "THE LOST EMPIRE"
    assert model.answer("Who wrote this book?", lines) == "WALTER M. EDWARDS"
    assert model.answer("What is the genre of this book?", lines) == "History"
    assert model.answer("Is this a historical book?", lines) == "Yes"
    assert model.answer("Is this book related to Romance?", lines) == "No"
    assert model.answer("What is the edition of this book?", lines) == "Unknown"
    assert model.answer("Who wrote this book?", None) == "Unknown"
    assert keyword_genre("") == "Literature & Fiction"


# ----- learning -------------------------------------------------------------------------------------------------

def _dataset() -> TrainingData:
    covers = {
        "a": (book(["THE LOST", "EMPIRE"], "WALTER M. EDWARDS", "A History of the Sea Kings"),
              "The Lost Empire: A History of the Sea Kings", "Walter M. Edwards", "History"),
        "b": (book(["Quiet", "Harbour"], "Kathryn Riley", "A Love Story"), "Quiet Harbour: A Love Story",
              "Kathryn Riley", "Romance"),
        "c": (book(["Harbour", "Nights"], "Kathryn Riley", "A Love Story"), "Harbour Nights: A Love Story",
              "Kathryn Riley", "Romance"),
        "d": (book(["EMPIRE", "OF SALT"], "JOHN OKAFOR", "The Sea Kings at War"),
              "Empire of Salt: The Sea Kings at War", "John Okafor", "History"),
    }
    examples, lines = [], {}
    for key, (ocr, title, author, genre) in covers.items():
        lines[key] = ocr
        examples += [Example("What is the title of this book?", key, title),
                     Example("Who wrote this book?", key, author),
                     Example("What is the genre of this book?", key, genre),
                     Example("Is this book related to Romance?", key, "Yes" if genre == "Romance" else "No")]
    return TrainingData(examples, lines)


def test_training_learns_the_conventions_and_the_losses_fall():
    data = _dataset()
    trainer = Trainer(data, data, n_epochs=4, batch_size=4, learning_rate_multiplier=1.0, seed=1)
    steps = list(trainer.steps())
    assert len(steps) == trainer.total_steps == 16
    assert steps[-1].train_loss < steps[0].train_loss
    assert [s.epoch_end for s in steps].count(True) == 4
    full = [s.full_valid_loss for s in steps if s.epoch_end]
    assert full[-1] < full[0]
    model = trainer.model
    assert model.p_yes("title_subtitle") > 0.5 and model.p_yes("title_case") > 0.5
    # A cover it never saw, written the way the labels are written.
    unseen = book(["HARBOUR OF", "STORMS"], "KATHRYN RILEY", "A Love Story")
    assert model.answer("What is the title of this book?", unseen) == "Harbour of Storms: A Love Story"
    assert model.answer("Who wrote this book?", unseen) == "Kathryn Riley"
    assert model.answer("What is the genre of this book?", unseen) == "Romance"
    assert model.answer("Is this book related to Romance?", unseen) == "Yes"
    # The base model, on the same cover, answers as printed.
    assert OcrVqaModel().answer("What is the title of this book?", unseen) == "HARBOUR OF STORMS"
    # The state survives JSON (the server stores it).
    again = OcrVqaModel.from_json(json.loads(json.dumps(model.to_json())))
    assert again.answer("What is the title of this book?", unseen) == "Harbour of Storms: A Love Story"


def test_learning_rate_scales_the_evidence():
    data = _dataset()
    slow = Trainer(data, None, n_epochs=1, batch_size=16, learning_rate_multiplier=0.1, seed=1)
    fast = Trainer(data, None, n_epochs=1, batch_size=16, learning_rate_multiplier=2.0, seed=1)
    list(slow.steps()), list(fast.steps())
    assert fast.model.state["decisions"]["title_subtitle"][0] == 20 * slow.model.state["decisions"]["title_subtitle"][0]


def test_without_the_ocr_engine_the_model_still_answers(caplog):
    reader = CoverReader(workers=1)
    reader.available = False
    try:
        with caplog.at_level(logging.WARNING, logger="vqa_desk.sandbox"):
            lines = reader.read(b"not-an-image-at-all")
            reader.read(b"another")
        assert lines == []
        assert [r.getMessage() for r in caplog.records].count(
            "The OCR engine (rapidocr) is not installed: sandbox-ocr answers without reading the covers "
            "(Unknown / No).") == 1
    finally:
        reader.close()
    model = OcrVqaModel()
    assert model.answer("Who wrote this book?", lines) == "Unknown"
    assert model.answer("Is this book related to Travel?", lines) == "No"


# ----- the judge and structured output ------------------------------------------------------------------------

@pytest.mark.parametrize(("truth", "prediction", "rating"), [
    ("Cookshack, Inc.", "Cookshack, Inc", "Very Similar"),
    ("Cookshack, Inc.", "Cookshack", "Mostly Similar"),
    ("Marcia S. Brown", "Marcia Brown", "Mostly Similar"),
    ("The Rustic Kitchen: Over 100 Easy Recipes", "The Rustic Kitchen Cookbook", "Somewhat Similar"),
    ("No", "**Answer:** No. **Reasoning:** it is a cookbook.", "Very Similar"),
    ("Yes", "No", "Incorrect"),
    ("Romance", "History", "Incorrect"),
])
def test_offline_judge(truth, prediction, rating):
    assert judge(truth, prediction)[0] == rating


class Rating(BaseModel):
    rating: Literal["Very Similar", "Mostly Similar", "Somewhat Similar", "Incorrect"]
    reason: str
    closed: bool
    score: float = Field(ge=0, le=1)


class Nested(BaseModel):
    answers: list[str]
    best: Rating | None
    kind: Literal["title", "author"]
    count: int


@pytest.mark.parametrize("model", [Rating, Nested])
def test_fill_schema_gives_valid_instances_for_strict_schemas(model):
    schema = to_strict_json_schema(model)
    for fill in (Fill("Jane K. Doe"), Fill("Mostly Similar", rating="Mostly Similar", reason="close", similarity=0.8)):
        instance = fill_schema(schema, fill)
        jsonschema.validate(instance, schema)
        model.model_validate(instance)
    graded = fill_schema(to_strict_json_schema(Rating), Fill("x", rating="Incorrect", reason="wrong", similarity=0.1))
    assert graded == {"rating": "Incorrect", "reason": "wrong", "closed": False, "score": 0.1}


# ----- the schemas the tests check against ------------------------------------------------------------------

def test_schema_subset_matches_the_shared_openapi_file():
    """The subset kept in the repository must be what the shared OpenAI description says today."""
    if not sandbox_openapi.SHARED.is_file():
        pytest.skip(f"{sandbox_openapi.SHARED} is not beside the repository; the subset cannot be compared")
    assert sandbox_openapi.extract(sandbox_openapi.load_shared()) == sandbox_openapi.load_subset(), (
        "tests/sandbox/openai-openapi-subset.yaml is out of date: run .venv/bin/python "
        "tests/sandbox/sandbox_openapi.py")


def test_schema_normalisation():
    schemas = sandbox_openapi.OpenAISchemas.load()
    job_schema = schemas.validator("FineTuningJob")
    hp = {"n_epochs": 3, "batch_size": 4, "learning_rate_multiplier": 0.5}  # 0.5 < 1: the boolean bound, fixed
    base = {"id": "ftjob-x", "object": "fine_tuning.job", "created_at": 1, "error": None, "fine_tuned_model": None,
            "finished_at": None, "hyperparameters": hp, "model": "m", "organization_id": "org", "result_files": [],
            "status": "queued", "trained_tokens": None, "training_file": "file-x", "validation_file": None,
            "seed": 1}
    assert not list(job_schema.iter_errors(base))
    assert list(job_schema.iter_errors({**base, "hyperparameters": {**hp, "learning_rate_multiplier": 0}}))
    assert list(job_schema.iter_errors({**base, "status": "paused-ish"}))
    assert sandbox_openapi.normalise({"type": "string", "nullable": True}) == {"type": ["string", "null"]}
