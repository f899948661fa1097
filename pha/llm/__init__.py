"""Confidential LLM inference as a job (docs/llm.md).

request   the one validator of a chat request (client at post time, worker before running it)
result    what a chat worker signs (request, response and model hashes) and its check
client    the client's side: pick a worker, encrypt, post, wait, decrypt, verify
proof     the signature chain of a settled job back to the registered, attested worker
gateway   `pha-gateway`: an OpenAI-compatible endpoint on localhost turning requests into jobs
tinymodel a tiny random-weight GGUF model for the tests (run with the engine's own Python)
"""
