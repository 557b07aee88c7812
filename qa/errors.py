"""The exceptions Article QA raises on purpose.

Front ends catch ``QAError`` and show its message as one clear line (CLI),
a 4xx JSON body (REST) or a chat notice (UI); anything else is a bug.
"""


class QAError(Exception):
    """Base class: a problem the user can fix, with a message that says how."""


class ConfigError(QAError):
    """A setting has an invalid value."""


class InvalidQuestion(QAError):
    """The question is empty, too long or otherwise unusable."""


class IndexModelMismatch(QAError):
    """The index was built with another embedding model than the one configured."""


class EmbeddingModelError(QAError):
    """The embedding model could not be loaded."""


class ArticleError(QAError):
    """One input file or record could not be turned into an article."""


class UnknownArticle(QAError):
    """An article id that is not in the index (REST: 404)."""


class UnknownCollection(QAError):
    """A collection name the index does not have (REST: 404, to those who may know)."""


class Forbidden(QAError):
    """The caller may not read or write this collection (REST: 403).

    The message names only what the caller gave, so it says nothing of what a
    private collection holds, or whether one of that name exists."""


class Unauthorized(QAError):
    """A bearer token that is not (or no longer) in the token book (REST: 401)."""


class AccessRulesUnreadable(QAError):
    """The token book cannot be read: nobody is let in until it is fixed (REST: 503)."""
