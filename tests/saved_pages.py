"""Saved news pages for the extraction tests and benchmarks/extraction.py.

Fifteen short stories (written for this test set; fictional places and
people), each rendered in one of three page layouts written by hand in the
shape of real news sites: a national newspaper (cookie banner, mega-menu,
share bar, inline "read more" links, related stories with teasers, a
newsletter box, comments), a local blog-style site (sidebar of most-read
stories, tag cloud, author box, threaded comments) and a wire service
(dateline, byline, image caption, "more from" rail, legal footer). Each page
knows its story, so what an extractor returns can be scored: how much of the
story's text it kept, and how much of what it returned is page chrome.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from typing import Callable, Iterator


@dataclass(frozen=True)
class Story:
    title: str
    author: str
    published: str  # YYYY-MM-DD
    paragraphs: tuple[str, ...]

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)


STORIES = (
    Story(
        "Dunmore ferry terminal delayed to 2027",
        "Niamh Walsh",
        "2026-12-01",
        (
            "The harbour authority in Dunmore said on Tuesday that the new ferry terminal "
            "will open in March 2027, two years later than planned.",
            "Engineers found that the sea wall had to be rebuilt after winter storms damaged "
            "its foundations, the authority's chief engineer, Aoife Byrne, told councillors.",
            "The cost of the project has risen from 31 million to 48 million euros. The "
            "national ports agency has agreed to cover half of the increase.",
            "Local businesses had hoped the terminal would bring cruise ships to the town by "
            "next summer. 'We will have to wait another season,' said hotel owner Ciaran Dolan.",
        ),
    ),
    Story(
        "Lifeboat crew rescues two fishermen off Hook Head",
        "Tom Keane",
        "2026-12-02",
        (
            "A volunteer lifeboat crew from Fethard was called out at dawn on Wednesday after "
            "a small fishing boat lost power two miles south of Hook Head.",
            "The two men on board had been at sea for nine hours when their engine failed in "
            "a force seven wind.",
            "Both were treated for hypothermia at University Hospital Waterford and released "
            "in the afternoon. The coastguard said their flares had been seen by a passing "
            "cargo ship.",
            "It was the crew's fourteenth call-out this year, its busiest since the station "
            "opened in 1996.",
        ),
    ),
    Story(
        "Brackwater council approves four-day week trial",
        "Priya Raman",
        "2026-11-18",
        (
            "Brackwater District Council will let 220 of its office staff work a four-day "
            "week for twelve months from January, after councillors voted 31 to 12 in favour.",
            "Staff will keep their full pay but must meet the same targets for answering "
            "calls, processing planning applications and collecting council tax.",
            "The opposition group said the trial was a gamble with public money. The council "
            "leader, Martin Osei, replied that a similar trial in Eastleigh had cut sick days "
            "by a third.",
            "An independent report on the trial will be published in spring 2028.",
        ),
    ),
    Story(
        "Harlow Athletic appoint former captain as manager",
        "Dan Whitfield",
        "2026-10-07",
        (
            "Harlow Athletic have appointed their former captain Lee Okafor as manager on a "
            "two-and-a-half-year contract, a week after Graham Pell was sacked.",
            "Okafor, 38, made 412 appearances for the club and led it to the National League "
            "title in 2019. He has spent the past two seasons coaching the under-21 side.",
            "The club are 19th in League Two, two points above the relegation places, after "
            "winning three of their first fourteen games.",
            "His first match in charge is at home to Crewe on Saturday.",
        ),
    ),
    Story(
        "Pemberly hospital opens night-time urgent care unit",
        "Grace Adeyemi",
        "2026-09-22",
        (
            "Pemberly General Hospital has opened an urgent care unit that will stay open "
            "from 8pm to 8am, to take pressure off its emergency department.",
            "The unit has twelve beds and is staffed by two GPs, four nurses and a "
            "pharmacist. It will treat minor injuries, infections and prescription problems.",
            "Last winter patients waited an average of seven hours in the emergency "
            "department at night. The hospital hopes to halve that.",
            "The unit cost 2.3 million pounds, paid for from the regional health budget.",
        ),
    ),
    Story(
        "Storm Idris closes Kestrel Bridge for 18 hours",
        "Owen Pryce",
        "2026-11-30",
        (
            "Kestrel Bridge was closed to all traffic for 18 hours on Sunday as Storm Idris "
            "brought gusts of up to 94mph to the estuary.",
            "Drivers faced a 40-mile diversion through Carnford, and several lorries were "
            "stranded in lay-bys overnight.",
            "The bridge operator said it was the longest closure since the bridge opened in "
            "1966. Engineers inspected the cables before it reopened at 6am on Monday.",
            "More than 11,000 homes lost power during the storm; most were reconnected by "
            "Monday evening.",
        ),
    ),
    Story(
        "Valmont bakery chain to close 23 shops",
        "Helen Marsh",
        "2026-08-14",
        (
            "The Valmont bakery chain will close 23 of its 140 shops by the end of October, "
            "putting 180 jobs at risk.",
            "The company blamed the cost of flour and energy, which it said had risen by 60% "
            "in two years, and falling visits to high streets.",
            "Chief executive Sandra Iles said staff would be offered jobs at nearby branches "
            "where possible.",
            "Valmont was founded in 1952 by a family of Italian bakers and sold to a private "
            "equity firm in 2018.",
        ),
    ),
    Story(
        "Tarn Valley railway line to reopen after 60 years",
        "Rhys Llewellyn",
        "2026-07-03",
        (
            "Passenger trains will run on the Tarn Valley line again from May 2028, sixty "
            "years after it closed, the transport department has confirmed.",
            "The 14-mile line will have four stations, with two trains an hour between "
            "Mossford and the city centre. The journey will take 26 minutes.",
            "Campaigners have pushed for the reopening since 1994. The project will cost "
            "142 million pounds.",
            "Work to clear the old track bed and rebuild three bridges starts in September.",
        ),
    ),
    Story(
        "Grey seal pup count reaches record at Skellig Point",
        "Mairead Quinn",
        "2026-11-09",
        (
            "Rangers counted 1,312 grey seal pups on the beaches of Skellig Point this autumn, "
            "the most since counts began in 1978.",
            "The rise is put down to a ban on boat landings during the pupping season, which "
            "began in 2019.",
            "Visitors are asked to stay behind the clifftop fence and to keep dogs on leads. "
            "Mothers can abandon pups that are disturbed.",
            "The final count will be published in January.",
        ),
    ),
    Story(
        "Ashby library saved by community buyout",
        "Joe Barnett",
        "2026-06-11",
        (
            "Residents of Ashby have raised 410,000 pounds to buy their library from the "
            "county council, which had planned to sell the building.",
            "More than 2,600 people gave money, and a lottery grant paid for a third of the price.",
            "The library will be run by a charity with two paid staff and about forty "
            "volunteers. It will reopen in September with longer weekend hours.",
            "The council said it would still supply books through its mobile service.",
        ),
    ),
    Story(
        "Ferris Tech to build battery plant at Wexcombe",
        "Anita Desai",
        "2026-05-20",
        (
            "Ferris Tech will build a battery factory on the former airfield at Wexcombe, "
            "creating 900 jobs by 2030.",
            "The plant will make cells for electric buses and delivery vans. Production is "
            "due to start in the second half of 2028.",
            "The government will provide 95 million pounds of the 1.1 billion pound cost.",
            "Local residents have raised concerns about lorry traffic on the B4120, and the "
            "company has promised a new access road.",
        ),
    ),
    Story(
        "School bus service cut leaves 300 pupils without transport",
        "Laura Finch",
        "2026-09-03",
        (
            "About 300 pupils in the Corran valley have no bus to school this term after the "
            "operator Westline cancelled four routes.",
            "The company said it could not find enough drivers. Parents said they were told "
            "four days before the start of term.",
            "The county council has hired taxis for pupils who live more than three miles from "
            "school, at a cost of 18,000 pounds a week.",
            "A new contract will be put out to tender next month.",
        ),
    ),
    Story(
        "Millbrook wins national village of the year",
        "Sam Oduya",
        "2026-10-25",
        (
            "Millbrook has been named village of the year, beating 340 entries in the "
            "national competition.",
            "Judges praised its community shop, run by 60 volunteers, and a scheme that "
            "drives older residents to medical appointments.",
            "The village of 1,200 people receives a 5,000 pound prize, which will go towards "
            "a new playground.",
            "Parish council chair Diane Cole said the award belonged to 'everyone who ever "
            "stacked a shelf or drove a neighbour'.",
        ),
    ),
    Story(
        "Orchard Street fire: cause was faulty wiring",
        "Ben Holloway",
        "2026-04-16",
        (
            "A fire that destroyed three shops on Orchard Street last month was caused by "
            "faulty wiring in a storeroom, fire investigators have said.",
            "The blaze started shortly after midnight and took 60 firefighters five hours to "
            "put out. Nobody was hurt.",
            "The owners of the three shops, a florist, a shoe repairer and a cafe, hope to "
            "reopen in temporary units on Market Square in May.",
            "A fund set up by traders has raised 27,000 pounds.",
        ),
    ),
    Story(
        "Cathedral choir to tour Japan for first time",
        "Eleanor Vance",
        "2026-03-08",
        (
            "The choir of St Aldhelm's Cathedral will tour Japan in July, its first visit to "
            "Asia in its 900-year history.",
            "The 32 singers will give eight concerts in five cities, including Tokyo, Osaka "
            "and Hiroshima.",
            "The tour is paid for by a cultural foundation and ticket sales. The choir's "
            "director, Paul Grant, said the invitation came after a recording went viral.",
            "The choristers, aged 8 to 13, will be accompanied by tutors so that they do not "
            "fall behind at school.",
        ),
    ),
)

# What surrounds a story on real pages, shared by the layouts. None of it is the story.
RELATED = (
    ("Council tax to rise by 4.9% in April", "Bills will go up for the third year running."),
    ("Five things to do this weekend", "Markets, music and a vintage car rally."),
    ("Police appeal after break-in at garden centre", "Tools worth 8,000 pounds were taken."),
    ("Residents object to plans for 400 homes", "The site is used by dog walkers."),
)
COMMENTS = (
    ("harbourwatcher", "About time someone said this. The council never listens."),
    ("J. Murphy", "I remember when this was all fields. Progress, I suppose."),
    ("local_mum_of_3", "Does anyone know if the car park will still be free?"),
)


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def newspaper(story: Story, n: int) -> str:
    paras = list(story.paragraphs)
    body = [_p(paras[0]), _p(paras[1])]
    body.append(
        '<div class="inline-related"><strong>Read more:</strong> '
        f'<a href="/news/{n}-a">{html.escape(RELATED[0][0])}</a></div>'
    )
    body += [_p(x) for x in paras[2:]]
    related = "".join(
        f'<li><a href="/news/{n}-{i}"><h3>{html.escape(t)}</h3></a><p>{html.escape(d)}</p></li>'
        for i, (t, d) in enumerate(RELATED)
    )
    comments = "".join(
        f'<div class="comment"><span class="user">{html.escape(u)}</span><p>{html.escape(c)}</p>'
        "<button>Reply</button><button>Report</button></div>"
        for u, c in COMMENTS
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(story.title)} | The Daily Courier</title>
<meta property="og:site_name" content="The Daily Courier">
<meta name="author" content="{html.escape(story.author)}">
<meta property="article:published_time" content="{story.published}T08:15:00+00:00">
<script>window.dataLayer = window.dataLayer || []; dataLayer.push({{"section": "news"}});</script>
<style>.share-bar {{ display: flex }}</style></head>
<body>
<div id="cookie-banner" class="cookie-consent"><p>We use cookies to improve your experience
and to show you personalised adverts. Accept all cookies or manage your preferences.</p>
<button>Accept all</button><button>Manage preferences</button></div>
<header class="masthead"><a class="logo" href="/">The Daily Courier</a>
<div class="top-links"><a href="/subscribe">Subscribe</a> <a href="/login">Sign in</a></div></header>
<nav class="main-menu"><ul><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li>
<li><a href="/business">Business</a></li><li><a href="/opinion">Opinion</a></li>
<li><a href="/lifestyle">Lifestyle</a></li><li><a href="/puzzles">Puzzles</a></li></ul></nav>
<main><article class="story">
<div class="breadcrumbs"><a href="/">Home</a> › <a href="/news">News</a> › <a href="/news/local">Local</a></div>
<h1 class="headline">{html.escape(story.title)}</h1>
<div class="byline">By <a href="/authors/{n}">{html.escape(story.author)}</a> ·
<time datetime="{story.published}">{story.published}</time></div>
<div class="share-bar"><a href="#">Share on Facebook</a> <a href="#">Share on X</a>
<a href="#">Share by email</a> <a href="#">Copy link</a></div>
<div class="article-body">{"".join(body)}</div>
<div class="newsletter"><h4>Get the morning briefing</h4><p>The day's top stories in your inbox
every morning at 7am. Sign up now, it's free.</p><form><input type="email"><button>Sign up</button></form></div>
</article>
<section class="related"><h2>Related stories</h2><ul>{related}</ul></section>
<section class="comments"><h2>Comments (3)</h2>{comments}</section></main>
<footer><p>© 2026 Daily Courier Media Ltd. All rights reserved.</p><a href="/privacy">Privacy policy</a>
<a href="/terms">Terms of use</a> <a href="/contact">Contact us</a></footer>
</body></html>"""


