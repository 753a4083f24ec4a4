"""Fixed vocabulary for books and authors: editions, calendar kinds, people, decoys and publishers."""

from __future__ import annotations

EDITIONS = (
    "2nd Edition",
    "3rd Edition",
    "Second Edition",
    "Revised Edition",
    "5th Edition",
    "Updated Edition",
    "10th Anniversary Edition",
    "4th Edition",
)

EDITION_GENRES = {
    "Computers & Technology",
    "Test Preparation",
    "Medical Books",
    "Law",
    "Reference",
    "Engineering & Transportation",
    "Science & Math",
    "Business & Money",
}

CALENDAR_KINDS = ("Wall Calendar", "Mini Wall Calendar", "Day-to-Day Calendar", "Square Wall Calendar")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "James Mary John Patricia Robert Jennifer Michael William Elizabeth David Barbara Susan Joseph "
    "Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa Anthony Margaret Steven Sandra "
    "Andrew Ashley Kenneth Emily Joshua Donna Kevin Michelle Brian Carol George Amanda Edward "
    "Melissa Ronald Deborah Timothy Stephanie Jason Rebecca Jeffrey Laura Gary Helen Eric Sharon "
    "Peter Cynthia Frank Kathleen Scott Amy Gregory Angela Raymond Anna Samuel Ruth Patrick Brenda "
    "Alexander Pamela Jack Nicole Dennis Katherine Henry Samantha Douglas Janet Nathan Rachel "
    "Walter Emma Harold Maria Carl Diane Arthur Julie Lawrence Joyce Evelyn Joan Victoria Kelly "
    "Bruce Lauren Gabriel Frances Martha Judith Albert Megan Alan Andrea Eugene Olivia Vincent "
    "Alice Philip Jean Doris Jacqueline Kathryn Roy Hannah Ralph Julia Wayne Gloria Keith Teresa"
)

LAST_NAMES = _words(
    "Smith Johnson Williams Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Wilson "
    "Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
    "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson "
    "Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Turner Diaz Cruz Edwards "
    "Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson "
    "Bailey Reed Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood Bennett Gray "
    "Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell "
    "Jenkins Perry Sullivan Bell Coleman Butler Henderson Barnes Fisher Vasquez Simmons Romero "
    "Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis "
    "Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald "
    "Woods Washington Kennedy Wells Vargas Chen Freeman Webb Tucker Guzman Burns Crawford Olson "
    "Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Hunt Hicks Holmes Palmer "
    "Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza "
    "Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Spencer Hawkins "
    "Arnold Pierce Hansen Peters Santos Hart Knight Elliott Cunningham Duncan Armstrong Hudson "
    "Carroll Lane Riley Andrews Alvarado Delgado Berry Perkins Hoffman Johnston Matthews Richards "
    "Willis Carpenter Sandoval"
)

MIDDLE_NAMES = _words("Lee Ann Marie Paul James Elizabeth Alice Louise Grace Michael Allen Jo")

# Authors pinned so that the planted examples match the ones described in the project docs.
NAMED_AUTHORS: tuple[tuple[str, str, int], ...] = (
    ("Marcia S. Brown", "Children's Books", 3),
    ("Paul N. Stam", "Science & Math", 3),
    ("Mark Millar", "Comics & Graphic Novels", 4),
    ("Hervé Tullet", "Children's Books", 3),
    ("Renée Marchetti", "Romance", 3),
    ("Zoë Lindqvist", "Science Fiction & Fantasy", 2),
    ("André Dupuis", "Arts & Photography", 2),
    ("Søren Dahl", "Religion & Spirituality", 2),
)

# Different people whose names look alike: a deduplicator must keep them apart.
DECOYS: tuple[tuple[tuple[str, str, int], tuple[str, str, int]], ...] = (
    (("Richard J. Evans", "History", 3), ("Richard Paul Evans", "Literature & Fiction", 3)),
    (("Mary Monroe", "Literature & Fiction", 2), ("Mary Alice Monroe", "Romance", 3)),
    (("Linda C. Anderson", "Education & Teaching", 2), ("Linda Ackerman Anderson", "Business & Money", 2)),
    (("James Patterson", "Mystery, Thriller & Suspense", 3), ("James T. Patterson", "History", 2)),
    (("Robert B. Parker", "Mystery, Thriller & Suspense", 2), ("Robert M. Parker Jr.", "Cookbooks, Food & Wine", 2)),
)

PUBLISHERS: tuple[tuple[str, int], ...] = (
    ("Willow Creek Press", 3),
    ("BrownTrout Publishers", 3),
    ("Avalanche Publishing", 2),
    ("Andrews McMeel Publishing", 2),
    ("TF Publishing", 2),
    ("Day Dream Publishing", 2),
)

RESERVED_LAST = {"Brown", "Stam", "Millar", "Tullet", "Evans", "Monroe", "Anderson", "Patterson", "Parker"}
