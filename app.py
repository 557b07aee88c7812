"""`python app.py`: index seeds/ if the index is empty, then serve the chat and REST API.

Host and port come from QA_HOST / QA_PORT (default 127.0.0.1:7860); every other
setting from the QA_* variables listed in the README.
"""

from pathlib import Path

from qa.web.server import serve

if __name__ == "__main__":
    serve(seed_dir=Path(__file__).resolve().parent / "seeds")
