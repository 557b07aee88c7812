"""The conversation: what an earlier exchange tells the next question.

Two things, both without an LLM:

- **condensing** rewrites a follow-up that points back ("What happened after
  he left the ministry?", "Why did they back away?", "What was its focus?")
  into a standalone question:
  - "he/she/him/his/her" becomes the person the last exchange was about: the
    name the previous answer gave when the previous question asked "who" or
    "which" (a full name, or a one-word name a sentence opens by describing:
    "C-Murder, a former member of..."), else the name in the previous question
    ("Bruno Retailleau");
  - "they/them/their" becomes the name the previous answer gave to a who/which
    question, else the previous question's main name ("France"). When that
    answer gave several names ("Kostas Kenteris and Katerina Thanou"), "they"
    is not one of them: the pronoun stays and the names join the topic ("Who
    was their coach? (Kostas Kenteris Katerina Thanou Greek sprinters cleared
    doping)"), so a relevance model still matches "The pair's former coach,
    Christos Tzekos" (a name it does not find in a sentence weighs heavily
    against it: the cross-encoder the readers once had gave -7.8 with "Kostas
    Kenteris's coach", 7.2 with "their coach");
  - otherwise, or when nothing was replaced, the previous question's key words
    are appended, so the earlier topic is kept ("(summit last July)"); this
    also holds for a follow-up that names nothing itself ("Who runs the
    company?"). For "it/its" the thing the last exchange was about goes first
    among them: the name the previous answer gave to a "which" question
    ("Which US state..." → "Texas"), else the name a "who" question asked
    about ("Who is directing the Da Vinci Code film?" → "Da Vinci Code"),
    never a person. Beside the topic, not in place of "it": "How much was
    it?" after "Which exchange did they bid for?" asks about the bid;
  - the previous question is itself read condensed, so a third turn's "him"
    can be the person the second turn's answer named ("Who is he replacing?"
    → "Phil Vickery").
- **focus**: the sentences the previous answer quoted, for a follow-up that
  leans on the conversation. Retrieval favours the article they came from
  and the reader reads that article first: a follow-up is usually about the
  same story ("How much does it cost?" after "Sun Microsystems has launched a
  pay-as-you-go service"), whose words it need not repeat. The reader puts
  the sentences already quoted last, as long as a new one is likely enough
  to answer: "Which other films has she starred in?" asks for news.

Every pattern here is linear in its input and inputs are cut to a bounded
length first.
"""

from __future__ import annotations

import re
from typing import Sequence

from qa.analysis import (
    CAPITALISED,
    FUNCTION_WORDS,
    MONTHS,
    asks_who_someone_is,
    full_names,
    full_names_at,
    with_topic,
)

Message = dict[str, str]
MAX_CONTEXT_CHARS = 2000  # of each earlier message read for referents
MAX_CHAINED_TURNS = 3  # earlier questions condensed in turn, so referents carry over
# fmt: off
_QUESTION_WORDS = FUNCTION_WORDS | {
    "about", "be", "been", "he", "her", "his", "many", "much", "said", "say", "she",
    "their", "them", "they", "to",
}
# fmt: on
_PERSON = re.compile(r"\b(he|she|him)\b", re.I)
_PERSON_POSSESSIVE = re.compile(r"\b(his|her)\b", re.I)
_GROUP = re.compile(r"\b(they|them)\b", re.I)
_GROUP_POSSESSIVE = re.compile(r"\b(their)\b", re.I)
_THING = re.compile(r"\b(it|its)\b", re.I)
_REFERENCE = re.compile(
    r"\b(he|she|they|him|them|his|her|hers|their|it|its|this|that|"
    r"these|those|there|then|the same)\b",
    re.I,
)
_MARK = re.compile(r"\[\d+\]")
_MARK_SPLIT = re.compile(r"\s*\[\d+\]\s*")
MAX_FOCUS_QUOTES = 3  # of the previous answer's quotes, looked up in the index
MIN_QUOTE_CHARS = 20  # shorter pieces are too unspecific to find their article by
_ORGANISATION = re.compile(
    r"\b(University|College|School|Party|Company|Corporation|Bank|Group|"
    r"Council|Ministry|Department|Office|Association|Federation|Union|"
    r"Club|League|Court|Commission|Agency|Board|Inc|Ltd|Plc|Centre|Center|"
    r"Institute|Foundation|Trust|Society|Committee|Fund|Authority)\b"
)
_WORD = re.compile(r"[\w'’-]+")


