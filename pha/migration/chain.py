"""The chain edge: the deployed Migrator through Ape (state, bitmap, batches, events)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from pha.migration.plan import MIGRATION_TUPLE, Batch, Bitmap, word_count

log = logging.getLogger(__name__)

MIGRATED_TOPIC = "0x" + keccak(text="Migrated(bytes32,address,uint256,bytes32)").hex()
BATCH_TOPIC = "0x" + keccak(text="BatchMigrated(bytes32,uint256,uint256,uint256)").hex()
MIGRATE_SELECTOR = keccak(text=f"migrate({MIGRATION_TUPLE}[],bytes32[],bool[])")[:4]
WORDS_PER_CALL = 2048
LOG_BLOCK_SPAN = 10_000
"""Most blocks one eth_getLogs page covers (the usual provider limit)."""
LOG_FIRST_SPAN = 8
LOG_PAGE_TARGET = 2_000
"""Logs per page the pager aims at: block spans grow or shrink to keep pages near this, so memory
stays flat however many mints a block holds (automine: 200 per block; 2-second L2 blocks: several
batches per block)."""
GAS_HEADROOM = 1.25
"""Gas limit = estimate × this + 50k: an estimate is made on the pending block and a batch can land
in a later one (ERC20Votes checkpoints, a bitmap word another batch already wrote); unused gas is
not charged."""


class SendError(RuntimeError):
    """A batch could not be sent (would revert, refused by the node, not mined): one line."""


@dataclass(frozen=True)
class Fees:
    block_gas_limit: int
    max_fee: int | None = None
    priority_fee: int | None = None
    gas_price: int | None = None


@dataclass(frozen=True)
class OnChainState:
    address: str
    token: str
    root: bytes
    total: int
    count: int
    total_migrated: int
    accounts_migrated: int
    closed: bool
    paused: bool
    closes_at: int
    predecessor: str = "0x" + "00" * 20
    """The Migrator this one replaces (its paid leaves are refused here); zero for the first."""


@dataclass(frozen=True, slots=True)
class MigratedEvent:
    block: int
    tx_hash: str
    log_index: int
    account: bytes
    recipient: str
    amount: int
    binding_hash: bytes


@dataclass(frozen=True, slots=True)
class BatchEvent:
    block: int
    tx_hash: str
    log_index: int
    records_hash: bytes
    count: int
    amount: int


class MigratorClient:
    """A deployed Migrator (an Ape contract instance)."""

    def __init__(self, contract: Any) -> None:
        self.contract = contract

    @classmethod
    def at(cls, address: str) -> MigratorClient:
        from ape import project

        return cls(project.Migrator.at(address))

    @property
    def address(self) -> str:
        return str(self.contract.address)

    def state(self) -> OnChainState:
        c = self.contract
        return OnChainState(
            address=self.address,
            token=str(c.TOKEN()),
            root=bytes(c.MERKLE_ROOT()),
            total=int(c.SNAPSHOT_TOTAL()),
            count=int(c.ACCOUNT_COUNT()),
            total_migrated=int(c.totalMigrated()),
            accounts_migrated=int(c.accountsMigrated()),
            closed=bool(c.closed()),
            paused=bool(c.paused()),
            closes_at=int(c.CLOSES_AT()),
            predecessor=str(c.PREDECESSOR()),
        )

    def bitmap(self, leaf_count: int) -> Bitmap:
        """The leaves this migrator minted (`migratedWords`)."""
        return self._words(self.contract.migratedWords, leaf_count)

    def claimed(self, leaf_count: int) -> Bitmap:
        """The leaves this migrator or a predecessor minted (`claimedWords`): never mintable here."""
        return self._words(self.contract.claimedWords, leaf_count)

    def _words(self, read: Any, leaf_count: int) -> Bitmap:
        words: list[int] = []
        total = word_count(leaf_count)
        for first in range(0, total, WORDS_PER_CALL):
            words.extend(int(w) for w in read(first, min(WORDS_PER_CALL, total - first)))
        return Bitmap(words)

    # ------------------------------------------------------------ sending

    @property
    def web3(self) -> Any:
        from ape import chain

        return chain.provider.web3

    def wait_idle(self, sender: Any, timeout: float = 120.0) -> None:
        """Wait until none of `sender`'s transactions is in flight, so the bitmap read is final."""
        web3 = self.web3
        address = to_checksum_address(str(sender.address))
        deadline = time.monotonic() + timeout
        while web3.eth.get_transaction_count(address, "pending") > web3.eth.get_transaction_count(
            address, "latest"
        ):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{address} still has transactions in flight after {timeout:.0f} s")
            time.sleep(0.5)

    def next_nonce(self, sender: Any) -> int:
        """The sender's next nonce (call after `wait_idle`: then pending = latest)."""
        return int(self.web3.eth.get_transaction_count(to_checksum_address(str(sender.address)), "pending"))

    def calldata(self, batch: Batch) -> bytes:
        """`migrate(batch, proof, proofFlags)` calldata, encoded directly (no per-call ABI lookup)."""
        return MIGRATE_SELECTOR + abi_encode(
            [f"{MIGRATION_TUPLE}[]", "bytes32[]", "bool[]"],
            [[e.as_tuple() for e in batch.entries], batch.proof, batch.flags],
        )

    def estimate(self, batch: Batch, sender: Any, data: bytes | None = None) -> int:
        """eth_estimateGas of a batch on the pending block; a revert becomes SendError naming the
        contract's custom error.

        "pending", not "latest": against "latest" anvil runs the call with the latest block's
        number, where the token's ERC20Votes supply checkpoint of the previous batch already
        exists, and under-estimates by a fresh checkpoint (about 22k gas); and with batches in
        flight the suite saw "latest" estimates revert with `CheckpointUnorderedInsertion` (state
        of a newer block run under an older block number). "pending" includes the batches in
        flight, as the chain will."""
        try:
            return int(
                self.web3.eth.estimate_gas(
                    {
                        "from": to_checksum_address(str(sender.address)),
                        "to": to_checksum_address(self.address),
                        "data": "0x" + (data if data is not None else self.calldata(batch)).hex(),
                    },
                    "pending",
                )
            )
        except Exception as error:  # web3 raises several types for a revert; all become one line
            raise SendError(f"would revert: {self.describe_error(error)}") from error

    def access_list(self, sender: Any, data: bytes) -> list[dict[str, Any]]:
        """The batch's EIP-2930 access list (`eth_createAccessList` on the pending block), or [] if
        the node cannot make one.

        Declaring a storage slot costs 1,900 gas up front and saves the 2,000 of its first (cold)
        access; a batch reads two cold token slots per recipient (balance, delegate), so the list
        saves about 190 gas per account. It changes no state and no outcome: a stale list (a batch
        landing in another block) only costs or saves a few hundred gas. The estimate is made
        without it, which is the higher figure."""
        try:
            reply = self.web3.provider.make_request(
                "eth_createAccessList",
                [
                    {
                        "from": to_checksum_address(str(sender.address)),
                        "to": to_checksum_address(self.address),
                        "data": "0x" + data.hex(),
                    },
                    "pending",
                ],
            )
        except Exception as error:  # a node without the method: send without a list
            log.debug("no access list: %s", error)
            return []
        result = reply.get("result") if isinstance(reply, dict) else None
        if not isinstance(result, dict) or result.get("error") or "error" in reply:
            return []
        # The sender and the Migrator (the transaction's `to`) are warm anyway: declaring one
        # costs 2,400 gas that only its slots' 100 each could repay (the batch touches a handful).
        warm = {to_checksum_address(str(sender.address)), to_checksum_address(self.address)}
        return [
            {"address": to_checksum_address(e["address"]), "storageKeys": list(e.get("storageKeys", []))}
            for e in result.get("accessList") or []
            if to_checksum_address(e["address"]) not in warm
        ]

    def simulate(self, batch: Batch, sender: Any) -> int:
        """The dry run's check: eth_estimateGas of a batch (a revert raises SendError)."""
        return self.estimate(batch, sender)

    def submit(self, batch: Batch, sender: Any, nonce: int, fees: Fees | None = None) -> str:
        """Estimate, sign (with the Ape account) and broadcast one batch at `nonce`; returns the tx hash.

        Does not wait for the receipt, so several batches can be in flight (each nonce once).
        The gas limit is the estimate plus `GAS_HEADROOM` (estimates run on the pending block; a
        batch may land in another one), capped at the block gas limit.
        """
        from ape import chain

        data = self.calldata(batch)
        estimate = self.estimate(batch, sender, data)
        access_list = self.access_list(sender, data)
        fees = fees or self.fees()
        gas_limit = min(int(estimate * GAS_HEADROOM) + 50_000, fees.block_gas_limit)
        fee_fields: dict[str, Any] = (
            {"type": 2, "max_fee": fees.max_fee, "max_priority_fee": fees.priority_fee}
            if fees.max_fee is not None
            else {"type": 1 if access_list else 0, "gas_price": fees.gas_price}
        )
        if access_list:
            fee_fields["access_list"] = access_list
        txn = chain.provider.network.ecosystem.create_transaction(
            chain_id=chain.provider.chain_id,
            sender=str(sender.address),
            receiver=self.address,
            data=data,
            nonce=nonce,
            gas_limit=gas_limit,
            value=0,
            **fee_fields,
        )
        signed = sender.sign_transaction(txn)
        if signed is None:
            raise SendError("the account declined to sign")
        try:
            tx_hash = self.web3.eth.send_raw_transaction(signed.serialize_transaction())
        except Exception as error:
            raise SendError(f"the node refused the transaction: {self.describe_error(error)}") from error
        return "0x" + bytes(tx_hash).hex()

    def fees(self) -> Fees:
        """EIP-1559 fees (max fee = 2 × base fee + tip: good for several full blocks), or a gas price."""
        web3 = self.web3
        block = web3.eth.get_block("latest")
        limit = int(block["gasLimit"])
        base = block.get("baseFeePerGas")
        if base is None:
            return Fees(block_gas_limit=limit, gas_price=int(web3.eth.gas_price))
        try:
            tip = int(web3.eth.max_priority_fee)
        except Exception:  # nodes without eth_maxPriorityFeePerGas
            tip = 10**9
        return Fees(block_gas_limit=limit, max_fee=2 * int(base) + tip, priority_fee=tip)

    def wait_receipt(self, tx_hash: str, timeout: float = 300.0) -> dict:
        """Poll for the receipt (every 20 ms at first, backing off to 0.5 s); SendError on timeout."""
        from web3.exceptions import TransactionNotFound

        web3 = self.web3
        deadline = time.monotonic() + timeout
        delay = 0.02
        while True:
            try:
                receipt = web3.eth.get_transaction_receipt(tx_hash)
                if receipt is not None and receipt.get("blockNumber") is not None:
                    return dict(receipt)
            except TransactionNotFound:
                pass
            if time.monotonic() > deadline:
                raise SendError(f"transaction {tx_hash} not mined after {timeout:.0f} s")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    def send(self, batch: Batch, sender: Any) -> dict:
        """Push one batch and wait for it; returns the receipt (SendError if it reverted)."""
        tx_hash = self.submit(batch, sender, self.next_nonce(sender))
        receipt = self.wait_receipt(tx_hash)
        if int(receipt["status"]) != 1:
            raise SendError(f"transaction {tx_hash} reverted")
        return receipt

    def describe_error(self, error: Exception) -> str:
        """A node or revert error as one line; custom errors decoded by name with their arguments."""
        data = _revert_data(error)
        if data is not None and len(data) >= 4:
            decoded = _decode_custom_error(data)
            if decoded is not None:
                return decoded
        text = str(error).strip()
        return text.splitlines()[0] if text else type(error).__name__

    def migrated_events(self, from_block: int, to_block: int | None = None) -> Iterator[MigratedEvent]:
        for event in self.migration_events(from_block, to_block):
            if isinstance(event, MigratedEvent):
                yield event

    def batch_events(self, from_block: int, to_block: int | None = None) -> Iterator[BatchEvent]:
        for event in self.migration_events(from_block, to_block):
            if isinstance(event, BatchEvent):
                yield event

    def migration_events(
        self, from_block: int, to_block: int | None = None
    ) -> Iterator[MigratedEvent | BatchEvent]:
        """`Migrated` and `BatchMigrated` events in chain order (block, log index), streamed page
        by page (see `LOG_PAGE_TARGET`): a block's logs are never split across pages, so each
        transaction's events arrive together."""
        for entry in self._logs([MIGRATED_TOPIC, BATCH_TOPIC], from_block, to_block):
            yield _decode_event(entry)

    def _logs(self, topics: list[str], from_block: int, to_block: int | None = None) -> Iterator[dict]:
        """Raw logs (hex strings, no web3 formatting) of this contract with one of `topics`.

        Pages by block span: starts small, then scales the span so a page holds about
        `LOG_PAGE_TARGET` logs (at most `LOG_BLOCK_SPAN` blocks); a node that refuses a range as
        too large gets it halved. Within a page, logs are sorted by (block, log index).
        """
        from ape import chain

        provider = chain.provider.web3.provider
        head = chain.provider.web3.eth.block_number if to_block is None else to_block
        address = to_checksum_address(self.address)
        start, span = from_block, LOG_FIRST_SPAN
        while start <= head:
            end = min(head, start + span - 1)
            reply = provider.make_request(
                "eth_getLogs",
                [{"address": address, "fromBlock": hex(start), "toBlock": hex(end), "topics": [topics]}],
            )
            if "error" in reply:
                if span > 1:  # "query returned more than N results", "block range too large", ...
                    span = max(1, span // 2)
                    continue
                raise RuntimeError(f"eth_getLogs {start}..{end}: {reply['error']}")
            page = reply["result"]
            page.sort(key=lambda e: (int(e["blockNumber"], 16), int(e["logIndex"], 16)))
            yield from page
            blocks = end - start + 1
            span = max(1, min(LOG_BLOCK_SPAN, blocks * LOG_PAGE_TARGET // max(len(page), 1), 2 * blocks))
            start = end + 1


def _decode_event(entry: dict) -> MigratedEvent | BatchEvent:
    """A raw `Migrated` or `BatchMigrated` log (as eth_getLogs returns it) as its dataclass."""
    topics = entry["topics"]
    data = bytes.fromhex(entry["data"][2:])
    block, tx_hash, log_index = (
        int(entry["blockNumber"], 16),
        entry["transactionHash"],
        int(entry["logIndex"], 16),
    )
    if topics[0] == MIGRATED_TOPIC:
        return MigratedEvent(
            block=block,
            tx_hash=tx_hash,
            log_index=log_index,
            account=bytes.fromhex(topics[1][2:]),
            recipient=to_checksum_address("0x" + topics[2][-40:]),
            amount=int.from_bytes(data[0:32], "big"),
            binding_hash=data[32:64],
        )
    return BatchEvent(
        block=block,
        tx_hash=tx_hash,
        log_index=log_index,
        records_hash=bytes.fromhex(topics[1][2:]),
        count=int.from_bytes(data[0:32], "big"),
        amount=int.from_bytes(data[32:64], "big"),
    )


def _revert_data(error: BaseException) -> bytes | None:
    """The revert data a web3 error carries (custom error selector + arguments), if any."""
    for candidate in (getattr(error, "data", None), *getattr(error, "args", ())):
        if isinstance(candidate, dict):
            candidate = candidate.get("data")
        if isinstance(candidate, str) and candidate.startswith("0x"):
            try:
                return bytes.fromhex(candidate[2:])
            except ValueError:
                continue
        if isinstance(candidate, bytes | bytearray):
            return bytes(candidate)
    return None


_ERRORS: dict[bytes, tuple[str, list[str], list[str]]] | None = None


def _decode_custom_error(data: bytes) -> str | None:
    """`Name(arg=value, ...)` for a custom error of the Migrator or the token, else None."""
    global _ERRORS
    if _ERRORS is None:
        from ape import project

        _ERRORS = {}
        for name in ("Migrator", "PHAToken"):
            for abi in getattr(project, name).contract_type.errors:
                types = [i.canonical_type for i in abi.inputs]
                selector = keccak(text=f"{abi.name}({','.join(types)})")[:4]
                _ERRORS[selector] = (abi.name, [i.name or f"arg{n}" for n, i in enumerate(abi.inputs)], types)
    found = _ERRORS.get(data[:4])
    if found is None:
        return None
    name, names, types = found
    try:
        values = abi_decode(types, data[4:])
    except Exception:  # malformed arguments: the name alone still helps
        return f"{name}(...)"
    shown = ", ".join(
        f"{n}=0x{bytes(v).hex()}" if isinstance(v, bytes) else f"{n}={v}"
        for n, v in zip(names, values, strict=True)
    )
    return f"{name}({shown})"
