"""Call the Article QA REST API from a script.

    python examples/api_client.py "What did France promise in July?" [--url http://127.0.0.1:7860]

Add articles (needs the server's QA_API_TOKEN):

    python examples/api_client.py --add story.md --token "$QA_API_TOKEN"
"""

from __future__ import annotations

import argparse
import sys

import httpx


def main() -> int:
    parser = argparse.ArgumentParser(description="Article QA REST client")
    parser.add_argument("question", nargs="?")
    parser.add_argument("--url", default="http://127.0.0.1:7860")
    parser.add_argument("--add", nargs="*", default=[], metavar="FILE", help="files to add")
    parser.add_argument("--token", default="", help="bearer token for --add")
    args = parser.parse_args()
    with httpx.Client(base_url=args.url, timeout=120) as client:
        if args.add:
            files = [("files", (path, open(path, "rb").read())) for path in args.add]
            reply = client.post(
                "/api/articles", files=files, headers={"Authorization": f"Bearer {args.token}"}
            )
            print(reply.status_code, reply.json())
        if args.question:
            reply = client.post("/api/ask", json={"question": args.question, "history": []})
            data = reply.json()
            if reply.status_code != 200:
                print(f"error {reply.status_code}: {data['error']}", file=sys.stderr)
                return 1
            print(data["text"])
            for c in data["citations"]:
                print(f"  [{c['number']}] {c['title']} ({c['source']}): {c['quote'][:100]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