def condense(question: str, history: Sequence[Message]) -> str:
    """A standalone version of ``question`` given the earlier messages."""
    previous_question, previous_answer = "", ""
    for earlier, answer in _exchanges(history)[-MAX_CHAINED_TURNS:]:
        previous_question = _condense_once(earlier, previous_question, previous_answer)
        previous_answer = answer
    return _condense_once(question, previous_question, previous_answer)


def leans_on_history(question: str, history: Sequence[Message]) -> bool:
    """Whether ``question`` points back at the conversation ("Why did they...?",
    "Who runs the company?") rather than starting a new subject."""
    return bool(_exchanges(history)) and _leans(question)


def _leans(question: str) -> bool:
    return bool(_REFERENCE.search(question)) or _names_nothing(question)


def _condense_once(question: str, previous_question: str, previous_answer: str) -> str:
    if not previous_question or not _leans(question):
        return question
    person = _person(previous_question, previous_answer)
    answered = _answered_names(previous_question, previous_answer)
    group = answered[0] if answered else _main_name(previous_question)
    thing = _thing(previous_question, previous_answer)
    keywords = [w for w in _WORD.findall(previous_question) if w.lower() not in _QUESTION_WORDS]
    if len(answered) > 1 and (_GROUP.search(question) or _GROUP_POSSESSIVE.search(question)):
        return with_topic(question, [*answered, *keywords])  # "they" are all of them
    for pattern, referent, possessive in (
        (_PERSON, person, False),
        (_PERSON_POSSESSIVE, person, True),
        (_GROUP, group, False),
        (_GROUP_POSSESSIVE, group, True),
    ):
        if referent and referent.lower() not in question.lower() and pattern.search(question):
            return pattern.sub(f"{referent}'s" if possessive else referent, question, count=1)
    if thing and not _mentions(question, thing) and not _mentions(previous_question, thing):
        if _THING.search(question):
            keywords = [thing, *keywords]  # beside the topic: "it" may be the bid, not the exchange
    return with_topic(question, keywords)


def _mentions(text: str, name: str) -> bool:
    return name.lower() in text.lower()


def _names_nothing(question: str) -> bool:
    """No capitalised word past the first: "Who runs the company?" leans on the conversation."""
    return not CAPITALISED.findall(question.strip()[1:])


def _exchanges(history: Sequence[Message]) -> list[tuple[str, str]]:
    """Each user question with the answer that followed it ("" if none), bounded."""
    exchanges: list[tuple[str, str]] = []
    for message in history:
        if message.get("role") == "user":
            exchanges.append((message.get("content", "")[:MAX_CONTEXT_CHARS], ""))
        elif message.get("role") == "assistant" and exchanges:
            answer = _MARK.sub("", message.get("content", ""))[:MAX_CONTEXT_CHARS]
            exchanges[-1] = (exchanges[-1][0], answer)
    return exchanges


def _thing(question: str, answer: str) -> str:
    """What "it" is: the name answering a "which" question, else a "who" question's subject.

    Never the person a "who" question was answered with: "it" is not a person.
    """
    if re.match(r"\s*which\b", question, re.I):
        named = _answered_name(question, answer) or _answered_word(question, answer)
        if named:
            return named
    if re.match(r"\s*(who|whom)\b", question, re.I):
        return _main_name(question)
    return ""