def blog(story: Story, n: int) -> str:
    body = "".join(_p(x) for x in story.paragraphs)
    most_read = "".join(
        f'<li><a href="/{n}/{i}">{html.escape(t)}</a></li>' for i, (t, _) in enumerate(RELATED)
    )
    comments = "".join(
        f'<li class="comment"><div class="comment-author">{html.escape(u)} says:</div>'
        f'<div class="comment-content">{_p(c)}</div><a class="reply">Reply</a></li>'
        for u, c in COMMENTS
    )
    return f"""<!DOCTYPE html>
<html><head><meta charset="UTF-8"><title>{html.escape(story.title)} – Valley Voice</title>
<meta name="description" content="{html.escape(story.paragraphs[0][:140])}">
<link rel="stylesheet" href="/wp-content/themes/voice/style.css"></head>
<body class="post-template-default single single-post">
<div class="site"><div class="site-header"><div class="site-title"><a href="/">Valley Voice</a></div>
<div class="site-description">Independent news for the valley since 2009</div>
<ul class="menu"><li><a href="/">Home</a></li><li><a href="/category/news">News</a></li>
<li><a href="/category/events">Events</a></li><li><a href="/advertise">Advertise with us</a></li>
<li><a href="/donate">Support local journalism</a></li></ul></div>
<div class="content-area"><div class="post">
<h1 class="entry-title">{html.escape(story.title)}</h1>
<div class="entry-meta">Posted on {story.published} by {html.escape(story.author)} in
<a href="/category/news">News</a> | <a href="#comments">3 Comments</a></div>
<div class="entry-content">{body}
<div class="sharedaddy"><h3>Share this:</h3><ul><li>Twitter</li><li>Facebook</li><li>WhatsApp</li></ul></div>
<div class="jp-relatedposts"><h3>Related</h3><p>{html.escape(RELATED[1][0])}</p></div></div>
<div class="author-box"><h4>About {html.escape(story.author)}</h4><p>{html.escape(story.author)} covers
the valley for Valley Voice. Tips and stories welcome by email.</p></div>
<div class="tags">Tags: <a>council</a> <a>community</a> <a>local news</a></div>
</div>
<div id="comments" class="comments-area"><h2>3 thoughts on “{html.escape(story.title)}”</h2>
<ol class="comment-list">{comments}</ol>
<div class="comment-respond"><h3>Leave a Reply</h3><p>Your email address will not be published.
Required fields are marked *</p><textarea></textarea><button>Post Comment</button></div></div></div>
<aside class="widget-area"><section class="widget"><h2>Most read</h2><ol>{most_read}</ol></section>
<section class="widget"><h2>Weather</h2><p>Light rain, 9°C. Wind 14mph south-west.</p></section></aside>
<div class="site-footer">Proudly powered by a content management system. Valley Voice is a
not-for-profit community company.</div></div></body></html>"""


