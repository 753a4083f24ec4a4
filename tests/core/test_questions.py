import pytest

from vqa_desk.core.questions import QuestionType, cookbook_type, is_closed_answer, question_type

TEMPLATES = [
    ("What is the title of this book?", QuestionType.TITLE, "Title"),
    ("Who wrote this book?", QuestionType.AUTHOR, "Author"),
    ("Who is the author of this book?", QuestionType.AUTHOR, "Author"),
    ("What is the genre of this book?", QuestionType.GENRE, "Genre"),
    ("What type of book is this?", QuestionType.GENRE, "Genre"),
    ("What is the edition of this book?", QuestionType.EDITION, "Other"),
    ("What is the year printed on this calendar?", QuestionType.YEAR, "Other"),
    ("Is this book related to Travel?", QuestionType.YES_NO, "Other"),
    ("Is this book related to Cookbooks, Food & Wine?", QuestionType.YES_NO, "Other"),
    ("Is this a religious book?", QuestionType.YES_NO, "Other"),
    ("Is this a sci-fi book?", QuestionType.YES_NO, "Other"),
    ("Is this a kids book?", QuestionType.YES_NO, "Other"),
    ("Is this a comics book?", QuestionType.YES_NO, "Other"),
    ("Is this a recipe book?", QuestionType.YES_NO, "Other"),
    ("Is this a pharmaceutical book?", QuestionType.YES_NO, "Other"),
    ("Is this a christianity book?", QuestionType.YES_NO, "Other"),
    ("Is this an exam preparation book?", QuestionType.YES_NO, "Other"),
]


@pytest.mark.parametrize(("question", "qtype", "bucket"), TEMPLATES)
def test_every_ocr_vqa_template_is_classified(question: str, qtype: QuestionType, bucket: str) -> None:
    assert question_type(question) == qtype
    assert cookbook_type(question) == bucket


@pytest.mark.parametrize(
    "variant",
    ["what is the title of this book", "  What is  the title of this book ?  ", "WHAT IS THE TITLE OF THIS BOOK?",
     "Question [12]: What is the title of this book?"],
)
def test_classification_tolerates_case_spacing_and_cookbook_prefix(variant: str) -> None:
    assert question_type(variant) == QuestionType.TITLE


@pytest.mark.parametrize("question", ["", "   ", "How many pages does it have?", "Describe the cover.", "Title?"])
def test_unknown_questions_are_other(question: str) -> None:
    assert question_type(question) == QuestionType.OTHER


def test_a_title_question_mentioning_is_is_not_yes_no() -> None:
    # "Is" must start the question to be binary; a title question never is.
    assert question_type("What is this book's genre?") == QuestionType.OTHER


def test_closed_answer_is_exact_yes_or_no() -> None:
    assert is_closed_answer("Yes") and is_closed_answer("No")
    assert not is_closed_answer("yes") and not is_closed_answer("Yes.") and not is_closed_answer(" No")
