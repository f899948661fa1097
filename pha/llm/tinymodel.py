"""A tiny llama-architecture GGUF model with random weights, made the same way from the same seed.

    .build/llm/bin/python pha/llm/tinymodel.py OUT.gguf [--seed 7]

Run with the engine's own Python (it needs `gguf` and `numpy`, from requirements/llm.lock). The
model is real to llama.cpp (2 layers, 64 wide, 4 heads, a SentencePiece vocabulary of 289 tokens:
<unk>, <s>, </s>, the 256 byte tokens and a few word pieces, a chat template) and about 485 KB,
so it loads in milliseconds and generates on 2 cores fast enough for tests. Its answers are
gibberish: it exists to exercise a real engine end to end, not to say anything.

The file's bytes depend only on the seed (no timestamps), so its sha256, the model digest a
worker declares, is stable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

N_EMBD = 64
N_FF = 128
N_HEAD = 4
N_LAYER = 2
CONTEXT = 512
PIECES = (
    "▁the", "▁a", "▁is", "▁of", "▁and", "▁to", "▁in", "▁it", "▁you", "▁that",
    "▁hello", "▁world", "▁yes", "▁no", "▁ok", "e", "t", "a", "o", "n",
    "s", "r", "i", "l", ".", ",", "!", "?", "▁", "ing",
)  # fmt: skip
CHAT_TEMPLATE = (
    "{% for message in messages %}<s>{{ message['role'] }}: {{ message['content'] }}\n"
    "{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}"
)


def vocabulary() -> tuple[list[str], list[float], list[int]]:
    """Tokens, scores and token types (gguf.TokenType values) of the SentencePiece vocabulary."""
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + list(PIECES)
    types = [2, 3, 3] + [6] * 256 + [1] * len(PIECES)  # UNKNOWN, CONTROL, BYTE, NORMAL
    scores = [0.0, 0.0, 0.0] + [0.0] * 256 + [-float(i + 1) for i in range(len(PIECES))]
    return tokens, scores, types


def write_model(path: Path, seed: int = 7) -> Path:
    import gguf
    import numpy as np

    rng = np.random.default_rng(seed)
    tokens, scores, types = vocabulary()
    n_vocab = len(tokens)

    def weights(rows: int, cols: int) -> np.ndarray:
        return (rng.standard_normal((rows, cols)) * 0.2).astype(np.float32)

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("pha-tiny-random")
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYER)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(N_EMBD // N_HEAD)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_add_bos_token(True)
    writer.add_chat_template(CHAT_TEMPLATE)
    # numpy shapes are (rows, cols): ggml's ne reversed.
    writer.add_tensor("token_embd.weight", weights(n_vocab, N_EMBD))
    for i in range(N_LAYER):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            writer.add_tensor(f"blk.{i}.{name}.weight", weights(N_EMBD, N_EMBD))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", weights(N_FF, N_EMBD))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", weights(N_FF, N_EMBD))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", weights(N_EMBD, N_FF))
    writer.add_tensor("output_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    writer.add_tensor("output.weight", weights(n_vocab, N_EMBD))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the tiny random-weight GGUF model.")
    parser.add_argument("out", type=Path, help="the .gguf file to write")
    parser.add_argument("--seed", type=int, default=7, help="weights' random seed (default 7)")
    args = parser.parse_args(argv)
    try:
        import gguf  # noqa: F401
    except ImportError:
        sys.exit("tinymodel: needs the gguf package: run it with .build/llm/bin/python (make setup-llm)")
    write_model(args.out, args.seed)
    sys.stdout.write(f"{args.out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
