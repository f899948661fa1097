"""Worker configuration: command-line options, a TOML config file (`--config`), else
PHA_WORKER_* environment variables."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pha.llm.request import DEFAULT_MODEL, MAX_MODEL_CHARS, MAX_TOKENS
from pha.llm.result import normalise_digest

DEFAULT_CODE_IDENTITY = "pha-worker/reference/v1"


def _hex(value: str | None, size: int, name: str) -> str | None:
    if value is None or value == "":
        return None
    text = value[2:] if value[:2] in ("0x", "0X") else value
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"{name} is not hex") from None
    if len(raw) != size:
        raise ValueError(f"{name} must be {size} bytes, got {len(raw)}")
    return "0x" + raw.hex()


class ChatSettings(BaseModel):
    """The `chat` handler (docs/llm.md): the inference engine it forwards to, inside the same TEE,
    and the model it declares (reported in /attestation and in every signed chat result)."""

    model_config = ConfigDict(extra="forbid")

    engine_url: str
    """The engine's OpenAI-compatible base URL (llama.cpp server, vLLM, Ollama), e.g. http://127.0.0.1:8000."""
    model: str = Field(..., min_length=1, max_length=MAX_MODEL_CHARS)
    """The served model's name (the engine's model id / alias)."""
    model_digest: str
    """sha256 of the model file (GGUF), 0x-hex."""
    model_file: str | None = None
    """The model file itself: when given, the worker hashes it at start and refuses to start if
    its sha256 is not `model_digest`."""
    max_tokens: int = Field(256, ge=1, le=MAX_TOKENS)
    timeout: float = Field(20.0, gt=0)
    """Seconds the engine has to answer one request."""

    @field_validator("engine_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"engine_url must be an http(s) URL, got {value!r}")
        return value.rstrip("/")

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        if value == DEFAULT_MODEL:
            raise ValueError(f"model {DEFAULT_MODEL!r} is what clients ask for; name the served model")
        return value

    @field_validator("model_digest")
    @classmethod
    def _digest(cls, value: str) -> str:
        return normalise_digest(value)


class WorkerSettings(BaseSettings):
    """Everything the worker needs; env var = PHA_WORKER_<FIELD NAME IN CAPITALS>."""

    model_config = SettingsConfigDict(env_prefix="PHA_WORKER_", env_nested_delimiter="__", extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(8090, ge=0, le=65535)
    # What the quote binds (PROTOCOL-SPEC.md "Worker binding"), and the escrow results are signed for.
    chain_id: int = Field(..., ge=1)
    registry: str
    pool_id: int = Field(..., ge=0)
    escrow: str
    # Quote source: dstack (endpoint given, DSTACK_SIMULATOR_ENDPOINT set, or a dstack socket
    # present) unless `simulate`; the simulator otherwise.
    dstack_endpoint: str | None = None
    simulate: bool = False
    # Simulated measurements: default derived from code_identity.
    code_identity: str = DEFAULT_CODE_IDENTITY
    mrtd: str | None = None
    rtmr0: str | None = None
    rtmr1: str | None = None
    rtmr2: str | None = None
    # Simulator only: emulate a dstack app running this app-compose.json (path); None: plain quote.
    app_compose: str | None = None
    # Extra handlers, "module:function" or "name=module:function".
    handlers: list[str] = Field(default_factory=list)
    # The chat handler (None: no chat handler); env PHA_WORKER_CHAT__ENGINE_URL etc.
    chat: ChatSettings | None = None
    # Limits.
    max_body_bytes: int = Field(1 << 20, ge=1024)
    body_timeout: float = Field(10.0, gt=0)
    handler_timeout: float = Field(30.0, gt=0)
    max_records: int = Field(100_000, ge=1)
    max_batch: int = Field(1_000, ge=1)
    log_level: str = "INFO"

    @field_validator("registry", "escrow")
    @classmethod
    def _address(cls, value: str) -> str:
        from eth_utils import is_address, to_checksum_address

        if not is_address(value):
            raise ValueError(f"not an address: {value!r}")
        return to_checksum_address(value)

    @field_validator("mrtd", "rtmr0", "rtmr1", "rtmr2")
    @classmethod
    def _register(cls, value: str | None, info: object) -> str | None:
        return _hex(value, 48, getattr(info, "field_name", "register"))
