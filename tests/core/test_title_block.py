"""Reading the title block like a person, on cover layouts seen on real published covers (rebuilt as OCR lines
with the positions and sizes the engine reported; no cover images involved)."""

import pytest

from vqa_desk.core.names import Difference, compare, parse
from vqa_desk.core.ocr import OcrLine
from vqa_desk.core.textfix import capitals_in_use, is_acronym, title_case
from vqa_desk.core.title_block import Kind, classify, looks_like_series, read_subtitle, title_lines


def _line(text: str, top: float, height: float, left: float = 20, right: float = 380, score: float = 0.99) -> OcrLine:
    return OcrLine(text, score, top, height, ((left, top), (right, top), (right, top + height), (left, top + height)))


def test_a_subtitle_under_the_title_is_read_whole() -> None:
    lines = [_line("Ashley Charles", 40, 40), _line("OUTRAGED", 200, 120), _line("Why Everyone is Shouting", 330, 50),
             _line("and No One is Talking", 385, 50), _line("BLOOMSBURY", 700, 15)]
    found = read_subtitle(lines, "Outraged", ["Ashley Charles"])
    assert found is not None and found.kind == Kind.SUBTITLE
    assert found.text == "Why Everyone is Shouting and No One is Talking"


def test_ocr_that_drops_spaces_still_finds_the_title_lines() -> None:
    lines = [_line("Tom Cox", 28, 48), _line("UNDER", 75, 82), _line("thePAW", 141, 93),
             _line("Confessions of a Cat Man", 240, 32)]
    assert title_lines(lines, "Under the Paw") == [1, 2]
    found = read_subtitle(lines, "Under the Paw", ["Tom Cox"])
    assert found is not None and (found.text, found.kind) == ("Confessions of a Cat Man", Kind.SUBTITLE)


def test_a_subtitle_above_the_title() -> None:
    lines = [_line("YOUR POCKET TRAVEL GUIDE TO", 378, 64), _line("THE WORLDS OF SCIENCE FICTION", 451, 60),
             _line("AND FANTASY", 526, 54), _line("NOTES", 625, 177), _line("from", 802, 175),
             _line("SMALL", 990, 177), _line("PLANETS", 1191, 184), _line("Nate Crowley", 1398, 103)]
    found = read_subtitle(lines, "Notes from Small Planets", ["Nate Crowley"])
    assert found is not None and found.kind == Kind.SUBTITLE and found.above
    assert found.text == "YOUR POCKET TRAVEL GUIDE TO THE WORLDS OF SCIENCE FICTION AND FANTASY"


@pytest.mark.parametrize(("text", "kind"), [
    ("'The powerful new voice of her generation'", Kind.QUOTE),
    ("NEW YORK TIMES BESTSELLING AUTHOR", Kind.QUOTE),
    ("Aiw Yoak Timiv Bistselling Authior", Kind.QUOTE),  # garbled praise
    ("Cracking stuff ROBERT HARRIS THE SUNDAY TIMES", Kind.QUOTE),
    ("Foreword by Sarah Costello", Kind.CREDIT),
    ("by Jane Doe", Kind.CREDIT),
    ("Translator of Convenience Store Woman", Kind.CREDIT),
    ("Amazonoriginal Stories", Kind.CREDIT),
    ("A Novel", Kind.DESCRIPTOR),
    ("A Hunger Games Novel", Kind.SERIES),
    ("A South Shores Hovel", Kind.SERIES),  # OCR's "Novel"
    ("Monkey Business Trio, Book 1", Kind.SERIES),
    ("First in the Westcott Series", Kind.SERIES),
    ("How can you play the game when the cards are stacked against you?", Kind.TAGLINE),
    ("Sometimes real life is sweeter than fiction...", Kind.TAGLINE),
    ("It's the Trip of a Lifetime", Kind.TAGLINE),
    ("Is This Relationship Fake or Is It True Love", Kind.TAGLINE),
    ("Change everything.", Kind.TAGLINE),
    ("Loo B", Kind.FRAGMENT),
    ("Steveklabnikand Carolnichols Withcontributions", Kind.CREDIT),
    ("Why Everyone Has It, but", Kind.UNSURE),  # cut off
    ("LEISA RATTEN", Kind.UNSURE),  # a name
    ("A propulsive story of human connection and possibility", Kind.UNSURE),  # set as a sentence
    ("Love Is Stronger Than Death", Kind.UNSURE),  # a statement
    ("-From Kona with Love", Kind.UNSURE),
    ("The Battle for the Code", Kind.SUBTITLE),
    ("An Affirmative Guide to Aromanticism", Kind.SUBTITLE),
    ("Why Everyone Has It, but Most People Can't Use It", Kind.SUBTITLE),
])
def test_what_is_not_a_subtitle(text: str, kind: Kind) -> None:
    assert classify(text, [_line(text, 0, 20)], "")[0] == kind


