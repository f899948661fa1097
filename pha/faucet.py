"""Test PHA on development chains (`ape run faucet`): minted the way a local chain allows.

PHA is created only by the OP-stack bridge (`PHAToken.mint`, `onlyBridge`) and by the migrator.
On a local anvil the faucet impersonates the token's `BRIDGE` (`anvil_impersonateAccount`), gives
it gas money (`anvil_setBalance`), calls `mint(to, amount)` from it and stops impersonating (a
recipient without ETH for gas gets some the same way, `RECIPIENT_GAS_MONEY`): the
contracts have no faucet or backdoor of their own, and public chains cannot be impersonated — the
faucet refuses every chain id outside `pha.chains.LOCAL_CHAIN_IDS` before it sends anything.
"""

from __future__ import annotations

from typing import Any

from pha.chains import LOCAL_CHAIN_IDS, PUBLIC_CHAIN_IDS
from pha.cli import UserError, current_network_choice
from pha.fmt import PHA, format_pha
from pha.staking.amounts import AmountError, parse_pha

DEFAULT_AMOUNT = "1000"
"""PHA per call when --amount is not given."""
MAX_DRIP = 100_000 * PHA
"""The most one call mints (wei): run it again for more."""
BRIDGE_GAS_MONEY = 10**18
"""ETH (wei) the impersonated bridge is given, if it holds less, to pay for the mint's gas."""
RECIPIENT_GAS_MONEY = 10 * 10**18
"""ETH (wei) a recipient holding less than a tenth of it is topped up to, to pay for its own gas:
a freshly generated keyfile account has none, and a development chain has no other faucet."""


class FaucetError(UserError):
    """The faucet cannot or will not mint: one line for the user."""


def parse_drip(text: str) -> int:
    """`--amount` in PHA ('12.5') -> wei; positive, at most MAX_DRIP."""
    try:
        amount = parse_pha(text)
    except AmountError as error:
        raise FaucetError(f"--amount: {error}") from None
    if amount > MAX_DRIP:
        raise FaucetError(
            f"--amount: at most {format_pha(MAX_DRIP)} per call, not {format_pha(amount)}"
            " (run it again for more)"
        )
    return amount


def require_local_chain(chain_id: int) -> None:
    """Refuse every chain that is not a development chain (before anything is sent)."""
    if chain_id not in LOCAL_CHAIN_IDS:
        name = PUBLIC_CHAIN_IDS.get(chain_id, "not a development chain")
        ids = ", ".join(str(i) for i in sorted(LOCAL_CHAIN_IDS))
        raise FaucetError(
            f"the faucet works only on local development chains (chain ids {ids}); "
            f"this is chain {chain_id} ({name}): get PHA there through the bridge or an exchange"
        )


def faucet_command(address: str, network_choice: str) -> str:
    return f"ape run faucet --to {address} --network {network_choice}"


def faucet_hint(address: str) -> str:
    """'; get test PHA with `ape run faucet …`' on a node the faucet can mint on, else ''.

    For the messages of commands that find an account without PHA (delegate, client post)."""
    from ape import chain

    provider = chain.provider
    if provider.chain_id not in LOCAL_CHAIN_IDS or provider.name == "test":
        return ""  # a public chain, or Ape's in-process chain (gone when the command ends)
    return (
        f"; on this development chain get test PHA with `{faucet_command(address, current_network_choice())}`"
    )


def _rpc(method: str, params: list[Any]) -> Any:
    from ape import chain
    from ape.exceptions import ApeException

    try:
        return chain.provider.make_request(method, params)
    except ApeException as error:
        reason = (str(error).strip() or type(error).__name__).splitlines()[0]
        raise FaucetError(
            f"this node refused {method} ({reason}): the faucet needs an anvil node, e.g. `pha-anvil`"
        ) from None


def drip(token: Any, to: str, amount: int) -> str:
    """Mint `amount` wei of PHA to `to` as the token's bridge; returns the line to show.

    The caller has checked the chain (`require_local_chain`) and the amount (`parse_drip`)."""
    from ape import chain
    from web3.exceptions import ContractLogicError

    room = int(token.cap()) - int(token.totalSupply())
    if amount > room:
        raise FaucetError(
            f"the token's cap leaves room for {format_pha(room)}, less than {format_pha(amount)}"
        )
    bridge = str(token.BRIDGE())
    w3 = chain.provider.web3
    _rpc("anvil_impersonateAccount", [bridge])
    try:
        if int(w3.eth.get_balance(bridge)) < BRIDGE_GAS_MONEY:
            _rpc("anvil_setBalance", [bridge, hex(BRIDGE_GAS_MONEY)])
        data = "0x" + bytes(token.mint.encode_input(to, amount)).hex()
        tx: dict[str, Any] = {"from": bridge, "to": str(token.address), "data": data}
        try:
            # Headroom as ape-config.yaml gives the devnet: the estimate can fall short when the
            # transaction lands in another block than it was estimated for (ERC20Votes checkpoints).
            tx["gas"] = int(w3.eth.estimate_gas(tx)) * 3 // 2
        except ContractLogicError as error:
            raise FaucetError(f"PHAToken.mint would revert: {error}") from None
        tx_hash = w3.eth.send_transaction(tx)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        if receipt["status"] != 1:
            raise FaucetError(f"PHAToken.mint reverted (transaction 0x{bytes(tx_hash).hex()})")
    finally:
        _rpc("anvil_stopImpersonatingAccount", [bridge])
    balance = int(token.balanceOf(to))
    gas = ""
    if int(w3.eth.get_balance(to)) < RECIPIENT_GAS_MONEY // 10:
        _rpc("anvil_setBalance", [to, hex(RECIPIENT_GAS_MONEY)])
        gas = f"; its ETH for gas set to {RECIPIENT_GAS_MONEY // 10**18}"
    return (
        f"minted {format_pha(amount)} to {to} (as the token's bridge {bridge}); "
        f"balance {format_pha(balance)}, total supply {format_pha(int(token.totalSupply()))}{gas}"
    )
