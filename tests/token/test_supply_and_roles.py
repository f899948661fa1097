"""Cap, roles, bridge interface, ERC-165, zero address and overflow cases."""

import ape
import pytest

from pha.deploy import L1_PHA, L2_STANDARD_BRIDGE
from tests.conftest import PHA
from tests.token.test_votes import delegate

CAP = 1_000_000_000 * PHA


def test_metadata(token):
    assert token.name() == "Phala Token"
    assert token.symbol() == "PHA"
    assert token.decimals() == 18
    assert token.cap() == CAP == token.MAX_SUPPLY()


def test_cap__at_the_cap__votes_still_checkpoint_within_erc20votes_safe_supply(token, fund, alice, chain):
    # PHAToken._update leaves out ERC20Votes' safe-supply check because the cap is below it.
    assert CAP < 2**208 - 1
    fund(alice, CAP)
    delegate(token, alice, alice)
    block = chain.blocks.head.number
    chain.mine(1)
    assert token.getVotes(alice) == CAP == token.getPastTotalSupply(block)


def test_cap__mint_exactly_to_cap__succeeds(token, fund, alice):
    fund(alice, CAP)
    assert token.totalSupply() == CAP


def test_cap__one_wei_over__reverts_with_custom_error(token, fund, alice, gov):
    fund(alice, CAP - 1)
    with ape.reverts(token.ERC20ExceededCap):
        token.minterMint(alice, 2, sender=gov)
    assert token.totalSupply() == CAP - 1


def test_cap__bridge_mint_also_bounded(token, fund, alice, bridge):
    fund(alice, CAP)
    with ape.reverts(token.ERC20ExceededCap):
        token.mint(alice, 1, sender=bridge)


def test_minter_mint__non_minter__reverts(token, attacker):
    with ape.reverts(token.AccessControlUnauthorizedAccount):
        token.minterMint(attacker, PHA, sender=attacker)


def test_minter_mint__revoked_minter__reverts(token, gov, alice):
    token.minterMint(alice, PHA, sender=gov)
    token.revokeRole(token.MINTER_ROLE(), gov, sender=gov)
    with ape.reverts(token.AccessControlUnauthorizedAccount):
        token.minterMint(alice, PHA, sender=gov)
    assert token.balanceOf(alice) == PHA


def test_grant_role__non_admin__reverts(token, attacker):
    with ape.reverts(token.AccessControlUnauthorizedAccount):
        token.grantRole(token.MINTER_ROLE(), attacker, sender=attacker)


def test_bridge_mint__by_bridge__mints_and_emits(token, bridge, alice):
    tx = token.mint(alice, 7 * PHA, sender=bridge)
    assert token.balanceOf(alice) == 7 * PHA
    assert tx.decode_logs(token.Mint)[0].amount == 7 * PHA


def test_bridge_mint__non_bridge__reverts_even_for_minter(token, gov, attacker):
    with ape.reverts(token.PHATokenOnlyBridge):
        token.mint(attacker, PHA, sender=attacker)
    with ape.reverts(token.PHATokenOnlyBridge):
        token.mint(gov, PHA, sender=gov)


def test_bridge_burn__by_bridge__burns_without_allowance(token, fund, bridge, alice):
    fund(alice, 5 * PHA)
    tx = token.burn(alice, 2 * PHA, sender=bridge)
    assert token.balanceOf(alice) == 3 * PHA
    assert token.totalSupply() == 3 * PHA
    assert tx.decode_logs(token.Burn)[0].amount == 2 * PHA


def test_bridge_burn__non_bridge__reverts(token, fund, gov, alice):
    fund(alice, 5 * PHA)
    with ape.reverts(token.PHATokenOnlyBridge):
        token.burn(alice, PHA, sender=gov)
    assert token.balanceOf(alice) == 5 * PHA


def test_bridge_burn__more_than_balance__reverts(token, fund, bridge, alice):
    fund(alice, PHA)
    with ape.reverts(token.ERC20InsufficientBalance):
        token.burn(alice, PHA + 1, sender=bridge)


def test_burn_own__reduces_supply(token, fund, alice):
    fund(alice, 3 * PHA)
    token.burnOwn(PHA, sender=alice)
    assert token.balanceOf(alice) == 2 * PHA
    assert token.totalSupply() == 2 * PHA


def test_bridge_getters(token):
    assert token.bridge() == L2_STANDARD_BRIDGE == token.BRIDGE() == token.l2Bridge()
    assert token.remoteToken() == L1_PHA == token.REMOTE_TOKEN() == token.l1Token()


@pytest.mark.parametrize(
    ("interface_id", "expected"),
    [
        ("0x01ffc9a7", True),  # IERC165
        ("0xec4fc8e3", True),  # IOptimismMintableERC20
        ("0x1d1d8b63", True),  # ILegacyMintableERC20
        ("0x7965db0b", True),  # IAccessControl
        ("0xc3fcd0bb", False),  # IPHAMinter (minterMint + minterMintBatch) is not announced
        ("0x21f314ca", False),  # nor was its earlier form (minterMint alone)
        ("0xffffffff", False),
        ("0x36372b07", False),  # IERC20 is not announced through ERC-165
    ],
)
def test_supports_interface(token, interface_id, expected):
    assert token.supportsInterface(interface_id) is expected


def test_interface_ids_match_their_selectors():
    from eth_utils import function_signature_to_4byte_selector as sel

    def xor(*sigs):
        value = 0
        for sig in sigs:
            value ^= int.from_bytes(sel(sig), "big")
        return f"0x{value:08x}"

    assert xor("remoteToken()", "bridge()", "mint(address,uint256)", "burn(address,uint256)") == "0xec4fc8e3"
    assert xor("l1Token()", "mint(address,uint256)", "burn(address,uint256)") == "0x1d1d8b63"
    assert xor("minterMint(address,uint256)", "minterMintBatch(address[],uint256[])") == "0xc3fcd0bb"
    assert xor("minterMint(address,uint256)") == "0x21f314ca"


def test_transfer__to_zero_address__reverts(token, fund, alice):
    fund(alice, PHA)
    with ape.reverts(token.ERC20InvalidReceiver):
        token.transfer(ape.utils.ZERO_ADDRESS, PHA, sender=alice)


def test_mint__to_zero_address__reverts(token, gov):
    with ape.reverts(token.ERC20InvalidReceiver):
        token.minterMint(ape.utils.ZERO_ADDRESS, PHA, sender=gov)


def test_transfer__more_than_balance__reverts(token, fund, alice, bob):
    fund(alice, PHA)
    with ape.reverts(token.ERC20InsufficientBalance):
        token.transfer(bob, PHA + 1, sender=alice)


def test_transfer_from__without_allowance__reverts(token, fund, alice, bob):
    fund(alice, PHA)
    with ape.reverts(token.ERC20InsufficientAllowance):
        token.transferFrom(alice, bob, 1, sender=bob)


def test_mint__uint256_overflow_amount__reverts_on_cap_not_overflow(token, gov, alice):
    with ape.reverts(token.ERC20ExceededCap):
        token.minterMint(alice, 2**256 - 1, sender=gov)


def test_constructor__zero_addresses__revert(project, gov):
    zero = ape.utils.ZERO_ADDRESS
    for args in ((zero, L2_STANDARD_BRIDGE, L1_PHA), (gov, zero, L1_PHA), (gov, L2_STANDARD_BRIDGE, zero)):
        with ape.reverts(project.PHAToken.PHATokenZeroAddress):
            gov.deploy(project.PHAToken, *args)
