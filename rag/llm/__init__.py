"""The LLM plumbing: the vLLM client, the embedded server's lifecycle, prompts, model
preparation. Depends on ``rag.core`` only."""
