"""Words, names and sentences as every part of Article QA reads them.

Words as the lexical index and the reader compare them (lower case, no stop
words, stemmed); capitalised names and the key words a question turns on;
a written answer's sentences with their [n] marks. One module because the
BM25 index, the reader, the conversation rules and the verifier must share
one notion of each, and none of them may depend on another.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

_WORD = re.compile(r"[a-z0-9]+")
# fmt: off
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
# fmt: on
QUESTION_STOP_WORDS = {
    "s",
    "t",
    "did",
    "does",
    "do",
    "what",
    "who",
    "whom",
    "which",
    "when",
    "where",
    "why",
    "how",
    "has",
    "have",
    "had",
    "been",
    "he",
    "she",
    "his",
    "her",
    "its",
}


class Analyzer:
    """Lower-case words, English stop words removed, Snowball-stemmed."""

    def __init__(self) -> None:
        import Stemmer
        from bm25s.stopwords import STOPWORDS_EN

        self._stem = Stemmer.Stemmer("english").stemWords
        self._stop = set(STOPWORDS_EN) | QUESTION_STOP_WORDS

    def terms(self, text: str) -> list[str]:
        words = [w for w in _WORD.findall(text.lower()) if w not in self._stop]
        return self._stem(words) if words else []


@lru_cache(maxsize=1)
def shared_analyzer() -> Analyzer:
    return Analyzer()


# Each run of spaces can match one way only (no "\s+ x? \s*"), so matching stays linear.
_NAME_RUN = re.compile(
    r"(?<![\w'’])[A-Z][\w'’.-]*[A-Za-z](?:[ \t]+(?:(?:of|de|la|von|van|al)[ \t]+)?"
    r"[A-Z][\w'’.-]*[A-Za-z])+"
)
# Question words, auxiliaries, articles and pronouns: never part of a name or a topic.
# fmt: off
FUNCTION_WORDS = frozenset({
    "a", "an", "and", "are", "at", "but", "can", "could", "did", "do", "does", "for", "had",
    "has", "have", "how", "i", "in", "is", "it", "its", "me", "of", "on", "please",
    "should", "so", "tell", "that", "the", "then", "there", "this", "was", "were", "what",
    "when", "where", "which", "who", "whom", "whose", "why", "will", "with", "would",
})
_LEADING_WORDS = FUNCTION_WORDS | {
    "after", "as", "before", "by", "dr", "former", "from", "if", "mr", "mrs", "ms", "new",
    "these", "those", "while",
}
# fmt: on


# "Juan Carlos Ferrero's world ranking": the name is "Juan Carlos Ferrero".
# A capitalised word ("Macron", "O'Brien", "Anglo-French"): a candidate name.
CAPITALISED = re.compile(r"(?<![\w'’])[A-Z][\w'’-]*[A-Za-z]")
_MARKS_THEN_END = re.compile(r"((?:\s*\[[\d,\s]+\])+)\s*([.!?]+)")
_WRITTEN_SENTENCE = re.compile(r".+?[.!?]+(?:\s*\[[\d,\s]+\])*(?=\s|$)|.+$", re.S)


def written_sentences(text: str) -> list[str]:
    """A written answer's sentences with their [n] marks attached ("x [1]." is read
    as "x. [1]"). Article text is split by ``qa.index.chunking.split_sentences`` instead,
    into offsets, since quotes must point into the article."""
    text = _MARKS_THEN_END.sub(r"\2\1", text.strip())
    return [s.strip() for s in _WRITTEN_SENTENCE.findall(text) if s.strip()]


_POSSESSIVE = re.compile(r"['’]s?\.?$")


def full_names(text: str) -> list[str]:
    """Names of two or more capitalised words ("Martin Hewitt"), question words dropped.

    Linear in the text: one regex pass whose runs cannot overlap.
    """
    return [name for _, name in full_names_at(text)]


def full_names_at(text: str) -> list[tuple[int, str]]:
    """``full_names`` with where each run starts in ``text``, in order."""
    names = []
    for match in _NAME_RUN.finditer(text[:2000]):
        words = match.group().split()
        while words and words[0].lower() in _LEADING_WORDS:
            words = words[1:]
        while words and words[-1].lower().strip("'’") in _LEADING_WORDS:
            words = words[:-1]
        if len(words) >= 2:
            names.append((match.start(), _POSSESSIVE.sub("", " ".join(words)).rstrip(".")))
    return names


_KEY_WORD = re.compile(r"(?<![\w'’])(?:[A-Z][\w'’.-]*[A-Za-z]|\d[\d,.]*\d|\d)")


def key_words(question: str) -> list[str]:
    """The question's capitalised words and numbers, past its first word ("Which
    hospital treated Kenteris in 2004?" → "Kenteris", "2004"), possessives cut.

    A passage that lacks them is about something else, whatever else it shares.
    """
    text = question.strip()[:2000]
    first = re.match(r"\S*", text)
    words = [m.group() for m in _KEY_WORD.finditer(text, first.end() if first else 0)]
    words = [re.sub(r"['’]s?$", "", w).rstrip(".") for w in words]
    return [w for w in words if w and w.lower() not in _LEADING_WORDS]


_WHO_IS_NAME = re.compile(r"\s*[Ww]ho\s+(?:is|was|are|were)\s+([^?]{1,200}?)\s*\??\s*$")


def asks_who_someone_is(question: str) -> bool:
    """ "Who is Martin Hewitt?": asks what a named person is, not for a name.

    Only the name follows the verb: "Who is Matt Stevens replacing?" asks for one.
    """
    match = _WHO_IS_NAME.match(question[:300])
    return match is not None and match.group(1) in full_names(match.group(1))


def contains_phrase(text: str, phrase: str) -> bool:
    """Whole-word, case-insensitive, any white space between the words."""
    words = [re.escape(w) for w in phrase.lower().split()]
    return bool(words) and re.search(r"\b" + r"\s+".join(words) + r"\b", text.lower()) is not None


def asked_names(question: str) -> set[str]:
    """The full names a question gives, also without leading titles.

    "President Emmanuel Macron" is also looked for as "Emmanuel Macron".
    """
    variants = set()
    for name in full_names(question):
        words = name.split()
        variants.add(name)
        if len(words) > 2:
            variants.add(" ".join(words[-2:]))
    return variants


def with_topic(question: str, topic: Sequence[str]) -> str:
    """A follow-up made standalone by the earlier topic's words in brackets after it:
    "Who runs the company? (Eurotunnel's sales last year)". ``asked_part`` undoes it."""
    return f"{question} ({' '.join(topic)})" if topic else question


def asked_part(question: str) -> str:
    """The question without the bracketed topic ``with_topic`` added, else the question.

    Retrieval needs the topic to find the story; the sentence that answers need
    not repeat it ("What will Crystal Palace do about it?").
    """
    text = question.rstrip()
    opening = text.rfind("(")
    if not text.endswith(")") or opening < 0 or ")" in text[opening:-1]:
        return question
    asked = text[:opening].rstrip()
    return asked if asked.endswith("?") else question