DATELINE = "KESTREL (Regional Wire) –"  # a wire story's first words, part of its text


def wire(story: Story, n: int) -> str:
    first, *rest = story.paragraphs
    body = f"<p><span class='dateline'>{DATELINE}</span> {html.escape(first)}</p>"
    body += (
        '<figure><img src="/img/photo.jpg" alt=""><figcaption>File photo. Photograph: '
        "Regional Wire</figcaption></figure>"
    )
    body += "".join(_p(x) for x in rest)
    more = "".join(
        f'<div class="card"><a href="/wire/{n}{i}">{html.escape(t)}</a><span>2 hours ago</span></div>'
        for i, (t, _) in enumerate(RELATED)
    )
    return f"""<html><head><title>{html.escape(story.title)}</title>
<meta property="og:title" content="{html.escape(story.title)}">
<meta name="byl" content="By {html.escape(story.author)}">
<meta name="date" content="{story.published}">
<script type="application/ld+json">{{"@type": "NewsArticle", "headline": "{html.escape(story.title)}",
"datePublished": "{story.published}T06:00:00Z", "author": {{"@type": "Person", "name": "{html.escape(story.author)}"}}}}</script>
</head><body>
<div class="topbar"><a href="/">Regional Wire</a> <a href="/markets">Markets</a> <a href="/world">World</a>
<a href="/regional">Regional</a> <a href="/search">Search</a> <a href="/login">Client login</a></div>
<div class="ad-slot">Advertisement</div>
<div class="article-wrap"><h1>{html.escape(story.title)}</h1>
<p class="byline">By {html.escape(story.author)} · {story.published} · 3 min read</p>
<div class="article-text">{body}</div>
<p class="reporting-credits">Reporting by {html.escape(story.author)}; Editing by the regional desk</p>
<p class="trust">Our Standards: The Regional Wire Trust Principles.</p></div>
<div class="more-from"><h2>More from Regional</h2>{more}</div>
<div class="footer-legal">All quotes delayed a minimum of 15 minutes. © 2026 Regional Wire. All rights
reserved. Cookies | Accessibility | Terms of use | Modern slavery statement</div>
</body></html>"""