def _answered_word(question: str, answer: str) -> str:
    """A one-word name the answer gives that the question does not ("Texas"),
    skipping each sentence's first word (capitalised whatever it is)."""
    asked = question.lower()
    for sentence in re.split(r"(?<=[.!?])\s+", answer):
        for match in CAPITALISED.finditer(sentence):
            word = match.group()
            if match.start() > 0 and word.lower() not in _QUESTION_WORDS | set(MONTHS):
                if word.lower() not in asked:
                    return word
    return ""


def _answered_name(question: str, answer: str) -> str:
    """The first name the answer gave to a who/which question, or "".

    Not for "Who is Martin Hewitt?": that exchange is about the name asked.
    """
    names = _answered_names(question, answer)
    return names[0] if names else ""


def _answered_names(question: str, answer: str) -> list[str]:
    """Every name the answer gave to a who/which question, in order (a person first
    for "who"), each once; none for "Who is Martin Hewitt?"."""
    if asks_who_someone_is(question):
        return []
    if answer and re.match(r"\s*(who|whom|which)\b", question, re.I):
        names = [_without_echo(n, question) for n in _names_in_order(answer)]
        names = [n for n in names if n and n.lower() not in question.lower()]
        if re.match(r"\s*(who|whom)\b", question, re.I):  # a person, not "Stanford University"
            names.sort(key=lambda n: bool(_ORGANISATION.search(n)))
        else:  # "Which US bank...?": the name the answer gives after "bank" ("US bank Wells Fargo")
            head = _asked_noun(question)
            names.sort(key=lambda n: not (head and _named_after(n, head, answer)))
        return list(dict.fromkeys(names))
    return []


_WHICH_NOUN = re.compile(
    r"^\s*(?i:(?:in |at |from |to |of |for )?which)\s+(?:[A-Z][\w'’-]*\s+)*"
    r"(?:(?:two|three|four|five|several|other)\s+)?([a-z][\w-]*)\b"
)


def _asked_noun(question: str) -> str:
    """The noun a which-question asks about: "Which US bank did..." → "bank"."""
    match = _WHICH_NOUN.match(question[:300])
    word = match.group(1) if match else ""
    return "" if word in _QUESTION_WORDS else word


def _named_after(name: str, noun: str, answer: str) -> bool:
    """Whether the answer puts ``name`` right after ``noun`` ("bank Wells Fargo",
    "bank, Wells Fargo", "banks such as Wells Fargo"), a word or two between at most."""
    pattern = rf"\b{re.escape(noun)}\w{{0,2}}\b[\s,]+(?:\S+\s+){{0,2}}?{re.escape(name)}"
    return re.search(pattern, answer[:MAX_CONTEXT_CHARS], re.I) is not None


# A sentence that opens with a one-word name and a description of it: "C-Murder, a
# former member of rap group Tru, was filmed...". The description ends at a comma.
_DESCRIBED_SUBJECT = re.compile(
    r"(?:^|(?<=[.!?])\s+)[\"'“‘]?([A-Z][\w'’-]*[A-Za-z0-9]), (?:a|an|the|who|whose) [^,.;!?]{1,80},"
)
# Words that open a sentence with a comma after them but name nothing ("However, the...").
# fmt: off
_SENTENCE_ADVERBS = frozenset({
    "also", "besides", "earlier", "elsewhere", "finally", "however", "indeed", "instead",
    "later", "meanwhile", "nevertheless", "nonetheless", "now", "overall", "still", "today",
    "tomorrow", "yesterday", "yet",
})
# fmt: on
_NOT_DESCRIBED = _SENTENCE_ADVERBS | _QUESTION_WORDS | frozenset(MONTHS)


def _names_in_order(answer: str) -> list[str]:
    """The answer's full names and the one-word names its sentences open by describing
    ("C-Murder, a former member of..."), in the order the answer gives them.

    Without the second kind, "What is his real name?" after "Which rapper filmed a
    video in prison?" took "Y'all Heard" (his single's title) for the rapper.
    """
    found = full_names_at(answer)
    for match in _DESCRIBED_SUBJECT.finditer(answer[:MAX_CONTEXT_CHARS]):
        word = match.group(1)
        lowered = word.lower()
        if lowered.endswith("ly") or lowered in _NOT_DESCRIBED:
            continue
        found.append((match.start(1), word))
    return [name for _, name in sorted(found)]


