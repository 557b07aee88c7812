"""Writing and storing articles: reading formats and URLs, chunking, embedding,
the Chroma store and the lexical index, ingesting, listing."""
