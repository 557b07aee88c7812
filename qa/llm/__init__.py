"""Generated answers: a language model writes, the verifier keeps what the
cited passages support."""
