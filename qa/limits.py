"""The limits every entry point checks before any work: one place, values only.

The Assistant enforces them; the REST models and the CLI declare the same
numbers to their users (OpenAPI's maxima, help texts). A front end imports
them from here, not from the module that enforces them, so it depends on
nothing below the Assistant but values.
"""

from __future__ import annotations

MAX_K = 50  # passages one ask or search may read
MAX_DELETE = 1_000  # article ids in one delete
MAX_PAGE = 500  # articles in one page of the listing
MAX_FILTER_CHARS = 200  # a source, category or listing query
MAX_HISTORY_MESSAGES = 200  # earlier messages sent with a question
MAX_URLS = 50  # feeds or pages fetched in one write
MAX_URL_CHARS = 2_000
