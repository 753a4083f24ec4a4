#!/usr/bin/env python3
"""Generate the synthetic OCR-VQA demo dataset shipped in ``vqa_desk/resources/demo``.

The output mirrors the layout of the Hugging Face dataset ``howard-hou/OCR-VQA`` (one parquet
file per split, same columns and features) so that every code path of VQA Desk can be exercised
without downloading gigabytes of Amazon covers. The covers are drawn with Pillow, and a known set
of label problems and broken images is planted; ``planted.json`` records where, so tests and demos
can check that the curation tools find them.

Usage::

    .venv/bin/python tools/make_demo.py [--out vqa_desk/resources/demo]

The run is deterministic: a fixed seed, fonts shipped next to this script and Pillow's basic text
layout, so regenerating gives identical metadata columns and ``planted.json``.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import math
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
import numpy as np
from datasets import Dataset, Features, Value
from datasets import Image as HFImage
from datasets import Sequence as HFSequence
from PIL import Image, ImageDraw, ImageFont

SEED = 20261126
SPLITS: dict[str, int] = {"train": 240, "validation": 80, "test": 120}
SET_NAMES = {"train": "train", "validation": "val", "test": "test"}
FONT_DIR = Path(__file__).resolve().parents[1] / "fonts"
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "vqa_desk" / "resources" / "demo"
URL_PREFIX = "http://ecx.images-amazon.com/images/I/"

RGB = tuple[int, int, int]

Q_TITLE = "What is the title of this book?"
Q_AUTHOR = ("Who wrote this book?", "Who is the author of this book?")
Q_GENRE = ("What is the genre of this book?", "What type of book is this?")
Q_EDITION = "What is the edition of this book?"
Q_YEAR = "What is the year printed on this calendar?"


def related_question(genre: str) -> str:
    return f"Is this book related to {genre}?"


# ---------------------------------------------------------------------------------------------
# Genres: look, vocabulary and the OCR-VQA yes/no paraphrases
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GenreSpec:
    bgs: tuple[str, ...]
    accents: tuple[str, ...]
    art: tuple[str, ...]
    serif: bool
    patterns: tuple[str, ...]
    a: tuple[str, ...]
    n: tuple[str, ...]
    subtitles: tuple[str, ...]
    subtitle_rate: float = 0.55
    families: frozenset[str] = frozenset()


def _g(
    bgs: str,
    accents: str,
    art: str,
    serif: bool,
    patterns: str,
    a: str,
    n: str,
    subtitles: str,
    families: str,
    subtitle_rate: float = 0.55,
) -> GenreSpec:
    # "|"-separated strings keep the 32-genre table readable in a single screen per genre.
    return GenreSpec(
        bgs=tuple(bgs.split()),
        accents=tuple(accents.split()),
        art=tuple(art.split()),
        serif=serif,
        patterns=tuple(patterns.split("|")),
        a=tuple(a.split("|")),
        n=tuple(n.split("|")),
        subtitles=tuple(subtitles.split("|")),
        subtitle_rate=subtitle_rate,
        families=frozenset(families.split()),
    )


# Families group genres a reader could plausibly confuse. "No" yes/no questions are only asked
# about genres sharing no family with the book, so that every clean "No" is beyond dispute.
GENRES: dict[str, GenreSpec] = {
    "Arts & Photography": _g(
        "#1d1d1f #f4efe6 #2b4c6f",
        "#e0a526 #c8553d #8fb8de",
        "frame circles",
        True,
        "The Art of {n}|{a} {n}|Painting {n}|Drawing {n} Step by Step|André's {n}",
        "Golden|Silent|Urban|Wild|Quiet|Painted|Hidden|Luminous",
        "Landscapes|Portraits|Watercolor|Light|Shadows|Color|Streets|Faces|Still Life",
        "A Photographer's Journey|Techniques for Every Artist|Seeing the World in Color"
        "|Fifty Years of Photographs|Lessons in Composition",
        "leisure",
    ),
    "Biographies & Memoirs": _g(
        "#efe6d8 #3a3a3a #6b4f3a",
        "#b5533c #d9b26f #4f6d7a",
        "frame band",
        True,
        "The {a} {n}|My Life in {n}|A {a} {n}|The {n} Years",
        "Long|Quiet|Brave|Borrowed|Second|Last|Unlikely|Restless",
        "Road|Harvest|Season|Summer|Promise|Fire|Journey|Kitchen|Radio",
        "A Memoir|My Story|The Life of a Reluctant Hero|A Daughter's Story|Growing Up in Ohio|An American Life",
        "society",
    ),
    "Business & Money": _g(
        "#0f3057 #ffffff #1b4332",
        "#f2a900 #00a676 #e63946",
        "bars",
        False,
        "The {a} {n}|{n} Rules|Thinking Like a {n}|The {n} Playbook",
        "Lean|Agile|Wealthy|Frugal|Strategic|Fearless|Honest|Patient",
        "Startup|Investor|Leader|Manager|Negotiator|Portfolio|Founder|Salesperson",
        "How Great Companies Win|A Practical Guide to Building Wealth|Lessons from the Boardroom"
        "|Strategies for the New Economy|Money Habits That Last",
        "society business",
    ),
    "Calendars": _g(
        "#fdfaf3 #e8f1f2 #fff4e0",
        "#2a9d8f #e76f51 #457b9d",
        "calendar mountains sun",
        False,
        "{n}",
        "",
        "Audubon Songbirds|Lighthouses|Golden Retrievers|Cats|National Parks|Vintage Travel Posters"
        "|Tuscan Landscapes|Zen Gardens|Classic Cars|Kittens|Hummingbirds|Covered Bridges"
        "|Horses|Barns|Sailing|Butterflies",
        "",
        "leisure",
        subtitle_rate=0.0,
    ),
    "Children's Books": _g(
        "#ffe066 #a0e7e5 #ffb4a2",
        "#f25f5c #247ba0 #70c1b3",
        "bubbles sun",
        False,
        "The {a} {n}|{a} {n} Goes to School|Good Night, {a} {n}|A Day with {a} {n}|{a} {n} Finds a Friend",
        "Little|Sleepy|Brave|Hungry|Curious|Tiny|Grumpy|Busy",
        "Bear|Dragon|Owl|Bunny|Elephant|Penguin|Fox|Robot|Duck",
        "A Bedtime Story|Counting from One to Ten|A Lift-the-Flap Book|A Story About Sharing",
        "young fiction",
        subtitle_rate=0.35,
    ),
    "Comics & Graphic Novels": _g(
        "#111111 #ffd23f #e4e4e4",
        "#ee4266 #3bceac #540d6e",
        "panels",
        False,
        "{n} Vol. {k}|The {a} {n}|{a} {n}|{n} Returns",
        "Dark|Iron|Shadow|Cosmic|Last|Savage|Silver|Midnight",
        "Knight|Legion|Avenger|Ronin|Guardians|Outsiders|Sentinel|Patrol",
        "The Complete Collection|Book One|The Graphic Novel|Origins",
        "fiction young",
    ),
    "Computers & Technology": _g(
        "#0b132b #f0f4f8 #1c2541",
        "#5bc0be #3a86ff #ff006e",
        "grid",
        False,
        "Learning {n}|{n} in Action|Mastering {n}|Practical {n}|{n} Cookbook|Effective {n}",
        "",
        "Python|JavaScript|Linux|Networks|Databases|Algorithms|Cloud Computing|Machine Learning"
        "|Kubernetes|Data Science",
        "A Hands-On Introduction|Build Real-World Applications|The Definitive Guide"
        "|Patterns and Best Practices|From Beginner to Pro",
        "tech",
        subtitle_rate=0.7,
    ),
    "Cookbooks, Food & Wine": _g(
        "#fff8e7 #7f1d1d #f1faee",
        "#e76f51 #2a9d8f #f4a261",
        "plate",
        True,
        "The {a} Kitchen|Everyday {n}|{k} {n} Recipes|{a} {n}|Café {n}|Crème Brûlée and Other {n}",
        "Southern|Rustic|Vegetarian|Italian|Slow|Simple|Weeknight|Country",
        "Soups|Breads|Grilling|Casseroles|Salads|Desserts|Pies|Pasta",
        "Simple Recipes for Every Season|From Farm to Table|Over 100 Easy Recipes"
        "|Comfort Food for Busy Families|Classic Dishes Made Easy",
        "leisure health",
    ),
    "Crafts, Hobbies & Home": _g(
        "#f6efe9 #5a7d7c #fefae0",
        "#dda15e #bc6c25 #606c38",
        "stripes quilt",
        True,
        "{a} {n}|The Complete Book of {n}|{n} for Beginners|Weekend {n}",
        "Modern|Simple|Cozy|Easy|Little|Scrappy",
        "Quilting|Knitting|Woodworking|Gardening|Crochet|Scrapbooking|Embroidery|Home Organizing",
        "20 Projects to Make and Give|Step-by-Step Techniques|Creative Ideas for the Home|Patterns and Projects",
        "leisure",
    ),
    "Christian Books & Bibles": _g(
        "#f5f0e1 #1e3a5f #4a3f35",
        "#c9a227 #8d6e63 #e0c068",
        "cross rays",
        True,
        "{a} {n}|Walking in {n}|The Power of {n}|Daily {n}|Rooted in {n}",
        "Amazing|Everyday|Living|Boundless|Radical|Quiet",
        "Grace|Faith|Prayer|Hope|Mercy|Psalms|Praise",
        "A 40-Day Devotional|Finding Peace in God's Promises|Bible Study Guide|Devotions for Women"
        "|Lessons from the Gospel of John",
        "faith",
    ),
    "Engineering & Transportation": _g(
        "#e9ecef #212529 #274060",
        "#f77f00 #4cc9f0 #adb5bd",
        "grid bridge",
        False,
        "Principles of {n}|{n} Design|Applied {n}|The Story of {n}|Fundamentals of {n}",
        "",
        "Bridges|Railways|Aircraft|Structures|Engines|Highways|Thermodynamics|Circuits|Locomotives",
        "An Engineering Approach|Theory and Practice|A Visual History|Analysis and Design",
        "tech",
        subtitle_rate=0.6,
    ),
    "Health, Fitness & Dieting": _g(
        "#e8f6ef #ffffff #073b4c",
        "#06d6a0 #ef476f #118ab2",
        "plus circles",
        False,
        "The {a} Diet|{n} for Life|The {k}-Day {n}|{a} {n}",
        "Whole|Clean|Lean|Mediterranean|Plant-Based|Anti-Inflammatory",
        "Reset|Cure|Workout|Metabolism|Detox|Body|Kitchen",
        "Lose Weight and Feel Great|The Science of Eating Well|A 30-Day Plan to Better Health"
        "|Recipes and Workouts for Real Life",
        "health",
        subtitle_rate=0.7,
    ),
    "History": _g(
        "#efe3c8 #2f2f2f #5c3d2e",
        "#8b2e16 #c9a227 #556b2f",
        "band frame",
        True,
        "The {a} {n}|{n} of the {m}|The Last {n}|{a} {n}",
        "Forgotten|Long|Great|Bitter|Lost|Iron|Burning|Guns of|Winter",
        "Empire|Frontier|Republic|Revolution|Crown|Dynasty|Siege|Harbor|War|Campaign|Armada",
        "A History of the Roman Republic|The Untold Story of the Berlin Airlift|Europe 1914-1918"
        "|The Rise and Fall of an Empire|America at War, 1861-1865|The Making of Modern Britain",
        "society",
    ),
    "Humor & Entertainment": _g(
        "#ffbe0b #8338ec #3a86ff",
        "#ff006e #fb5607 #ffffff",
        "bubbles stripes",
        False,
        "{a} {n}|The Big Book of {n}|{n} and Other Disasters|The {a} {n} Book",
        "Silly|Awkward|Ultimate|Totally Random|Giant|Pocket",
        "Puzzles|Jokes|Crosswords|Trivia|Sudoku|Mischief|Word Games",
        "Over 500 Puzzles for Every Level|Essays from a Reluctant Adult|The Official Companion"
        "|Laughs for the Whole Family",
        "leisure",
    ),
    "Law": _g(
        "#14213d #f8f4e3 #5e0b15",
        "#c9a227 #9a031e #e5e5e5",
        "columns band",
        True,
        "{n}|Understanding {n}|{n} in a Nutshell|Principles of {n}",
        "",
        "Contracts|Torts|Evidence|Constitutional Law|Criminal Procedure|Property|Family Law|Civil Procedure",
        "Cases and Materials|A Guide for Students|Examples and Explanations|Principles and Practice",
        "society learning",
        subtitle_rate=0.75,
    ),
    "Literature & Fiction": _g(
        "#f2e9e4 #22333b #4a5759",
        "#c9ada7 #9a8c98 #e0afa0",
        "waves circles",
        True,
        "The {a} {n}|{n}|The {n} Keeper|A {n} in Winter|All the {a} {n}",
        "Silent|Orchard|Distant|Paper|Winter|Little|Glass|Salt",
        "House|Garden|River|Daughter|Letters|Shore|Lighthouse|Sisters",
        "A Novel|Stories|A Novel of Love and War",
        "fiction",
    ),
    "Medical Books": _g(
        "#ffffff #e3f2fd #0d3b66",
        "#d62828 #1d70a2 #2a9d8f",
        "plus pulse",
        False,
        "Clinical {n}|Essentials of {n}|{n} Made Easy|Basic {n}|{n} Review",
        "",
        "Pharmacology|Anatomy|Pathology|Cardiology|Nursing|Physiology|Pediatrics|Radiology",
        "A Clinical Approach|Review for the Boards|Concepts and Applications|A Pocket Guide",
        "tech health learning",
        subtitle_rate=0.7,
    ),
    "Mystery, Thriller & Suspense": _g(
        "#0d1b2a #1b1b1b #3d0c02",
        "#e0e1dd #c1121f #778da9",
        "skyline",
        True,
        "The {a} {n}|{n} at Midnight|Death in {m}|The {n}",
        "Silent|Cold|Broken|Hidden|Last|Deadly|Burning|Ninth",
        "Witness|Alibi|Key|Verdict|Stranger|Confession|Lie|Girl",
        "A Thriller|A Detective Story|A Novel of Suspense",
        "fiction",
        subtitle_rate=0.4,
    ),
    "Parenting & Relationships": _g(
        "#fff1e6 #e2ece9 #fde2e4",
        "#ff8fab #6d9dc5 #f4a261",
        "circles hearts",
        False,
        "The {a} {n}|Raising {n}|The {n} Book|{a} {n}, {a} Parents",
        "Happy|Calm|Resilient|Mindful|Confident|Connected",
        "Toddlers|Teens|Kids|Marriage|Siblings|Families|Babies",
        "A Guide for Busy Parents|Raising Kind and Confident Children|What Every Parent Needs to Know"
        "|Building a Stronger Marriage",
        "young health",
        subtitle_rate=0.75,
    ),
    "Politics & Social Sciences": _g(
        "#ffffff #1d3557 #9b2226",
        "#e63946 #457b9d #f1c453",
        "stripes band",
        False,
        "The {a} {n}|{n} and {m}|The End of {n}|{a} {n}",
        "Divided|New|Silent|Fragile|American|Broken",
        "Majority|Democracy|Republic|Power|Inequality|Nation|Class|Citizens",
        "How Politics Shapes Our Lives|The Crisis of Democracy|Race, Class, and Power in America"
        "|Why Nations Fail to Change",
        "society",
        subtitle_rate=0.75,
    ),
    "Reference": _g(
        "#003049 #f8f9fa #7b2cbf",
        "#fcbf49 #d62828 #e9ecef",
        "books",
        True,
        "The {a} {n}|{a} {n} of English Usage|The {a} {n} of Names|Webster's {a} {n}",
        "Concise|Illustrated|Pocket|Essential|Compact|Complete",
        "Dictionary|Thesaurus|Atlas|Almanac|Encyclopedia|Style Guide",
        "Over 100,000 Entries|Revised and Updated|A Guide to Usage and Style",
        "learning",
    ),
    "Religion & Spirituality": _g(
        "#2d1e2f #f7ede2 #264653",
        "#f6bd60 #84a59d #e9c46a",
        "rays waves",
        True,
        "The {a} {n}|{n} of the {m}|Awakening the {n}|The {n} Within",
        "Sacred|Quiet|Inner|Mindful|Eternal|Open",
        "Path|Heart|Mind|Breath|Silence|Light|Soul",
        "Teachings on Meditation|A Buddhist Guide to Happiness|Finding Peace Within|Wisdom for Everyday Life",
        "faith",
    ),
    "Romance": _g(
        "#ffe5ec #590d22 #fff0f3",
        "#ff4d6d #c9184a #ffb3c1",
        "hearts circles",
        True,
        "The {a} {n}|A {n} at {m}|{a} {n}|The {n} Next Door",
        "Summer|Secret|Starlit|Sweet|Wild|Highland|Christmas",
        "Promise|Kiss|Heart|Wedding|Bride|Cottage|Cowboy|Duke",
        "A Novel|A Small Town Romance|A Love Story",
        "fiction",
        subtitle_rate=0.4,
    ),
    "Science & Math": _g(
        "#03045e #f1faee #2b2d42",
        "#00b4d8 #f4a261 #90e0ef",
        "atom grid",
        False,
        "The {a} {n}|{n} for Everyone|Introduction to {n}|The Joy of {n}",
        "Hidden|Elegant|Curious|Restless|Living",
        "Calculus|Genetics|Quantum Physics|Ecology|Algebra|Geology|Chemistry|Statistics",
        "A Very Short Introduction|From the Big Bang to Black Holes|Concepts and Problems|Ideas That Changed the World",
        "tech learning",
    ),
    "Science Fiction & Fantasy": _g(
        "#03071e #10002b #1a1a2e",
        "#e85d04 #9d4edd #4cc9f0",
        "stars",
        False,
        "The {a} {n}|{n} of {m}|The {n} War|{a} {n}",
        "Iron|Crimson|Last|Hollow|Shattered|Starborn|Ember|Silent",
        "Throne|Dragon|Sword|Colony|Empire|Station|Realm|Tide|Gate",
        "Book One of the Ember Trilogy|A Novel|The Starfall Saga",
        "fiction",
    ),
    "Self-Help": _g(
        "#fefae0 #ffffff #003566",
        "#ffc300 #fb8500 #219ebc",
        "rays waves",
        False,
        "The {a} {n}|{k} {n} Habits|The Power of {n}|{a} {n}",
        "Fearless|Joyful|Mindful|Unstoppable|Grateful|Brave",
        "Mind|Life|Focus|Courage|Confidence|Mornings|Yes",
        "How to Change Your Life in 30 Days|Small Steps to Big Results"
        "|Stop Worrying and Start Living|Finding the Courage to Begin Again",
        "faith health",
        subtitle_rate=0.8,
    ),
    "Sports & Outdoors": _g(
        "#2d6a4f #f1faee #023e8a",
        "#95d5b2 #f77f00 #ffffff",
        "mountains stripes",
        False,
        "The {a} Book of {n}|{n} Basics|The Complete Guide to {n}|{n} for Everyone|{a} {n}",
        "Complete|Ultimate|Backcountry|Weekend|Modern",
        "Fly Fishing|Golf|Backpacking|Baseball|Rock Climbing|Cycling|Trail Running|Kayaking",
        "A Guide for Beginners|Tips from the Pros|The Official Rules and Records|Skills and Drills",
        "leisure health",
    ),
    "Teen & Young Adult": _g(
        "#240046 #ff006e #0b090a",
        "#f72585 #4cc9f0 #ffbe0b",
        "circles stars",
        False,
        "The {a} {n}|{a} Girls|Everything {a}|The {n} Games",
        "Burning|Invisible|Reckless|Midnight|Wicked|Glass",
        "Academy|Summer|Rebels|Crown|Secrets|Lantern|Rooftop",
        "A Novel|Book One",
        "fiction young",
        subtitle_rate=0.3,
    ),
    "Test Preparation": _g(
        "#ffffff #d00000 #003f88",
        "#ffba08 #003f88 #d00000",
        "stripes books",
        False,
        "{n} Prep|Cracking the {n}|{n} Premier|{k} {n} Practice Tests|{n} Study Guide",
        "",
        "SAT|GRE|GMAT|ACT|MCAT|LSAT|TOEFL|NCLEX-RN|GED",
        "Strategies, Practice and Review|With 5 Full-Length Practice Tests|Proven Strategies for a Top Score",
        "learning",
        subtitle_rate=0.8,
    ),
    "Travel": _g(
        "#caf0f8 #fefae0 #006d77",
        "#e76f51 #0077b6 #f4a261",
        "mountains sun",
        False,
        "Best of {m}|{m} Travel Guide|Walking {m}|The Road to {m}|A Week in {m}",
        "",
        "Rome|Paris|Tuscany|Iceland|Japan|Peru|Scotland|Provence|Côte d'Azur|Zürich|Kraków|Portugal",
        "A Traveler's Companion|Top Sights and Hidden Gems|Where to Stay, Eat and Explore",
        "leisure",
    ),
    "Gay & Lesbian": _g(
        "#f8f9fa #2b2d42 #fff3b0",
        "#e63946 #8338ec #06d6a0",
        "rainbow",
        True,
        "The {a} {n}|{a} {n}|Our {n}",
        "Other|Rainbow|Proud|Borrowed|Open|Second",
        "Family|Summer|Boys|Pride|Parade|Wedding",
        "A Novel|Stories of Love and Family|A Memoir of Coming Out",
        "fiction society",
    ),
    "Education & Teaching": _g(
        "#f1faee #264653 #fff3e0",
        "#e76f51 #2a9d8f #e9c46a",
        "books circles",
        False,
        "{a} {n}|Teaching {n}|The {n} Classroom|Reading and {n}",
        "Engaged|Differentiated|Thriving|Inclusive|Joyful",
        "Reading|Math|Writing|Science|Learners|Readers",
        "Strategies for Every Classroom|A Guide for New Teachers|Grades K-5|Lessons That Stick",
        "learning young",
        subtitle_rate=0.75,
    ),
}
GENRE_NAMES = list(GENRES)

# The paraphrased yes/no templates that OCR-VQA uses for a genre (its exact wording, including
# the article-less "Is this christianity book?").
PARAPHRASES: dict[str, tuple[str, ...]] = {
    "Arts & Photography": ("Is this an art related book?",),
    "Biographies & Memoirs": ("Is this a life story book?",),
    "Business & Money": ("Is this a financial book?",),
    "Children's Books": ("Is this a kids book?",),
    "Comics & Graphic Novels": ("Is this a comics book?",),
    "Computers & Technology": ("Is this a digital technology book?",),
    "Cookbooks, Food & Wine": ("Is this a recipe book?",),
    "Crafts, Hobbies & Home": ("Is this a crafts or hobbies related book?",),
    "Christian Books & Bibles": ("Is this christianity book?",),
    "Engineering & Transportation": ("Is this a transportation engineering book?",),
    "Health, Fitness & Dieting": ("Is this a fitness book?",),
    "History": ("Is this a historical book?",),
    "Humor & Entertainment": ("Is this a comedy book?", "Is this a games related book?"),
    "Law": ("Is this a judicial book?",),
    "Medical Books": ("Is this a pharmaceutical book?",),
    "Parenting & Relationships": ("Is this a child-care book?",),
    "Politics & Social Sciences": ("Is this a sociopolitical book?",),
    "Reference": ("Is this a reference book?",),
    "Religion & Spirituality": ("Is this a religious book?",),
    "Romance": ("Is this a romantic book?",),
    "Science Fiction & Fantasy": ("Is this a sci-fi book?",),
    "Self-Help": ("Is this a motivational book?",),
    "Teen & Young Adult": ("Is this a youngster related book?",),
    "Test Preparation": ("Is this an exam preparation book?",),
    "Travel": ("Is this a journey related book?",),
    "Education & Teaching": ("Is this a pedagogy book?",),
}

RELATED_WRONG_GENRE = {
    "History": "Politics & Social Sciences",
    "Medical Books": "Health, Fitness & Dieting",
    "Computers & Technology": "Engineering & Transportation",
    "Children's Books": "Teen & Young Adult",
    "Religion & Spirituality": "Christian Books & Bibles",
    "Romance": "Mystery, Thriller & Suspense",
    "Cookbooks, Food & Wine": "Crafts, Hobbies & Home",
    "Biographies & Memoirs": "History",
    "Test Preparation": "Education & Teaching",
    "Self-Help": "Religion & Spirituality",
    "Science & Math": "Engineering & Transportation",
    "Sports & Outdoors": "Travel",
}
UNKNOWN_GENRE = {
    "Science Fiction & Fantasy": "Science Fiction",
    "Cookbooks, Food & Wine": "Cooking",
    "Self-Help": "Self Help",
    "Mystery, Thriller & Suspense": "Mystery & Thrillers",
    "Children's Books": "Kids",
    "Biographies & Memoirs": "Biography",
    "Health, Fitness & Dieting": "Diet & Fitness",
    "Computers & Technology": "Computers",
}
SERIES = {
    "Children's Books": ("Amazing Science", "Step into Reading"),
    "Science & Math": ("Very Short Introductions", "Science Made Simple"),
    "Literature & Fiction": ("Penguin Classics", "Vintage International"),
    "Mystery, Thriller & Suspense": ("A Detective Kate Morrow Mystery", "The Harbor Town Mysteries"),
    "Romance": ("Harbor Lights Series", "The Highland Brides Book 2"),
    "Science Fiction & Fantasy": ("The Ember Trilogy", "Starfall Saga Book 3"),
    "Travel": ("Pocket Travel Guide", "Rick's Walking Guides"),
    "Test Preparation": ("Test Prep Series", "College Test Preparation"),
    "Computers & Technology": ("Head First", "Pocket Reference"),
    "History": ("Pivotal Moments in American History", "Oxford History of the World"),
}
DEGREE_GENRES = {
    "Medical Books",
    "Health, Fitness & Dieting",
    "Self-Help",
    "Parenting & Relationships",
    "Science & Math",
    "Religion & Spirituality",
    "Education & Teaching",
    "Business & Money",
    "Christian Books & Bibles",
    "Law",
}
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

# ---------------------------------------------------------------------------------------------
# Authors
# ---------------------------------------------------------------------------------------------


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


@dataclass
class Author:
    name: str
    genre: str
    books: int
    kind: str = "person"  # "person" | "publisher" | "decoy"


# ---------------------------------------------------------------------------------------------
# Books and planted problems
# ---------------------------------------------------------------------------------------------


@dataclass
class Book:
    image_id: str
    author: Author
    genre: str
    title: str  # as printed on the cover (without subtitle)
    subtitle: str | None  # printed under the title
    edition: str | None = None
    year: str | None = None
    calendar_kind: str | None = None
    split: str = ""
    # labels that go into answers and (normally) the metadata columns
    title_label: str = ""
    author_label: str = ""
    genre_label: str = ""
    title_col: str = ""
    author_col: str = ""
    genre_col: str = ""
    questions: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    problem: dict[str, object] | None = None
    upper_title: bool = False
    upper_author: bool = False

    @property
    def full_title(self) -> str:
        if self.year:
            return f"{self.title} {self.year} {self.calendar_kind}"
        return f"{self.title}: {self.subtitle}" if self.subtitle else self.title


LABEL_PLANTS: dict[str, int] = {
    "author_initial_missing": 5,
    "author_initial_added": 4,
    "author_missing_period": 3,
    "author_degree": 5,
    "author_casing": 3,
    "author_double_space": 3,
    "title_subtitle_added": 5,
    "title_subtitle_missing": 5,
    "title_series_parenthetical": 4,
    "wrong_genre": 6,
    "genre_unknown": 4,
    "mojibake": 4,
    "answer_vs_metadata": 5,
    "yes_no_contradiction": 5,
    "empty_answer": 3,
    "closed_not_yes_no": 4,
    "whitespace": 4,
}
IMAGE_PLANTS = (
    "truncated_jpeg",
    "cmyk_jpeg",
    "palette_transparency",
    "placeholder_gif",
    "la_png",
    "i16_png",
    "exif_orientation",
    "not_an_image",
)
AUTHOR_KINDS = {
    "author_initial_missing",
    "author_initial_added",
    "author_missing_period",
    "author_degree",
    "author_casing",
    "author_double_space",
}
# The first instance of these kinds lands on a given author so the docs' examples are real.
PINNED = {
    "author_initial_missing": "Marcia S. Brown",
    "author_missing_period": "Paul N. Stam",
    "author_casing": "Mark Millar",
}
PINNED_GENRE = {"title_series_parenthetical": "Children's Books"}


def _middle_initial_index(name: str) -> int | None:
    parts = name.split(" ")
    for i, p in enumerate(parts[1:-1], start=1):
        if len(p) == 2 and p[0].isupper() and p[1] == ".":
            return i
    return None


def mojibake(text: str, rng: random.Random) -> str:
    # Both real-world flavours: UTF-8 read as cp1252 ("Ã©") and as Shift-JIS ("ﾃｩ").
    raw = text.encode("utf-8")
    codecs = ["cp932", "cp1252"]
    rng.shuffle(codecs)
    for codec in codecs:
        try:
            out = raw.decode(codec)
        except UnicodeDecodeError:
            continue
        if out != text:
            return out
    raise ValueError(f"cannot mojibake {text!r}")


# ---------------------------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------------------------


def hex_rgb(value: str) -> RGB:
    value = value.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _luminance(c: RGB) -> float:
    def chan(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    return 0.2126 * chan(c[0]) + 0.7152 * chan(c[1]) + 0.0722 * chan(c[2])


def contrast(a: RGB, b: RGB) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


INK_DARK: RGB = (26, 26, 26)
INK_LIGHT: RGB = (250, 250, 246)


def ink_for(bg: RGB, preferred: Sequence[RGB] = ()) -> RGB:
    # WCAG AA (4.5) keeps the text readable for OCR engines, not only for people.
    for c in preferred:
        if contrast(c, bg) >= 4.5:
            return c
    return INK_DARK if contrast(INK_DARK, bg) >= contrast(INK_LIGHT, bg) else INK_LIGHT


_FONT_CACHE: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    key = (name, size)
    if key not in _FONT_CACHE:
        # BASIC layout: raqm may or may not be present, and it shifts glyph positions, which
        # would make the OCR boxes differ between machines.
        _FONT_CACHE[key] = ImageFont.truetype(str(FONT_DIR / name), size, layout_engine=ImageFont.Layout.BASIC)
    return _FONT_CACHE[key]


SANS_BOLD = "DejaVuSans-Bold.ttf"
SERIF_BOLD = "DejaVuSerif-Bold.ttf"
SANS = "DejaVuSans.ttf"


@dataclass
class Block:
    lines: list[str]
    font: ImageFont.FreeTypeFont
    fill: RGB

    @property
    def line_height(self) -> int:
        ascent, descent = self.font.getmetrics()
        return ascent + descent

    @property
    def spacing(self) -> int:
        return max(1, round(self.font.size * 0.08))

    @property
    def height(self) -> int:
        n = len(self.lines)
        return n * self.line_height + (n - 1) * self.spacing


def wrap(text: str, fnt: ImageFont.FreeTypeFont, max_w: float) -> list[str] | None:
    lines: list[str] = []
    cur = ""
    for word in text.split():
        if fnt.getlength(word) > max_w:
            return None
        trial = f"{cur} {word}" if cur else word
        if fnt.getlength(trial) <= max_w:
            cur = trial
        else:
            lines.append(cur)
            cur = word
    if cur:
        lines.append(cur)
    return lines


def fit_block(text: str, face: str, max_w: float, start: int, min_size: int, max_lines: int, fill: RGB) -> Block:
    size = start
    while size > min_size:
        lines = wrap(text, font(face, size), max_w)
        if lines is not None and len(lines) <= max_lines:
            return Block(lines, font(face, size), fill)
        size -= 1
    lines = wrap(text, font(face, min_size), max_w) or [text]
    return Block(lines, font(face, min_size), fill)


@dataclass
class Word:
    text: str
    box: tuple[float, float, float, float]


class Canvas:
    def __init__(self, w: int, h: int, bg: RGB) -> None:
        self.w, self.h = w, h
        self.img = Image.new("RGB", (w, h), bg)
        self.draw = ImageDraw.Draw(self.img)
        self.words: list[Word] = []

    def block(self, blk: Block, y: float, x0: float, x1: float, align: str) -> float:
        for line in blk.lines:
            lw = blk.font.getlength(line)
            x = x0 if align == "left" else x0 + (x1 - x0 - lw) / 2
            x = round(x)
            yy = round(y)
            self.draw.text((x, yy), line, font=blk.font, fill=blk.fill)
            # Boxes come from the glyphs actually drawn, so the OCR info matches the pixels.
            pos = 0
            for word in line.split(" "):
                idx = line.index(word, pos)
                wx = x + blk.font.getlength(line[:idx])
                left, top, right, bottom = blk.font.getbbox(word)
                self.words.append(Word(word, (wx + left, yy + top, wx + right, yy + bottom)))
                pos = idx + len(word)
            y += blk.line_height + blk.spacing
        return y - blk.spacing


def _ellipse_points(cx: float, cy: float, rx: float, ry: float, angle: float, n: int = 60) -> list[tuple[float, float]]:
    ca, sa = math.cos(angle), math.sin(angle)
    pts = []
    for i in range(n):
        t = 2 * math.pi * i / n
        x, y = rx * math.cos(t), ry * math.sin(t)
        pts.append((cx + x * ca - y * sa, cy + x * sa + y * ca))
    return pts


def _heart(d: ImageDraw.ImageDraw, cx: float, cy: float, r: float, fill: RGB) -> None:
    d.ellipse([cx - r, cy - r * 0.6, cx, cy + r * 0.4], fill=fill)
    d.ellipse([cx, cy - r * 0.6, cx + r, cy + r * 0.4], fill=fill)
    d.polygon([(cx - r * 0.97, cy), (cx + r * 0.97, cy), (cx, cy + r * 1.15)], fill=fill)


def draw_art(style: str, rng: random.Random, size: tuple[int, int], bg: RGB, acc: list[RGB]) -> Image.Image:
    """Genre-flavoured decoration for the free area between the text blocks."""
    w, h = size
    tile = Image.new("RGB", size, bg)
    d = ImageDraw.Draw(tile)
    a1, a2, a3 = acc[0], acc[1], acc[2]
    m = min(w, h)
    if style == "band":
        top, bot = h * 0.28, h * 0.72
        d.rectangle([0, top, w, bot], fill=a1)
        d.rectangle([0, top - 6, w, top - 3], fill=a2)
        d.rectangle([0, bot + 3, w, bot + 6], fill=a2)
    elif style == "frame":
        x0, x1, y0, y1 = w * 0.2, w * 0.8, h * 0.06, h * 0.94
        d.rectangle([x0, y0, x1, y1], fill=a1, outline=a2, width=3)
        cx = (x0 + x1) / 2
        hr = min(x1 - x0, y1 - y0) * 0.18
        d.ellipse([cx - hr, y0 + (y1 - y0) * 0.25, cx + hr, y0 + (y1 - y0) * 0.25 + 2 * hr], fill=a2)
        d.pieslice([cx - 2.2 * hr, y1 - 1.6 * hr, cx + 2.2 * hr, y1 + 2.4 * hr], 180, 360, fill=a2)
    elif style in ("circles", "bubbles"):
        count = rng.randint(3, 6) if style == "circles" else rng.randint(8, 14)
        for i in range(count):
            r = m * (rng.uniform(0.12, 0.32) if style == "circles" else rng.uniform(0.05, 0.14))
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=acc[i % 3])
    elif style == "sun":
        r = m * 0.28
        cx, cy = w * rng.uniform(0.3, 0.7), h * 0.5
        for k in range(12):
            ang = k * math.pi / 6
            d.line([(cx, cy), (cx + math.cos(ang) * r * 1.8, cy + math.sin(ang) * r * 1.8)], fill=a2, width=4)
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=a1)
    elif style == "bars":
        n = rng.randint(4, 6)
        bw = w * 0.7 / n
        for i in range(n):
            bh = h * (0.2 + 0.7 * (i + 1) / n)
            x = w * 0.15 + i * bw
            d.rectangle([x + 2, h - bh, x + bw - 3, h], fill=a1 if i % 2 else a2)
        d.line([(w * 0.1, h * 0.85), (w * 0.5, h * 0.5), (w * 0.9, h * 0.1)], fill=a3, width=4)
    elif style == "calendar":
        cols, rows = 7, 5
        gx0, gy0, gx1, gy1 = w * 0.08, h * 0.18, w * 0.92, h * 0.95
        d.rectangle([gx0, h * 0.04, gx1, h * 0.14], fill=a2)
        cw, ch = (gx1 - gx0) / cols, (gy1 - gy0) / rows
        for r in range(rows):
            for c in range(cols):
                box = [gx0 + c * cw + 2, gy0 + r * ch + 2, gx0 + (c + 1) * cw - 2, gy0 + (r + 1) * ch - 2]
                d.rectangle(box, fill=a1 if rng.random() < 0.15 else None, outline=a2, width=1)
    elif style == "panels":
        d.rectangle([0, 0, w, h], fill=a3)
        gap = 5
        d.rectangle([gap, gap, w * 0.55, h * 0.5], fill=a1, outline=(0, 0, 0), width=3)
        d.rectangle([w * 0.55 + gap, gap, w - gap, h * 0.5], fill=a2, outline=(0, 0, 0), width=3)
        d.rectangle([gap, h * 0.5 + gap, w - gap, h - gap], fill=bg, outline=(0, 0, 0), width=3)
        d.ellipse([w * 0.15, h * 0.6, w * 0.6, h * 0.85], fill=(255, 255, 255), outline=(0, 0, 0), width=2)
        d.polygon([(w * 0.3, h * 0.83), (w * 0.25, h * 0.95), (w * 0.38, h * 0.84)], fill=(255, 255, 255))
    elif style == "grid":
        step = rng.randint(24, 34)
        for x in range(0, w, step):
            d.line([(x, 0), (x, h)], fill=a3, width=1)
        for y in range(0, h, step):
            d.line([(0, y), (w, y)], fill=a3, width=1)
        pts = [(rng.randrange(0, w, step), rng.randrange(0, h, step)) for _ in range(8)]
        for p, q in itertools.pairwise(pts):
            d.line([p, (q[0], p[1]), q], fill=a1, width=3)
        for x, y in pts:
            d.ellipse([x - 5, y - 5, x + 5, y + 5], fill=a2)
    elif style == "plate":
        cx, cy, r = w / 2, h / 2, m * 0.42
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=a2)
        d.ellipse([cx - r * 0.8, cy - r * 0.8, cx + r * 0.8, cy + r * 0.8], fill=(250, 248, 240))
        d.ellipse([cx - r * 0.5, cy - r * 0.5, cx + r * 0.5, cy + r * 0.5], fill=a1)
        d.rectangle([cx - r * 1.35, cy - r * 0.8, cx - r * 1.2, cy + r * 0.8], fill=a3)
        d.rectangle([cx + r * 1.2, cy - r * 0.8, cx + r * 1.35, cy + r * 0.8], fill=a3)
    elif style == "stripes":
        sw = rng.randint(22, 32)
        for i, x in enumerate(range(-h, w + h, sw * 2)):
            d.polygon([(x, h), (x + sw, h), (x + sw + h, 0), (x + h, 0)], fill=acc[i % 2])
    elif style == "quilt":
        s = max(24, m // 4)
        for yy in range(0, h, s):
            for xx in range(0, w, s):
                c = acc[rng.randrange(3)]
                if rng.random() < 0.5:
                    d.polygon([(xx, yy), (xx + s, yy), (xx, yy + s)], fill=c)
                else:
                    d.rectangle([xx + 2, yy + 2, xx + s - 2, yy + s - 2], outline=c, width=2)
    elif style == "cross":
        cx, cy = w / 2, h / 2
        t = m * 0.08
        for k in range(16):
            ang = k * math.pi / 8
            d.line([(cx, cy), (cx + math.cos(ang) * m, cy + math.sin(ang) * m)], fill=a3, width=2)
        d.rectangle([cx - t, cy - m * 0.42, cx + t, cy + m * 0.42], fill=a1)
        d.rectangle([cx - m * 0.26, cy - m * 0.2 - t, cx + m * 0.26, cy - m * 0.2 + t], fill=a1)
    elif style == "rays":
        cx, cy = w / 2, h * 1.05
        for k in range(9):
            ang = math.pi + k * math.pi / 8
            d.polygon(
                [
                    (cx, cy),
                    (cx + math.cos(ang) * h * 2, cy + math.sin(ang) * h * 2),
                    (cx + math.cos(ang + 0.12) * h * 2, cy + math.sin(ang + 0.12) * h * 2),
                ],
                fill=a3,
            )
        r = m * 0.35
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=a1)
    elif style in ("plus", "pulse"):
        if style == "plus":
            cx, cy, t = w / 2, h / 2, m * 0.13
            d.rectangle([cx - t, cy - m * 0.38, cx + t, cy + m * 0.38], fill=a1)
            d.rectangle([cx - m * 0.38, cy - t, cx + m * 0.38, cy + t], fill=a1)
        ys = h * 0.5
        pts = [
            (0, ys),
            (w * 0.3, ys),
            (w * 0.37, ys - h * 0.3),
            (w * 0.45, ys + h * 0.3),
            (w * 0.52, ys - h * 0.12),
            (w * 0.58, ys),
            (w, ys),
        ]
        d.line(pts, fill=a2, width=4)
    elif style == "skyline":
        r = m * 0.2
        mx, my = w * rng.uniform(0.2, 0.8), h * 0.3
        d.ellipse([mx - r, my - r, mx + r, my + r], fill=a1)
        x = 0.0
        while x < w:
            bw = rng.uniform(w * 0.08, w * 0.18)
            bh = rng.uniform(h * 0.25, h * 0.7)
            d.rectangle([x, h - bh, x + bw, h], fill=(12, 12, 14))
            for wy in range(int(h - bh + 6), h - 6, 10):
                for wx in range(int(x + 4), int(x + bw - 6), 8):
                    if rng.random() < 0.25:
                        d.rectangle([wx, wy, wx + 3, wy + 4], fill=a2)
            x += bw + 2
    elif style == "columns":
        n = 4
        x0, x1 = w * 0.12, w * 0.88
        top, bot = h * 0.3, h * 0.9
        d.polygon([(x0 - 6, top), ((x0 + x1) / 2, h * 0.08), (x1 + 6, top)], fill=a1)
        cw = (x1 - x0) / (2 * n - 1)
        for i in range(n):
            cx0 = x0 + i * 2 * cw
            d.rectangle([cx0, top + 4, cx0 + cw, bot], fill=a1)
        d.rectangle([x0 - 8, bot, x1 + 8, bot + 8], fill=a1)
    elif style == "waves":
        for k in range(rng.randint(3, 5)):
            base = h * (0.2 + 0.18 * k)
            amp = h * rng.uniform(0.04, 0.1)
            ph = rng.uniform(0, math.pi)
            pts = [(x, base + amp * math.sin(x / w * 2 * math.pi * 1.5 + ph)) for x in range(0, w + 4, 4)]
            d.line(pts, fill=acc[k % 3], width=5)
    elif style == "hearts":
        for i in range(rng.randint(2, 4)):
            r = m * rng.uniform(0.15, 0.3)
            _heart(d, rng.uniform(r, w - r), rng.uniform(r, h - r), r, acc[i % 3])
    elif style == "atom":
        cx, cy = w / 2, h / 2
        for k in range(3):
            pts = _ellipse_points(cx, cy, m * 0.45, m * 0.15, k * math.pi / 3)
            d.line([*pts, pts[0]], fill=a1, width=3)
        r = m * 0.08
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=a2)
    elif style == "stars":
        for _ in range(60):
            x, y = rng.uniform(0, w), rng.uniform(0, h)
            s = rng.choice((1, 1, 2))
            d.rectangle([x, y, x + s, y + s], fill=(230, 230, 240))
        r = m * rng.uniform(0.2, 0.3)
        cx, cy = w * rng.uniform(0.3, 0.7), h * rng.uniform(0.35, 0.65)
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=a1)
        pts = _ellipse_points(cx, cy, r * 1.7, r * 0.35, -0.3)
        d.line([*pts, pts[0]], fill=a2, width=3)
    elif style == "mountains":
        r = m * 0.15
        sx, sy = w * rng.uniform(0.2, 0.8), h * 0.3
        d.ellipse([sx - r, sy - r, sx + r, sy + r], fill=a2)
        for k in range(3):
            px = w * rng.uniform(0.1, 0.9)
            ph = h * rng.uniform(0.35, 0.75)
            d.polygon([(px - w * 0.5, h), (px, h - ph), (px + w * 0.5, h)], fill=acc[(k + 2) % 3] if k else a1)
    elif style == "books":
        y = h
        while y > h * 0.2:
            bh = rng.uniform(h * 0.08, h * 0.15)
            inset = rng.uniform(0, w * 0.15)
            c = acc[rng.randrange(3)]
            d.rectangle([w * 0.1 + inset, y - bh, w * 0.9 - inset * 0.5, y - 2], fill=c)
            d.line([(w * 0.15 + inset, y - bh / 2), (w * 0.4, y - bh / 2)], fill=bg, width=2)
            y -= bh
    elif style == "rainbow":
        colors = [(228, 3, 3), (255, 140, 0), (255, 237, 0), (0, 128, 38), (0, 77, 255), (117, 7, 135)]
        cx, cy = w / 2, h * 1.0
        r0 = m * 0.95
        for i, c in enumerate(colors):
            r = r0 - i * m * 0.08
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=c)
        r = r0 - len(colors) * m * 0.08
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=bg)
    elif style == "bridge":
        d.arc([w * 0.05, h * 0.25, w * 0.95, h * 1.4], 180, 360, fill=a1, width=5)
        deck = h * 0.75
        d.rectangle([0, deck, w, deck + 6], fill=a1)
        for x in range(int(w * 0.12), int(w * 0.9), 14):
            d.line([(x, deck), (x, deck - h * 0.35)], fill=a2, width=2)
    return tile


@dataclass
class Rendered:
    image: Image.Image
    words: list[Word]


def render_cover(book: Book, rng: random.Random) -> Rendered:
    spec = GENRES[book.genre]
    if book.year:
        w = rng.randrange(240, 291)
        h = min(480, round(w * rng.uniform(1.0, 1.15)))
    else:
        # Small on purpose: the shipped demo has to stay within a few MB.
        w = rng.randrange(200, 271)
        h = max(300, min(480, round(w * rng.uniform(1.3, 1.56))))
    bg = hex_rgb(rng.choice(spec.bgs))
    accents = [hex_rgb(c) for c in spec.accents]
    rng.shuffle(accents)
    art = rng.choice(spec.art)
    layout = "top" if book.year else rng.choices(("top", "author_top", "panel"), (5, 2, 3))[0]
    align = "left" if rng.random() < 0.2 else "center"
    title_face = SERIF_BOLD if spec.serif else SANS_BOLD
    margin = round(w * 0.08)
    border = rng.random() < 0.3 and spec.serif
    # Calendars are mostly picture, so their text starts smaller.
    title_scale = 0.8 if book.year else 1.0

    title_text = book.title.upper() if book.upper_title else book.title
    author_text = book.author.name.upper() if book.upper_author else book.author.name

    for _attempt in range(8):
        canvas = Canvas(w, h, bg)
        panel_bg = bg
        if layout == "panel":
            panel_bg = rng.choice(((247, 243, 233), (28, 28, 36), (255, 255, 255)))
            if contrast(panel_bg, bg) < 1.4:
                panel_bg = (28, 28, 36) if _luminance(bg) > 0.4 else (247, 243, 233)
        text_bg = panel_bg
        ink = ink_for(text_bg)
        title_ink = ink_for(text_bg, accents)
        inner_w = w - 2 * margin
        title = fit_block(title_text, title_face, inner_w, round(w * 0.14 * title_scale), 14, 4, title_ink)
        sub = fit_block(book.subtitle, SANS, inner_w, max(12, round(w * 0.058)), 10, 3, ink) if book.subtitle else None
        author = fit_block(author_text, SANS_BOLD, inner_w, max(13, round(w * 0.068)), 11, 2, title_ink)
        edition = (
            fit_block(book.edition, SANS_BOLD, inner_w, max(11, round(w * 0.05)), 10, 1, ink)
            if (book.edition)
            else None
        )
        year = year_kind = None
        if book.year:
            year = fit_block(book.year, SANS_BOLD, inner_w, round(w * 0.15), 20, 1, title_ink)
            year_kind = fit_block(book.calendar_kind or "", SANS, inner_w, round(w * 0.065), 11, 2, ink)
        gap = max(6, round(h * 0.025))
        stack = [b for b in (edition, title, sub, year, year_kind) if b is not None]
        stack_h = sum(b.height for b in stack) + gap * (len(stack) - 1)
        art_box: tuple[int, int, int, int] | None
        ok = True
        if layout == "top":
            y = margin
            after_stack = y + stack_h
            ay = h - margin - author.height
            art_box = (0, round(after_stack + gap), w, round(ay - gap))
            ok = art_box[3] - art_box[1] >= 30
        elif layout == "author_top":
            sy = h - margin - stack_h
            art_box = (0, round(margin + author.height + gap), w, round(sy - gap))
            ok = art_box[3] - art_box[1] >= 30
        else:
            pad = round(h * 0.04)
            panel_h = stack_h + gap * 2 + author.height + 2 * pad
            panel_top = h - panel_h
            art_box = (0, 0, w, panel_top)
            ok = panel_top >= h * 0.3
        if ok:
            break
        title_scale *= 0.85
        if title_scale < 0.45:
            layout = "top"
            title_scale = 1.0
    else:
        art_box = None

    full_width = art in ("band", "stripes", "waves", "skyline", "mountains", "rainbow", "rays", "panels")
    if art_box is not None and art_box[3] - art_box[1] >= 30:
        x0, y0, x1, y1 = art_box
        if not full_width and layout != "panel":
            x0, x1 = margin, w - margin
        tile = draw_art(art, rng, (x1 - x0, y1 - y0), bg, accents)
        canvas.img.paste(tile, (x0, y0))
    if border:
        inset = round(margin * 0.4)
        canvas.draw.rectangle([inset, inset, w - inset - 1, h - inset - 1], outline=title_ink, width=2)

    x0, x1 = margin, w - margin
    if layout == "top":
        y = float(margin)
        for b in stack:
            y = canvas.block(b, y, x0, x1, align) + gap
        canvas.block(author, h - margin - author.height, x0, x1, align)
    elif layout == "author_top":
        canvas.block(author, margin, x0, x1, align)
        y = float(h - margin - stack_h)
        for b in stack:
            y = canvas.block(b, y, x0, x1, align) + gap
    else:
        assert art_box is not None
        panel_top = art_box[3]
        canvas.draw.rectangle([0, panel_top, w, h], fill=panel_bg)
        canvas.draw.rectangle([0, panel_top, w, panel_top + 3], fill=accents[0])
        y = float(panel_top + round(h * 0.04))
        for b in stack:
            y = canvas.block(b, y, x0, x1, align) + gap
        canvas.block(author, h - round(h * 0.04) - author.height, x0, x1, align)
    return Rendered(canvas.img, canvas.words)


def ocr_info(words: list[Word], w: int, h: int) -> list[dict[str, object]]:
    out = []
    for word in words:
        x0, y0, x1, y1 = word.box
        out.append(
            {
                "word": word.text,
                "bounding_box": {
                    "width": round((x1 - x0) / w, 6),
                    "height": round((y1 - y0) / h, 6),
                    "top_left_x": round(x0 / w, 6),
                    "top_left_y": round(y0 / h, 6),
                },
            }
        )
    return out


# ---------------------------------------------------------------------------------------------
# Dataset assembly
# ---------------------------------------------------------------------------------------------


def asin(rng: random.Random, taken: set[str]) -> str:
    # ISBN-10 shaped, like the book ASINs in OCR-VQA; an "X" check digit is skipped so the id
    # stays all digits.
    while True:
        digits = [rng.choice((0, 0, 0, 1, 1, 3, 4, 8))] + [rng.randrange(10) for _ in range(8)]
        check = (11 - sum((10 - i) * d for i, d in enumerate(digits)) % 11) % 11
        if check == 10:
            continue
        value = "".join(map(str, digits)) + str(check)
        if value not in taken:
            taken.add(value)
            return value


def make_authors(rng: random.Random, total_books: int) -> list[Author]:
    authors: list[Author] = [Author(n, g, c) for n, g, c in NAMED_AUTHORS]
    for pair in DECOYS:
        authors.extend(Author(n, g, c, kind="decoy") for n, g, c in pair)
    authors.extend(Author(n, "Calendars", c, kind="publisher") for n, c in PUBLISHERS)
    used = sum(a.books for a in authors)
    last_pool = [n for n in LAST_NAMES if n not in RESERVED_LAST]
    rng.shuffle(last_pool)
    genres = [g for g in GENRE_NAMES if g != "Calendars"]
    order: list[str] = []
    while used < total_books:
        if not order:
            order = genres[:]
            rng.shuffle(order)
        books = min(rng.choices((1, 2, 3, 4, 5), (15, 30, 25, 18, 12))[0], total_books - used)
        first = rng.choice(FIRST_NAMES)
        roll = rng.random()
        if roll < 0.36:
            name = f"{first} {rng.choice(string.ascii_uppercase.replace('X', ''))}. {last_pool.pop()}"
        elif roll < 0.41:
            name = f"{first} {rng.choice(MIDDLE_NAMES)} {last_pool.pop()}"
        else:
            name = f"{first} {last_pool.pop()}"
        authors.append(Author(name, order.pop(), books))
        used += books
    return authors


def make_title(spec: GenreSpec, rng: random.Random) -> str:
    pattern = rng.choice(spec.patterns)
    return (
        pattern.format(
            a=rng.choice(spec.a) if spec.a[0] else "",
            n=rng.choice(spec.n),
            m=rng.choice(spec.n),
            k=rng.choice((3, 5, 7, 10, 12, 21, 30, 50, 101)),
        )
        .replace("  ", " ")
        .strip()
    )


def _content_words(text: str) -> set[str]:
    return {w.strip(",.:").lower() for w in text.split() if len(w) > 3}


def make_books(rng: random.Random) -> list[Book]:
    total = sum(SPLITS.values())
    authors = make_authors(rng, total)
    taken_ids: set[str] = set()
    titles: set[str] = set()
    books: list[Book] = []
    for author in authors:
        for _ in range(author.books):
            genre = author.genre
            spec = GENRES[genre]
            for _try in range(200):
                title = make_title(spec, rng)
                content = [w for w in title.lower().split() if len(w) > 3]
                # "Reading and Reading" reads like a generator bug, not like a book.
                if title.lower() not in titles and len(content) == len(set(content)):
                    break
            else:
                raise RuntimeError(f"ran out of titles for {genre}")
            titles.add(title.lower())
            book = Book(image_id=asin(rng, taken_ids), author=author, genre=genre, title=title, subtitle=None)
            if genre == "Calendars":
                book.year = str(rng.choice((2013, 2014, 2014, 2015, 2015, 2016)))
                book.calendar_kind = rng.choice(CALENDAR_KINDS)
            elif rng.random() < spec.subtitle_rate:
                title_words = _content_words(title)
                fitting = [t for t in spec.subtitles if not _content_words(t) & title_words]
                book.subtitle = rng.choice(fitting) if fitting else None
            if genre != "Calendars" and rng.random() < (0.3 if genre in EDITION_GENRES else 0.04):
                book.edition = rng.choice(EDITIONS)
            book.upper_title = rng.random() < 0.25
            book.upper_author = rng.random() < 0.18
            books.append(book)
    rng.shuffle(books)
    start = 0
    for split, n in SPLITS.items():
        for b in books[start : start + n]:
            b.split = split
        start += n
    for b in books:
        b.title_label = b.title_col = b.full_title
        b.author_label = b.author_col = b.author.name
        b.genre_label = b.genre_col = b.genre
    return books


def _unrelated_genres(*genres: str) -> list[str]:
    fams: set[str] = set()
    for g in genres:
        if g in GENRES:
            fams |= GENRES[g].families
    return [g for g in GENRE_NAMES if g not in genres and not (GENRES[g].families & fams)]


def build_qa(book: Book, rng: random.Random) -> None:
    truth = book.genre
    qa: list[tuple[str, str]] = [
        (rng.choice(Q_AUTHOR), book.author_label),
        (Q_TITLE, book.title_label),
        (rng.choice(Q_GENRE), book.genre_label),
    ]
    p = book.problem or {}
    # With a planted genre label, a "Yes" question would either repeat the wrong label or
    # contradict it; only clean "No" questions keep this cover to a single problem.
    genre_planted = p.get("kind") in ("wrong_genre", "genre_unknown") or (
        p.get("kind") == "answer_vs_metadata" and p.get("variant") == "genre"
    )
    unrelated = _unrelated_genres(truth, book.genre_label)
    options: list[tuple[str, str]] = []
    if not genre_planted:
        options.append((related_question(truth), "Yes"))
        if truth in PARAPHRASES:
            options.append((rng.choice(PARAPHRASES[truth]), "Yes"))
    other = rng.choice(unrelated)
    options.append((related_question(other), "No"))
    para_no = [g for g in unrelated if g in PARAPHRASES and g != other]
    if para_no:
        options.append((rng.choice(PARAPHRASES[rng.choice(para_no)]), "No"))
    rng.shuffle(options)
    qa.extend(options[: rng.choice((1, 2, 2))])
    if book.year:
        qa.append((Q_YEAR, book.year))
    elif book.edition and rng.random() < 0.8:
        qa.append((Q_EDITION, book.edition))
    book.questions = [q for q, _ in qa]
    book.answers = [a for _, a in qa]


def _eligible(kind: str, book: Book, touched: set[str]) -> bool:
    a = book.author
    cal = book.genre == "Calendars"
    if (kind in AUTHOR_KINDS or kind == "mojibake_author") and (a.kind != "person" or a.books < 2 or a.name in touched):
        return False
    if kind in ("author_initial_missing", "author_missing_period"):
        return _middle_initial_index(a.name) is not None
    if kind == "author_initial_added":
        return len(a.name.split()) == 2 and a.name.isascii()
    if kind == "author_degree":
        return book.genre in DEGREE_GENRES
    if kind in ("author_casing", "author_double_space"):
        return True
    if kind == "mojibake_author":
        return not a.name.isascii()
    if kind == "mojibake_title":
        return not book.title.isascii() and not cal
    if kind == "title_subtitle_added":
        return not cal and book.subtitle is None and len(book.title) < 40
    if kind in ("title_subtitle_missing", "answer_vs_metadata_title"):
        return not cal and book.subtitle is not None
    if kind == "title_series_parenthetical":
        return book.genre in SERIES
    if kind == "wrong_genre_related":
        return book.genre in RELATED_WRONG_GENRE
    if kind == "genre_unknown":
        return book.genre in UNKNOWN_GENRE
    if kind == "answer_vs_metadata_author":
        return a.kind == "person" and a.name not in touched and len(a.name.split()) >= 2
    return True


def assign_problems(books: list[Book], rng: random.Random) -> list[dict[str, object]]:
    """Pick covers for the planted problems: one problem per cover, spread over the splits."""
    instances: list[str] = [k for k, n in LABEL_PLANTS.items() for _ in range(n)]
    instances.extend(IMAGE_PLANTS)
    rng.shuffle(instances)
    # Pinned kinds first so their author is still free.
    instances.sort(key=lambda k: k not in PINNED)
    total = sum(SPLITS.values())
    split_seq: list[str] = []
    for split, n in SPLITS.items():
        split_seq.extend([split] * round(len(instances) * n / total))
    while len(split_seq) < len(instances):
        split_seq.append("train")
    rng.shuffle(split_seq)

    touched: set[str] = set()
    counts: dict[str, int] = {}
    used: set[str] = set()
    mojibake_targets = ["mojibake_author", "mojibake_title", "mojibake_author", "mojibake_title"]
    avm_variants = ["title", "author", "genre", "title", "author"]
    problems: list[dict[str, object]] = []
    image_splits = itertools.cycle(SPLITS)
    for kind, seq_split in zip(instances, split_seq[: len(instances)], strict=True):
        # Every split gets some broken images, so loaders are exercised on each of them.
        split = next(image_splits) if kind in IMAGE_PLANTS else seq_split
        sub = kind
        variant: str | None = None
        if kind == "mojibake":
            sub = mojibake_targets[counts.get(kind, 0) % len(mojibake_targets)]
            variant = sub.split("_")[1]
        elif kind == "answer_vs_metadata":
            variant = avm_variants[counts.get(kind, 0) % len(avm_variants)]
            sub = f"answer_vs_metadata_{variant}"
        elif kind == "wrong_genre":
            # Every third one is plainly wrong rather than a neighbouring genre.
            variant = "unrelated" if counts.get(kind, 0) % 3 == 2 else "related"
            sub = f"wrong_genre_{variant}"
        elif kind in ("empty_answer", "whitespace"):
            variant = rng.choice(("title", "author", "genre") if kind == "empty_answer" else ("title", "author"))
            sub = f"{kind}_{variant}"

        def ok(b: Book, sub: str = sub) -> bool:
            if b.image_id in used or b.author.kind == "decoy":
                return False
            if sub.endswith("_author") and (b.author.kind != "person" or b.author.name in touched):
                return False
            return _eligible(sub, b, touched)

        first = counts.get(kind, 0) == 0
        if first and kind in PINNED:
            pool = [b for b in books if b.author.name == PINNED[kind] and ok(b)]
        elif first and kind in PINNED_GENRE:
            pool = [b for b in books if b.genre == PINNED_GENRE[kind] and ok(b)]
        else:
            pool = [b for b in books if b.split == split and ok(b)] or [b for b in books if ok(b)]
        if not pool:
            raise RuntimeError(f"no cover left for {sub}")
        book = rng.choice(pool)
        used.add(book.image_id)
        if kind in AUTHOR_KINDS or sub.endswith("_author"):
            touched.add(book.author.name)
        counts[kind] = counts.get(kind, 0) + 1
        prob: dict[str, object] = {"kind": kind, "split": book.split, "image_id": book.image_id}
        if variant:
            prob["variant"] = variant
        book.problem = prob
        problems.append(prob)
    return problems


def apply_label_problem(book: Book, rng: random.Random, example_left: bool) -> bool:
    """Label-level problems change the labels before the QA pairs are written.

    ``example_left`` says whether the OCR-VQA "Magnets" example is still to be placed; the
    updated flag is returned.
    """
    p = book.problem
    if p is None:
        return example_left
    kind = p["kind"]
    name = book.author.name
    if kind in AUTHOR_KINDS or (kind == "mojibake" and p["variant"] == "author"):
        book.upper_author = False  # the cover must show the true spelling and casing
        if kind == "author_initial_missing":
            parts = name.split(" ")
            del parts[_middle_initial_index(name) or 0]
            label, note = " ".join(parts), "label drops the middle initial printed on the cover"
        elif kind == "author_initial_added":
            first, last = name.split(" ")
            label = f"{first} {rng.choice('ABCDEFGHJKLMNPRSTW')}. {last}"
            note = "label adds a middle initial the cover does not print"
        elif kind == "author_missing_period":
            parts = name.split(" ")
            i = _middle_initial_index(name) or 0
            parts[i] = parts[i].rstrip(".")
            label, note = " ".join(parts), "initial without its period"
        elif kind == "author_degree":
            label = rng.choice(
                (f"Dr. {name}", f"{name} M.D.", f"{name}, M.D.", f"{name} PhD", f"{name}, Ph.D.", f"{name} M.A.")
            )
            note = "label carries an academic degree the cover does not print"
        elif kind == "author_casing":
            label, note = name.upper(), "label in capitals"
        elif kind == "author_double_space":
            label, note = name.replace(" ", "  ", 1), "double space inside the name"
        else:
            label, note = mojibake(name, rng), "UTF-8 name decoded with the wrong codec"
        book.author_label = book.author_col = label
        p.update(field="author", label=label, truth=name, note=f"{note}; other books say {name!r}")
    elif kind == "mojibake":
        truth = book.full_title
        label = mojibake(truth, rng)
        book.title_label = book.title_col = label
        p.update(field="title", label=label, truth=truth, note="UTF-8 title decoded with the wrong codec")
    elif kind == "title_subtitle_added":
        truth = book.full_title
        extra = rng.choice([s for s in GENRES[book.genre].subtitles if s != "A Novel"] or ["A Novel"])
        label = f"{truth}: {extra}"
        book.title_label = book.title_col = label
        p.update(field="title", label=label, truth=truth, note=f"subtitle {extra!r} is not on the cover")
    elif kind == "title_subtitle_missing":
        truth = book.full_title
        book.title_label = book.title_col = book.title
        p.update(
            field="title",
            label=book.title,
            truth=truth,
            note=f"cover prints the subtitle {book.subtitle!r}, the label lacks it",
        )
    elif kind == "title_series_parenthetical":
        if book.genre == "Children's Books" and example_left:
            # The example from the OCR-VQA data itself.
            book.title, book.subtitle = "Magnets", "Pulling Together, Pushing Apart"
            series = "Amazing Science"
            example_left = False
        else:
            series = rng.choice(SERIES[book.genre])
        truth = book.full_title
        label = f"{truth} ({series})"
        book.title_label = book.title_col = label
        p.update(field="title", label=label, truth=truth, note=f"series {series!r} is not printed on the cover")
    elif kind == "wrong_genre":
        wrong = (
            RELATED_WRONG_GENRE[book.genre] if p["variant"] == "related" else rng.choice(_unrelated_genres(book.genre))
        )
        book.genre_label = book.genre_col = wrong
        p.update(
            field="genre",
            label=wrong,
            truth=book.genre,
            note="genre label and metadata name a wrong genre; the cover is clearly " + book.genre,
        )
    elif kind == "genre_unknown":
        label = UNKNOWN_GENRE[book.genre]
        book.genre_label = book.genre_col = label
        p.update(field="genre", label=label, truth=book.genre, note="genre outside the 32 Book32 categories")
    elif kind == "answer_vs_metadata":
        variant = p["variant"]
        if variant == "title":
            book.title_label = book.title
            p.update(
                field="title",
                label=book.title,
                truth=book.title_col,
                note="title answer lacks the subtitle that the title column and the cover have",
            )
        elif variant == "author":
            parts = name.split(" ")
            label = f"{parts[-1]}, {' '.join(parts[:-1])}"
            book.author_label = label
            p.update(
                field="author",
                label=label,
                truth=name,
                note="author answer is 'Last, First' while the authorName column is " + repr(name),
            )
        else:
            label = RELATED_WRONG_GENRE.get(book.genre) or rng.choice(_unrelated_genres(book.genre))
            book.genre_label = label
            p.update(field="genre", label=label, truth=book.genre, note="genre answer differs from the genre column")
    return example_left


def apply_answer_problem(book: Book, rng: random.Random) -> None:
    """Answer-level problems damage one written answer; the metadata columns stay right."""
    p = book.problem
    if p is None:
        return
    kind = p["kind"]
    yes_no = [i for i, a in enumerate(book.answers) if a in ("Yes", "No")]
    if kind in ("yes_no_contradiction", "closed_not_yes_no"):
        i = rng.choice(yes_no)
        truth = book.answers[i]
        if kind == "yes_no_contradiction":
            label = "No" if truth == "Yes" else "Yes"
            note = f"contradicts the genre {book.genre!r}"
        else:
            label = rng.choice(("yes", "Yes.", "YES") if truth == "Yes" else ("no", "No.", "NO"))
            note = "closed question not answered with exactly Yes/No"
        book.answers[i] = label
        p.update(field="answer", question=book.questions[i], label=label, truth=truth, note=note)
    elif kind in ("empty_answer", "whitespace"):
        i = {"author": 0, "title": 1, "genre": 2}[str(p["variant"])]
        truth = book.answers[i]
        if kind == "empty_answer":
            label, note = "", "empty answer string"
        else:
            label = rng.choice((f" {truth}", f"{truth} ", f"  {truth} "))
            note = "leading/trailing whitespace in the answer"
        book.answers[i] = label
        p.update(field="answer", question=book.questions[i], label=label, truth=truth, note=note)
    elif kind in AUTHOR_KINDS or kind in (
        "mojibake",
        "title_subtitle_added",
        "title_subtitle_missing",
        "title_series_parenthetical",
        "wrong_genre",
        "genre_unknown",
        "answer_vs_metadata",
    ):
        i = {"author": 0, "title": 1, "genre": 2}[str(p["field"])]
        p["question"] = book.questions[i]
        assert book.answers[i] == p["label"], (book.answers[i], p)


# ---------------------------------------------------------------------------------------------
# Image encoding (including the deliberately odd files)
# ---------------------------------------------------------------------------------------------


def encode_jpeg(img: Image.Image, quality: int, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, optimize=True, progressive=True, **kwargs)
    return buf.getvalue()


def encode_png(img: Image.Image, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True, **kwargs)
    return buf.getvalue()


def encode_image(
    book: Book, rendered: Rendered, rng: random.Random
) -> tuple[bytes, str, int, int, list[Word], str | None]:
    """Return (bytes, extension, width, height, ocr words, note) for a cover."""
    img = rendered.image
    w, h = img.size
    quality = rng.randint(70, 78)
    kind = book.problem["kind"] if book.problem else None
    if kind == "truncated_jpeg":
        data = encode_jpeg(img, quality)
        return data[: len(data) // 2], "jpg", w, h, rendered.words, "JPEG cut after half its bytes"
    if kind == "cmyk_jpeg":
        return encode_jpeg(img.convert("CMYK"), quality), "jpg", w, h, rendered.words, "CMYK JPEG"
    if kind == "palette_transparency":
        pal = img.quantize(colors=48, dither=Image.Dither.NONE)
        idx = pal.getpixel((0, 0))
        return (
            encode_png(pal, transparency=idx),
            "png",
            w,
            h,
            rendered.words,
            "palette PNG whose background colour is transparent (tRNS)",
        )
    if kind == "placeholder_gif":
        gif = Image.new("L", (1, 1), 128)
        buf = io.BytesIO()
        gif.save(buf, "GIF")
        return buf.getvalue(), "gif", 1, 1, [], "1x1 grey placeholder GIF instead of a cover"
    if kind == "la_png":
        la = img.convert("LA")
        return encode_png(la), "png", w, h, rendered.words, "grey + alpha (LA) PNG"
    if kind == "i16_png":
        arr = np.asarray(img.convert("L"), dtype=np.uint16) * 257
        i16 = Image.fromarray(arr)
        return encode_png(i16), "png", w, h, rendered.words, "16-bit greyscale PNG (I;16)"
    if kind == "exif_orientation":
        # Orientation 6 means "rotate 90 degrees clockwise to display", so store it rotated the
        # other way; ImageOps.exif_transpose gives back the upright w x h cover.
        stored = img.transpose(Image.Transpose.ROTATE_90)
        exif = Image.Exif()
        exif[0x0112] = 6
        return (
            encode_jpeg(stored, quality, exif=exif.tobytes()),
            "jpg",
            w,
            h,
            rendered.words,
            "pixels stored rotated with EXIF orientation 6; width/height are the upright size",
        )
    if kind == "not_an_image":
        blob = rng.randbytes(2048 + rng.randrange(2048))
        return blob, "jpg", 0, 0, [], "random bytes, not an image"
    return encode_jpeg(img, quality), "jpg", w, h, rendered.words, None


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def features() -> Features:
    return Features(
        {
            "image": HFImage(),
            "image_id": Value("string"),
            "questions": HFSequence(Value("string")),
            "answers": HFSequence(Value("string")),
            "ocr_tokens": HFSequence(Value("string")),
            "ocr_info": [
                {
                    "word": Value("string"),
                    "bounding_box": {
                        "width": Value("float64"),
                        "height": Value("float64"),
                        "top_left_x": Value("float64"),
                        "top_left_y": Value("float64"),
                    },
                }
            ],
            "title": Value("string"),
            "authorName": Value("string"),
            "genre": Value("string"),
            "image_width": Value("int64"),
            "image_height": Value("int64"),
            "image_url": Value("string"),
            "set_name": Value("string"),
        }
    )


def write_readme(out: Path, problems: list[dict[str, object]]) -> None:
    counts = {k: 0 for k in [*LABEL_PLANTS, *IMAGE_PLANTS]}
    for p in problems:
        counts[str(p["kind"])] += 1
    kinds = "\n".join(f"| `{k}` | {n} |" for k, n in counts.items())
    total = sum(SPLITS.values())
    sizes = f"`train` {SPLITS['train']}, `validation` {SPLITS['validation']}, `test` {SPLITS['test']}"
    text = f"""# VQA Desk demo data

