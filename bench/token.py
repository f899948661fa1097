"""Token gas: deploy, transfers, permit, bridge mint/burn, delegate."""

from __future__ import annotations

from eth_account import Account
from eth_account.messages import encode_typed_data

from bench.common import BenchEnv, Row, gas
from pha.deploy import L1_PHA, L2_STANDARD_BRIDGE

PHA = 10**18


def measure(env: BenchEnv) -> list[Row]:
    gov, alice, bob, carol = env.accounts[0], env.accounts[1], env.accounts[2], env.accounts[3]
    token = gov.deploy(env.project.PHAToken, gov, L2_STANDARD_BRIDGE, L1_PHA)
    deploy_gas = gas(token.creation_metadata.receipt)
    token.grantRole(token.MINTER_ROLE(), gov, sender=gov)
    bridge = env.accounts[L2_STANDARD_BRIDGE]
    gov.transfer(bridge, 10**18)

    token.minterMint(alice, 1_000 * PHA, sender=gov)
    new_holder = gas(token.transfer(bob, PHA, sender=alice))
    existing = gas(token.transfer(bob, PHA, sender=alice))
    token.approve(carol, 10 * PHA, sender=alice)
    transfer_from = gas(token.transferFrom(alice, bob, PHA, sender=carol))

    deadline = env.chain.pending_timestamp + 3600
    domain = {
        "name": "Phala Token",
        "version": "1",
        "chainId": env.chain.chain_id,
        "verifyingContract": str(token.address),
    }
    types = {
        "Permit": [
            {"name": n, "type": t}
            for n, t in (
                ("owner", "address"),
                ("spender", "address"),
                ("value", "uint256"),
                ("nonce", "uint256"),
                ("deadline", "uint256"),
            )
        ]
    }
    message = {
        "owner": str(alice.address),
        "spender": str(carol.address),
        "value": 5 * PHA,
        "nonce": int(token.nonces(alice)),
        "deadline": deadline,
    }
    signed = Account.sign_message(encode_typed_data(domain, types, message), alice.private_key)
    permit = gas(
        token.permit(
            alice,
            carol,
            5 * PHA,
            deadline,
            signed.v,
            signed.r.to_bytes(32, "big"),
            signed.s.to_bytes(32, "big"),
            sender=carol,
        )
    )

    mint = gas(token.mint(carol, 10 * PHA, sender=bridge))
    burn = gas(token.burn(carol, 5 * PHA, sender=bridge))
    delegate = gas(token.invoke_transaction("delegate", alice, sender=alice))

    return [
        Row(
            "token.deploy",
            deploy_gas,
            "gas",
            note="PHAToken constructor (ERC20 + Permit + Votes + Capped + AccessControl)",
        ),
        Row(
            "token.transfer_new_holder",
            new_holder,
            "gas",
            note="recipient had no balance (cold slot 0 -> non-zero)",
        ),
        Row(
            "token.transfer_existing_holder",
            existing,
            "gas",
            note="recipient already holds PHA; sender keeps a balance",
        ),
        Row("token.transfer_from", transfer_from, "gas", note="finite allowance, existing recipient"),
        Row("token.permit", permit, "gas", note="first permit of the owner (nonce 0 -> 1)"),
        Row("token.bridge_mint", mint, "gas", note="L2 bridge mint to a new holder"),
        Row("token.bridge_burn", burn, "gas", note="L2 bridge burn, holder keeps a balance"),
        Row("token.delegate_votes", delegate, "gas", note="first self-delegation of a holder with a balance"),
    ]
