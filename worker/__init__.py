"""The reference enclave worker: keys generated in the enclave, a quote binding them, job handlers,
EIP-712 signed results, over the HTTP API of PROTOCOL-SPEC.md. See docs/worker.md.

CLI: `pha-worker serve` (worker.cli).
"""