A small synthetic dataset in the exact layout of the Hugging Face dataset
[`howard-hou/OCR-VQA`](https://huggingface.co/datasets/howard-hou/OCR-VQA): one parquet file
per split ({sizes} covers,
{total} in all) with the same columns and Hugging Face features (`image`, `image_id`,
`questions`, `answers`, `ocr_tokens`, `ocr_info`, `title`, `authorName`, `genre`, `image_width`,
`image_height`, `image_url`, `set_name`; `set_name` is `train` / `val` / `test`). Genres are the
32 Book32 categories.

The book covers are drawn by `tools/make_demo.py` with Pillow: genre-flavoured colours and shapes,
a bold title, often a subtitle, the author near the bottom, sometimes an edition line; calendars
print their year. Titles, subtitles and most author names are invented; a few real-looking names
are used on purpose as look-alike decoys. `ocr_tokens` / `ocr_info` are the words exactly as drawn,
with boxes normalised to 0..1 of the image size. Questions use the OCR-VQA templates (title,
author, genre, yes/no genre questions, edition, calendar year), and labels normally equal the
`title` / `authorName` / `genre` columns. The yes/no paraphrases keep OCR-VQA's own wording,
quirks included (`Is this christianity book?`).

## Planted problems

`planted.json` lists every deliberately planted label problem and broken image (id, kind, split,
image_id, question, field, label as stored, truth as shown on the cover, note), the look-alike
author **decoys** that must not be merged, and `author_groups` (canonical author -> image ids).
About {round(100 * len(problems) / total)}% of the covers carry one problem:

| kind | count |
| --- | --- |
{kinds}

Rows with broken images keep their QA pairs; `image.path` has the real extension and
`image_width` / `image_height` give the true size (0 for undecodable bytes).

## Regenerate

    .venv/bin/python tools/make_demo.py --out vqa_desk/resources/demo

The generator is deterministic (seed {SEED}); `tests/core/test_demo_data.py` checks the shipped
files against a fresh run.

## Licence

The data is synthetic and made for this project. The covers are rendered with DejaVu fonts
(`tools/fonts/`, Bitstream Vera licence, DejaVu changes in the public domain; see
`tools/fonts/LICENSE`).
"""
    (out / "README.md").write_text(text, encoding="utf-8")


def generate(out: Path) -> None:
    datasets.disable_progress_bars()
    rng = random.Random(SEED)
    books = make_books(rng)
    problems = assign_problems(books, rng)
    example_left = True
    for book in books:
        example_left = apply_label_problem(book, rng, example_left)
    for book in books:
        build_qa(book, rng)
        apply_answer_problem(book, rng)

    out.mkdir(parents=True, exist_ok=True)
    feats = features()
    rows: dict[str, dict[str, list[Any]]] = {s: {k: [] for k in feats} for s in SPLITS}
    # Rendering uses its own stream so tweaking the artwork never reshuffles labels or problems.
    art_rng = random.Random(SEED + 1)
    for book in books:
        rendered = render_cover(book, art_rng)
        data, ext, w, h, words, note = encode_image(book, rendered, art_rng)
        if note and book.problem is not None:
            book.problem.update(field="image", question=None, label=None, truth=None, note=note)
            book.problem["format"] = ext
        r = rows[book.split]
        r["image"].append({"bytes": data, "path": f"{book.image_id}.{ext}"})
        r["image_id"].append(book.image_id)
        r["questions"].append(book.questions)
        r["answers"].append(book.answers)
        r["ocr_tokens"].append([wd.text for wd in words])
        base_w, base_h = rendered.image.size
        r["ocr_info"].append(ocr_info(words, base_w, base_h))
        r["title"].append(book.title_col)
        r["authorName"].append(book.author_col)
        r["genre"].append(book.genre_col)
        r["image_width"].append(w)
        r["image_height"].append(h)
        r["image_url"].append(f"{URL_PREFIX}{book.image_id}.jpg")
        r["set_name"].append(SET_NAMES[book.split])

    for split, cols in rows.items():
        ds = Dataset.from_dict(cols, features=feats)
        ds.to_parquet(str(out / f"{split}-00000-of-00001.parquet"), batch_size=50)

    split_order = list(SPLITS)
    index = {b.image_id: i for i, b in enumerate(books)}
    problems.sort(key=lambda p: (split_order.index(str(p["split"])), index[str(p["image_id"])]))
    ordered: list[dict[str, object]] = []
    for i, p in enumerate(problems, start=1):
        ordered.append(
            {
                "id": f"P{i:03d}",
                "kind": p["kind"],
                "split": p["split"],
                "image_id": p["image_id"],
                "question": p.get("question"),
                "field": p["field"],
                "label": p.get("label"),
                "truth": p.get("truth"),
                "note": p["note"],
                **({"format": p["format"]} if "format" in p else {}),
            }
        )
    decoys = []
    for pair in DECOYS:
        names = [n for n, _, _ in pair]
        decoys.append(
            {
                "names": names,
                "image_ids": [b.image_id for b in books if b.author.name in names],
                "note": "different people whose names look alike; do not merge",
            }
        )
    groups: dict[str, list[str]] = {}
    for b in books:
        groups.setdefault(b.author.name, []).append(b.image_id)
    planted = {
        "generator": "tools/make_demo.py",
        "seed": SEED,
        "splits": dict(SPLITS),
        "problems": ordered,
        "decoys": decoys,
        "author_groups": dict(sorted(groups.items())),
    }
    (out / "planted.json").write_text(json.dumps(planted, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    write_readme(out, ordered)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    generate(args.out)
    total = sum(f.stat().st_size for f in args.out.iterdir() if f.is_file())
    print(f"wrote {args.out} ({total / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