def _without_echo(name: str, question: str) -> str:
    """The name without a first word that only echoes the question's noun: "Which
    Greek sprinters...?" answered by "Sprinters Kostas Kenteris and..." names
    "Kostas Kenteris". A name left with one word is no full name ("")."""
    first, _, rest = name.partition(" ")
    if re.search(rf"\b{re.escape(first.lower())}\b", question.lower()) and first[1:].islower():
        return rest if " " in rest else ""
    return name


def conversation_focus(question: str, history: Sequence[Message]) -> tuple[str, ...]:
    """The previous answer's quotes when ``question`` leans on the conversation, else none:
    a new subject in the same chat is not pulled back to the last story."""
    return previous_quotes(history) if leans_on_history(question, history) else ()


def previous_quotes(history: Sequence[Message]) -> tuple[str, ...]:
    """The passages the last answer quoted: its text before each [n] mark, in order.

    A refusal quotes nothing; a generated answer's sentences are its own words,
    which retrieval then simply does not find in any article.
    """
    answer = ""
    for message in history:
        if message.get("role") == "user":
            answer = ""
        elif message.get("role") == "assistant":
            answer = message.get("content", "")[:MAX_CONTEXT_CHARS]
    pieces = _MARK_SPLIT.split(answer)
    quotes = (
        " ".join(p.split()) for p in pieces[:-1]
    )  # the text after the last mark quotes nothing
    return tuple(q for q in quotes if len(q) >= MIN_QUOTE_CHARS)[:MAX_FOCUS_QUOTES]


def _person(question: str, answer: str) -> str:
    """Who the last exchange was about: the answer's name for a "who" question.

    Only a person-like name ("Bruno Retailleau", not "European Union"); none
    means the caller keeps the topic's key words instead.
    """
    answered = _answered_names(question, answer)
    people = [n for n in answered if _named_as_person(n, answer)] or answered[:1]
    candidates = [*people[:1], *sorted(full_names(question), key=len, reverse=True)]
    return next((n for n in candidates if n and not _ORGANISATION.search(n)), "")


# A name used as a thing ("its Alfa Romeo marque", "the All Blacks"), or as a label
# in front of a role and the person's own name ("Fellow Bath prop Duncan Bell",
# "Manchester United striker Wayne Rooney"): news style never names a person that way.
_THING_BEFORE = re.compile(r"\b(?:the|its|their|a|an)\s+$", re.I)
_NOT_ROLE = (
    r"(?!(?:and|or|but|nor|with|of|to|in|on|at|for|by|from|as|than|then|says?|said|told|"
    r"is|are|was|were|has|have|had|will|would|can|could|may|might|who|which|that)\b)"
)
_LABEL_AFTER = re.compile(
    rf"^\s+{_NOT_ROLE}[a-z][\w-]*(?:\s+{_NOT_ROLE}[a-z][\w-]*)?\s+[A-Z][a-z]+\s+[A-Z]"
)


def _named_as_person(name: str, answer: str) -> bool:
    """Whether the answer's first mention of ``name`` reads as a person's name."""
    at = answer.find(name)
    if at < 0:
        return True
    before, after = answer[max(0, at - 12) : at], answer[at + len(name) : at + len(name) + 60]
    return not _THING_BEFORE.search(before) and not _LABEL_AFTER.match(after)


def _main_name(text: str) -> str:
    """The longest name in a question that is not a question word or a month."""
    names = full_names(text) or [
        w
        for w in CAPITALISED.findall(text)
        if w.lower() not in _QUESTION_WORDS and w.lower() not in MONTHS
    ]
    return max(names, key=len) if names else ""
