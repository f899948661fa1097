"""The registry's eligibility verdicts (IWorkerRegistry.Reason) by name, with what to do about each.

One table for every place that shows a verdict (the relayer's worker view, the operator watch), so
that nobody reads "registry reason 10".
"""

from __future__ import annotations

# IWorkerRegistry.Reason, by value: (name, what the operator or governance does about it).
REASONS: tuple[tuple[str, str], ...] = (
    ("Eligible", ""),
    ("NotRegistered", "register it: `ape run operator register --pool N --worker-url URL`"),
    ("Invalidated", "its evidence was invalidated (revoked measurement, TCB downgrade or slash): "
                    "register again with evidence newer than the invalidation"),
    ("MeasurementMismatch", "it runs another build than it registered: `ape run operator renew`"),
    ("MeasurementNotAllowed", "governance allows the build first: "
                              "`ape run governance allow-measurement --worker-url URL`"),
    ("MeasurementExpired", "the build's policy expired: move the worker to a newer allowed build"),
    ("AttestationExpired", "renew its attestation: `ape run operator renew`"),
    ("TcbBelowPolicy", "update the platform's TCB (microcode / firmware), then `ape run operator renew`"),
    ("TcbBelowJobFloor", "the job asks for a better TCB status than the worker's"),
    ("PoolUnderBacked", "the pool's stake is below the registry's minimum: `ape run stake delegate`"),
    ("RelayerNotAuthorised", "the pool operator authorises the relayer: "
                             "`ape run operator authorise-relayer`"),
    ("GpuMissing", "the measurement requires a GPU: `ape run operator renew --gpu-evidence FILE`"),
    ("GpuAttestationExpired", "renew its GPU evidence: `ape run operator renew --gpu-evidence FILE`"),
    ("GpuBelowPolicy", "update the GPU driver / VBIOS to the measurement's floor, "
                       "then renew with GPU evidence"),
)  # fmt: skip
NAMES = tuple(name for name, _ in REASONS)


def reason_name(code: int) -> str:
    """The verdict's name, or the bare number for a code this version does not know."""
    return NAMES[code] if 0 <= code < len(NAMES) else f"reason {code}"


def reason_hint(code: int) -> str:
    """What to do about a verdict ("" for Eligible and for codes this version does not know)."""
    return REASONS[code][1] if 0 <= code < len(REASONS) else ""


def describe_reason(code: int) -> str:
    """One line: the verdict's name and what to do, e.g. `AttestationExpired: renew its ...`."""
    if not 0 <= code < len(REASONS):
        return f"registry reason {code} (unknown to this version)"
    hint = reason_hint(code)
    return f"{NAMES[code]}: {hint}" if hint else NAMES[code]