def test_poorly_recognised_text_is_a_fragment_and_a_cut_block_is_unsure() -> None:
    assert classify("A Choose Your Own", [_line("A Choose Your Own", 0, 20, score=0.6)], "")[0] == Kind.FRAGMENT
    assert classify("How the Blue Streak Broke the World", [_line("x", 0, 20)],
                    "poorly recognised text follows it")[0] == Kind.UNSURE


def test_descriptors_count_only_where_the_policy_keeps_them() -> None:
    lines = [_line("Lighthouse", 40, 40), _line("A Novel", 88, 18), _line("Cy Fox", 200, 14)]
    assert read_subtitle(lines, "Lighthouse", ["Cy Fox"]).kind == Kind.DESCRIPTOR  # type: ignore[union-attr]
    kept = read_subtitle(lines, "Lighthouse", ["Cy Fox"], keep_descriptors=True)
    assert kept is not None and (kept.text, kept.kind) == ("A Novel", Kind.SUBTITLE)


def test_a_quote_right_under_the_title_is_never_a_subtitle() -> None:
    lines = [_line("HUGH SEBAG-MONTEFIORE", 17, 29), _line("ENIGMA", 252, 121),
             _line("THE-BATTLE·FOR-THE·CODE", 363, 39),
             _line("Cracking stuff' ROBERT HARRIS. THE SUNDAY TIMES", 405, 19)]
    found = read_subtitle(lines, "Enigma", ["Hugh Sebag-Montefiore"])
    assert found is not None and (found.text, found.kind) == ("THE BATTLE FOR THE CODE", Kind.SUBTITLE)


def test_text_far_from_the_title_is_only_possible() -> None:
    lines = [_line("Junaid Mubeen", 50, 123), _line("Mathematical", 1437, 230), _line("Intelligence", 1748, 221),
             _line("What we have that machines cannot match", 2323 + 250, 95)]
    found = read_subtitle(lines, "Mathematical Intelligence", ["Junaid Mubeen"])
    assert found is not None and found.kind == Kind.UNSURE and "apart" in found.why


def test_an_author_line_ends_the_block_and_a_misread_author_is_no_subtitle() -> None:
    lines = [_line("Bad Romeo", 100, 40), _line("LEISA RATTEN", 150, 20)]
    found = read_subtitle(lines, "Bad Romeo", ["Leisa Rayven"])
    assert found is None or found.kind == Kind.UNSURE
    assert read_subtitle([_line("Bad Romeo", 100, 40), _line("LEISA RAYVEM", 150, 20)], "Bad Romeo",
                         ["Leisa Rayven"]) is None
    lines = [_line("All the Things", 100, 40), _line("Stories of Trans Joy", 150, 20),
             _line("T. C. Oakes-Moncer", 175, 20)]
    found = read_subtitle(lines, "All the Things", ["Someone Else"])
    assert found is not None and (found.text, found.kind) == ("Stories of Trans Joy", Kind.SUBTITLE)


def test_series_lines() -> None:
    assert looks_like_series("A Hidden Legacy Novel") and looks_like_series("Book 2 of the Wayward Children")
    assert not looks_like_series("Why Everyone is Shouting and No One is Talking")


def test_acronyms_survive_recasing() -> None:
    assert title_case("GCHQ: THE SECRET WIRELESS WAR") == "GCHQ: The Secret Wireless War"
    assert title_case("RNLI") == "RNLI" and title_case("TF PUBLISHING") == "TF Publishing"
    assert title_case("NYC: A GUIDE") == "NYC: A Guide" and title_case("WORLD WAR II") == "World War II"
    assert title_case("ALL OF US AND IT") == "All of Us and It"  # words, not acronyms
    assert title_case("THE HOUSE OF MCDONALD") == "The House of McDonald"
    assert title_case("O'BRIEN AND I'LL") == "O'Brien and I'll"
    assert title_case("JIM BUTCHER") == "Jim Butcher" and title_case("SHH!") == "Shh!"
    assert title_case("  THE  BBC MICRO ") == "The BBC Micro"  # never doubled, leading or trailing spaces
    # The catalogue's own spelling: an acronym with vowels that another label writes in capitals
    keep = capitals_in_use(["The ABBA Story", "I'm So NOT Over You", "MARK MILLAR"])
    assert keep == {"ABBA"}
    assert title_case("ABBA: GOLD", keep) == "ABBA: Gold" and title_case("ABBA: GOLD") == "Abba: Gold"
    assert is_acronym("U.S.A.") and not is_acronym("A.")


def test_degrees_anywhere_in_a_name() -> None:
    inside, plain = parse("Robert C. M.D. Atkins"), parse("Robert C. Atkins")
    assert inside is not None and plain is not None and inside.degree
    assert compare(inside, plain) == Difference.DEGREE
    initials = parse("M. A. Smith")  # initials, not a master's degree
    assert initials is not None and not initials.degree and initials.first == "m"