LAYOUTS: tuple[tuple[str, Callable[[Story, int], str]], ...] = (
    ("newspaper", newspaper),
    ("blog", blog),
    ("wire", wire),
)


def pages() -> Iterator[tuple[str, str, Story]]:
    """(file name, HTML, story): each story once, the layouts in turn (five pages each)."""
    for n, story in enumerate(STORIES):
        layout, render = LAYOUTS[n % len(LAYOUTS)]
        page = render(story, n)
        if render is wire:  # the dateline opens the story's first paragraph
            first, *rest = story.paragraphs
            story = replace(story, paragraphs=(f"{DATELINE} {first}", *rest))
        yield f"{layout}-{n + 1:02d}.html", page, story


_WORDS = re.compile(r"[\w']+")


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORDS.findall(text.replace("’", "'"))]


def scores(extracted: str, story: Story) -> tuple[float, float]:
    """(recall, boilerplate): the share of the story's words the text kept (as a
    multiset), and the share of the text's words that are not the story's (the title,
    which extractors may repeat at the top, counts as the story)."""
    from collections import Counter

    wanted = Counter(words(story.body))
    allowed = wanted + Counter(words(story.title))
    got = Counter(words(extracted))
    kept = sum(min(n, got[w]) for w, n in wanted.items())
    extra = sum(max(0, n - allowed[w]) for w, n in got.items())
    return kept / max(sum(wanted.values()), 1), extra / max(sum(got.values()), 1)
