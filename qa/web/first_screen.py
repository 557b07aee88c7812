"""The chat's first screen: the collection's name and size, and questions to click.

A newcomer facing an empty chat cannot guess what the articles cover, and a
fixed list of questions goes stale with the first upload. So the examples are
written from the newest articles themselves (one source after another, so a
mixed collection shows its range): a "why" question made from a lead sentence
("France is backing away from ..." → "Why is France backing away from ...?")
and a "who" question for a person the lead introduces with a title or a role.
A question is shown only once the engine has answered it from the article it
came from: a clicked example must never be met with a refusal. That costs one
ask per question tried, so it is done once per index revision and for a bounded
number of candidates (``StarterQuestions``).

No model writes them: plain rules over the text, which the engine then checks.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Sequence, TypeVar

from qa.analysis import full_names_at
from qa.assistant import split_sentences
from qa.errors import QAError

if TYPE_CHECKING:  # values only passed through: importing them would load Chroma
    from qa.assistant import ArticleInfo, IndexStats
    from qa.results import Answer

SHOWN = 3  # example questions on the first screen
TRIED = 8  # asks spent at most per index revision to find them
READ_ARTICLES = 12  # newest articles a question may come from
LEAD_SENTENCES = 8  # sentences of an article's opening read for questions
CONTEXT_CHARS = 20_000  # of the article, read to tell names from common words
MAX_WORDS = 16  # a longer question is cut at a preposition, or not asked
MAX_SUBJECT_WORDS = 8  # "England tight-head prop Phil Vickery has ...": longer is a clause

# Where the clause a question asks about ends: what follows is often the answer
# ("... ruled out of the Six Nations after breaking a bone") or an aside.
_CLAUSE_END = re.compile(
    r"\s*(?:[,;:](?=\s|$)|[(\"“”]|\s[-–—]\s|\s(?:after|because|as|amid|since|following|"
    r"despite|thanks to|due to|in a bid|so that|which|who|while|whereas|but|according to|"
    r"saying|said|says|than expected|and (?:that|this|it|they|he|she|we))\b)"
)
_AUXILIARIES = {"is", "are", "was", "were", "has", "have", "had", "will"}
# fmt: off
# A sentence opening with one of these leans on what came before ("He has said"),
# or opens with a phrase the question would have to carry along ("In the meantime, ...").
_DEPENDENT_OPENERS = {
    "after", "also", "although", "and", "as", "at", "before", "but", "by", "despite",
    "during", "for", "from", "he", "her", "his", "however", "i", "if", "in", "instead", "it",
    "its", "meanwhile", "on", "one", "or", "our", "she", "since", "so", "that", "their",
    "there", "these", "they", "this", "those", "though", "under", "until", "we", "when",
    "where", "while", "who", "why", "what", "how", "with", "yet", "you",
}
# A subject is a noun phrase: one holding these is a clause ("The BBC denied it had ...").
_NOT_A_SUBJECT = {
    "added", "because", "believes", "claimed", "claims", "he", "if", "insists", "it", "said",
    "say", "says", "she", "than", "that", "they", "told", "warned", "we", "when", "which",
    "who",
}
# Where a long question may end: before one of these ("of" and "than" bind to what
# comes before them: "the rest of", "more than").
_PREPOSITIONS = {
    "about", "against", "at", "by", "for", "from", "in", "into", "near", "on", "over",
    "to", "under", "with", "without",
}
_TAKES_TO = {  # "able to use": that "to" belongs to the verb
    "able", "agreed", "are", "be", "been", "decided", "due", "expected", "failed",
    "forced", "going", "had", "has", "have", "is", "likely", "need", "needs", "plan",
    "plans", "ready", "refused", "set", "trying", "unable", "unlikely", "want", "wants",
    "was", "were", "willing",
}
_DETERMINERS = {
    "a", "all", "an", "another", "any", "both", "each", "every", "few", "her", "his", "its",
    "many", "more", "most", "no", "several", "some", "the", "their", "these", "this",
    "those", "two", "three", "four", "five", "ten",
}
# A question does not end on a word that needs the next ("an", "increasingly", "able").
_DANGLING = _PREPOSITIONS | _DETERMINERS | {
    "able", "and", "been", "being", "believed", "due", "expected", "going", "increasingly",
    "less", "likely", "of", "or", "said", "set", "so", "than", "thought", "too", "try",
    "unable", "very",
}
# Words that introduce a person ("Prime Minister Tony Blair", "Wales coach Mike Ruddock").
_TITLES = {
    "archbishop", "bishop", "boss", "captain", "chairman", "chancellor", "chief", "coach",
    "commissioner", "dame", "defence", "deputy", "director", "dr", "foreign", "former",
    "general", "governor", "health", "home", "interior", "judge", "king", "lady", "lord",
    "manager", "minister", "mp", "mr", "mrs", "ms", "pope", "premier", "president", "prime",
    "prince", "princess", "professor", "queen", "secretary", "senator", "shadow", "sir",
}
# fmt: on
T = TypeVar("T")
# Capitalised even before a common noun: "China's national airline", "French police".
_NAME_LIKE = re.compile(r"(?:['’]s?|ish|ese|ian|an|ch|i|ic)$")
_PERSON_WORD = re.compile(r"[A-Z][a-z]+(?:['’-][A-Z]?[a-z]+)*")


@dataclass(frozen=True)
class Candidate:
    """A question written from one article, to be asked before it is shown."""

    question: str
    article_id: str


def candidate_questions(
    articles: Sequence[tuple[ArticleInfo, str]], limit: int = TRIED
) -> list[Candidate]:
    """Up to ``limit`` questions from ``articles`` (newest first), best first.

    Each article's own best question comes before any article's second one, and
    the articles take turns by source, so three examples are rarely about one story.
    """
    by_source: dict[str, list[tuple[ArticleInfo, str]]] = {}
    for info, text in articles:
        by_source.setdefault(info.source.casefold(), []).append((info, text))
    turns = _interleave(by_source.values())
    written = [[Candidate(q, info.id) for q in questions_from(text)] for info, text in turns]
    found: list[Candidate] = []
    seen: set[str] = set()
    for candidate in _interleave(written):
        key = candidate.question.casefold()
        if key not in seen:
            seen.add(key)
            found.append(candidate)
        if len(found) >= limit:
            break
    return found


def questions_from(text: str) -> list[str]:
    """The questions a reader of the article's opening might ask, in the order the
    article raises them: "why" questions from its sentences, "who is" for the people
    it introduces, taking turns."""
    context = text[:CONTEXT_CHARS]
    opening = [text[a:b] for a, b in split_sentences(text[:5000])][:LEAD_SENTENCES]
    why = [q for q in (why_question(s, context) for s in opening) if q]
    who = [f"Who is {name}?" for name in introduced_people(" ".join(opening), context)]
    return list(dict.fromkeys(_interleave([why, who])))


def why_question(sentence: str, text: str = "") -> str | None:
    """ "Qantas has posted a record profit thanks to cost-cutting." → "Why has Qantas
    posted a record profit?": the subject and its auxiliary swapped, the clause cut
    where its reason or an aside begins. None when the sentence has no such shape;
    ``text``, the whole article, tells a name ("France") from a common word ("The")."""
    words = sentence.split()
    if (
        len(words) < 4
        or not words[0][:1].isupper()
        or words[0].lower() in _DEPENDENT_OPENERS
        or sentence.rstrip("\"”’' ").endswith("?")  # the article asks it itself
    ):
        return None
    aux = next((i for i, w in enumerate(words[: MAX_SUBJECT_WORDS + 1]) if w in _AUXILIARIES), None)
    if not aux or aux + 1 == len(words) or words[aux - 1] == "to":
        return None  # "appears to have done": no auxiliary to swap
    subject, verb, following = words[:aux], words[aux], words[aux + 1].lower()
    if any(
        re.search(r"[,;:()\"“”]", w)
        or w.lower() in _NOT_A_SUBJECT
        or (w.islower() and w.endswith("ed"))  # "The BBC denied ...": a verb
        for w in subject
    ):
        return None
    if verb in ("has", "have", "had") and (following in _DETERMINERS or following == "to"):
        return None  # "has no plans", "had to wait": a verb of its own, nothing to swap
    rest = " ".join(words[aux + 1 :])
    end = _CLAUSE_END.search(rest)
    predicate = (rest[: end.start()] if end else rest).rstrip(" .!?").split()
    question = ["Why", verb, _subject_case(subject[0], subject, text), *subject[1:]]
    kept = _fitted(predicate, MAX_WORDS - len(question))
    return " ".join([*question, *kept]) + "?" if kept else None


def introduced_people(text: str, whole: str = "") -> list[str]:
    """Full names ``text`` introduces as people: after a title ("President Emmanuel
    Macron"), set off by commas ("the man in charge of border security, Martin Hewitt,
    has ..."), or after a role when ``whole`` (the article) names them again by
    surname ("singer Pete Doherty" ... "Doherty said")."""
    people: list[str] = []
    for start, run in full_names_at(text):
        words = run.split()
        name = " ".join(words[-2:])
        if not all(_PERSON_WORD.fullmatch(w) for w in words[-2:]) or name in people:
            continue
        at = text.find(run, start)  # the run without the words that lead it ("The")
        if at < 0:
            continue
        before, after = text[:at].rstrip(), text[at + len(run) :].lstrip()
        previous = before.split()[-1] if before.split() else ""
        if len(words) > 2:  # "Prime Minister Sir Keir Starmer": all but the name are titles
            titled = all(w.lower() in _TITLES for w in words[:-2])
        else:  # "coach Mike Ruddock"
            titled = previous.lower() in _TITLES
        aside = before.endswith(",") and after.startswith(",") and len(words) == 2
        role = re.fullmatch(r"[a-z-]+", previous) is not None and previous not in _DANGLING
        if titled or aside or (role and len(words) == 2 and _named_again(words[-1], whole)):
            people.append(name)
    return people


def _named_again(surname: str, text: str) -> bool:
    """The surname alone, as news writes a person the second time ("Mr Blair said")."""
    name = re.escape(surname)
    return bool(
        re.search(rf"\b(?:Mr|Mrs|Ms|Miss|Dr|Sir)\.? {name}\b", text)
        or re.search(rf"\b{name}(?:['’]s)? (?:said|says|told|added|insisted|admitted)\b", text)
        or re.search(rf"\b(?:said|says) {name}\b", text)
    )


def _fitted(predicate: list[str], room: int) -> list[str] | None:
    """The predicate within ``room`` words, cut before a preposition when too long
    (not inside "able to" or "the rest of"), and not ending on a word that needs
    the next: None when it cannot be."""
    if len(predicate) > room:
        cuts = [
            i
            for i in range(3, room + 1)
            if predicate[i].lower() in _PREPOSITIONS
            and not (predicate[i].lower() == "to" and predicate[i - 1].lower() in _TAKES_TO)
        ]
        if not cuts:
            return None
        predicate = predicate[: cuts[-1]]
        if predicate[-2].lower() == "and":
            return None  # "selling non-core businesses and focusing"
    if not predicate or predicate[-1].lower() in _DANGLING:
        return None
    if len(predicate) == 1 and not re.fullmatch(r"[a-z]+(?:ed|en)", predicate[0]):
        return None  # one word: "Why has the strike ended?", not "Why is France backing?"
    return predicate


def _subject_case(word: str, subject: list[str], text: str) -> str:
    """The subject's first word, no longer first: a name keeps its capital ("France",
    "China's"), a common word loses it ("The", "Rock singer Pete Doherty")."""
    lower = word.lower()
    if lower in _DETERMINERS:
        return lower
    if word.isupper() or re.search(rf"[a-z,]\s+{re.escape(word)}\b", text):
        return word  # written capitalised inside a sentence: a name
    singular = lower[:-1] if lower.endswith("s") else lower
    if re.search(rf"\b(?:{re.escape(lower)}|{re.escape(singular)})\b", text):
        return lower  # written in lower case elsewhere ("Mobiles": "mobile")
    if len(re.findall(rf"\b{re.escape(word)}\b", text)) > 1:
        return word  # never written in lower case, and not only at the start
    if len(subject) > 1 and subject[1][:1].islower() and not _NAME_LIKE.search(word):
        return lower  # "Disgraced former Chelsea striker ...", not "French stock market ..."
    return word


def _interleave(groups: Iterable[Sequence[T]]) -> list[T]:
    """The first of each group, then the second of each, and so on."""
    rows = [list(g) for g in groups]
    return [row[i] for i in range(max(map(len, rows), default=0)) for row in rows if i < len(row)]


def answered_from(answer: Answer, candidate: Candidate) -> bool:
    """The engine answered the question, quoting the article it was written from."""
    return answer.grounded and any(c.article_id == candidate.article_id for c in answer.citations)


class StarterQuestions:
    """The examples, worked out once per index revision and shared by every page load.

    The parts of the engine it needs are given (``qa.web.ui`` passes the
    Assistant's), so the rules above are tested without a model.
    """

    def __init__(
        self,
        ask: Callable[[str], Answer],
        articles: Callable[[int], Sequence[tuple[ArticleInfo, str]]],
        revision: Callable[[], int],
        shown: int = SHOWN,
        tried: int = TRIED,
    ) -> None:
        self._ask, self._articles, self._revision = ask, articles, revision
        self.shown, self.tried = shown, tried
        self._lock = threading.Lock()
        self._cached: tuple[int, list[str]] | None = None

    def ready(self) -> list[str] | None:
        """The examples if they are worked out for the index as it is now, else None."""
        cached, revision = self._cached, self._revision()
        return cached[1] if cached and cached[0] == revision else None

    def questions(self) -> list[str]:
        """The examples for the index as it is now; at most ``tried`` asks the first time."""
        with self._lock:  # two first page loads: one works, the other waits and reuses
            revision = self._revision()
            if self._cached is None or self._cached[0] != revision:
                self._cached = (revision, self._work_out())
            return list(self._cached[1])

    def _work_out(self) -> list[str]:
        kept: list[str] = []
        for candidate in candidate_questions(self._articles(READ_ARTICLES), self.tried):
            try:
                answer = self._ask(candidate.question)
            except QAError:  # e.g. a configured model that is down: try the next one
                continue
            if answered_from(answer, candidate):
                kept.append(candidate.question)
                if len(kept) == self.shown:
                    break
        return kept


def heading(collection: str, stats: IndexStats) -> str:
    """ "**default** · 2 articles, 14 passages", as Markdown."""
    return (
        f"**{_markdown_text(collection)}** · {_count(stats.articles, 'article')}, "
        f"{_count(stats.chunks, 'passage')}"
    )


def placeholder(collection: str, stats: IndexStats, examples: list[str] | None) -> str:
    """What the empty chat says above its examples (``None``: still being worked out)."""
    top = heading(collection, stats)
    if not stats.articles:
        return f"{top}\n\nNo articles yet: once some are added, ask about them here."
    if examples is None:
        return f"{top}\n\nFinding questions to try…"
    if not examples:
        return f"{top}\n\nAsk a question about the articles."
    return f"{top}\n\nAsk a question about the articles, or try one of these:"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _markdown_text(text: str) -> str:
    """``text`` shown as itself in Markdown (a collection named "my_news" or "<b>")."""
    return re.sub(r"([\\`*_{}\[\]()<>#+!|~-])", r"\\\1", text)
