"""Answering a question from the index: retrieval, the readers that pick the
answering sentence, the answerers and the LangChain chain."""
