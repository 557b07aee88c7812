"""The web front: the REST server, the Gradio chat, the OpenAI-style and MCP
endpoints, write jobs and request limits."""
