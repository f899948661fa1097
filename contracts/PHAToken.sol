// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

import {ILegacyMintableERC20, IOptimismMintableERC20} from "./interfaces/IOptimismMintableERC20.sol";
import {IPHAMinter} from "./interfaces/IPHAMinter.sol";

/// @title PHAToken
/// @notice Phala Network's PHA on an OP-stack L2: ERC-20 with 18 decimals, ERC-2612 permit,
///         ERC20Votes checkpoints for governance and a hard supply cap of 1,000,000,000 PHA.
/// @dev Two ways to create supply, both bounded by the cap:
///      - the OP-stack standard bridge (immutable `BRIDGE`) mints on deposit and burns on
///        withdrawal through `mint`/`burn` (IOptimismMintableERC20 and its legacy form);
///      - holders of `MINTER_ROLE` (the parachain migrator) mint through `minterMint`, or
///        `minterMintBatch` (cap check and total-supply checkpoint once per batch).
///      Minting through MINTER_ROLE (migration minting) is also bounded, even against the admin:
///      - every such mint is counted in `migrationMinted`; once the admin has set
///        `migrationCap` (the snapshot total, in wei) it can only be lowered, never raised, and
///        `migrationMinted` never exceeds it;
///      - at most one account holds MINTER_ROLE at a time: granting it to another account revokes
///        it from the current holder (a replacement migrator ends the old one's right);
///      - an account that lost MINTER_ROLE (revoked or renounced) can never hold it again.
///      Nobody can burn another holder's tokens except the bridge, as the bridge interface
///      requires; holders burn their own with `burnOwn`.
contract PHAToken is
    ERC20Capped,
    ERC20Permit,
    ERC20Votes,
    AccessControl,
    IOptimismMintableERC20,
    ILegacyMintableERC20,
    IPHAMinter
{
    /// @notice Role allowed to mint through `minterMint` (granted to the migrator).
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @notice Hard cap on total supply: one billion PHA.
    uint256 public constant MAX_SUPPLY = 1_000_000_000 ether;

    /// @notice Most recipients one `minterMintBatch` takes (bounds the loop's gas: ~27k each).
    uint256 public constant MAX_MINT_BATCH = 1000;

    /// @notice Most wei that MINTER_ROLE may ever mint in total; 0 until the admin sets it (then
    ///         only MAX_SUPPLY bounds it). Once set it can only be lowered.
    uint256 public migrationCap;

    /// @notice Wei minted through MINTER_ROLE (`minterMint`, `minterMintBatch`) since deployment.
    uint256 public migrationMinted;

    /// @notice The account MINTER_ROLE was last granted to (it may have renounced it since).
    address private _minter;

    /// @notice Accounts ever granted MINTER_ROLE: once one has lost it, it is never granted it again.
    mapping(address account => bool) public pastMinter;

    /// @notice The OP-stack bridge allowed to `mint` and `burn`.
    /// @dev Upper-case getter names are part of OptimismMintableERC20's ABI (bridges and
    ///      explorers call `BRIDGE()` and `REMOTE_TOKEN()`).
    address public immutable BRIDGE;

    /// @notice The L1 token this token represents (PHA on Ethereum).
    address public immutable REMOTE_TOKEN;

    /// @notice The caller is not the bridge.
    error PHATokenOnlyBridge(address caller);

    /// @notice A constructor argument was the zero address.
    error PHATokenZeroAddress();

    /// @notice A MINTER_ROLE mint would take `migrationMinted` to `minted`, above `cap`.
    error PHATokenMigrationCapExceeded(uint256 minted, uint256 cap);

    /// @notice `cap` is not a valid migration cap: zero, or above the current cap (once set it
    ///         can only be lowered; lowered to `migrationMinted` or below, MINTER_ROLE mints nothing more).
    error PHATokenBadMigrationCap(uint256 cap);

    /// @notice `account` held MINTER_ROLE before and lost it: it can never hold it again.
    error PHATokenMinterRetired(address account);

    /// @notice The migration cap was set (first time) or lowered.
    event MigrationCapSet(uint256 cap);

    /// @notice Emitted when the bridge mints on a deposit.
    event Mint(address indexed account, uint256 amount);

    /// @notice Emitted when the bridge burns on a withdrawal.
    event Burn(address indexed account, uint256 amount);

    modifier onlyBridge() {
        _checkBridge();
        _;
    }

    /// @param admin Receives DEFAULT_ADMIN_ROLE (governance: a timelock or multisig).
    /// @param bridge_ The L2 standard bridge (0x4200000000000000000000000000000000000010 on OP stack).
    /// @param remoteToken_ The L1 PHA token.
    constructor(address admin, address bridge_, address remoteToken_)
        ERC20("Phala Token", "PHA")
        ERC20Permit("Phala Token")
        ERC20Capped(MAX_SUPPLY)
    {
        if (admin == address(0) || bridge_ == address(0) || remoteToken_ == address(0)) {
            revert PHATokenZeroAddress();
        }
        BRIDGE = bridge_;
        REMOTE_TOKEN = remoteToken_;
        AccessControl._grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ---------------------------------------------------------------- bridge

    /// @inheritdoc IOptimismMintableERC20
    function mint(address to, uint256 amount)
        external
        override(IOptimismMintableERC20, ILegacyMintableERC20)
        onlyBridge
    {
        _mint(to, amount);
        emit Mint(to, amount);
    }

    /// @inheritdoc IOptimismMintableERC20
    function burn(address from, uint256 amount)
        external
        override(IOptimismMintableERC20, ILegacyMintableERC20)
        onlyBridge
    {
        _burn(from, amount);
        emit Burn(from, amount);
    }

    /// @inheritdoc IOptimismMintableERC20
    function remoteToken() external view returns (address) {
        return REMOTE_TOKEN;
    }

    /// @inheritdoc IOptimismMintableERC20
    function bridge() external view returns (address) {
        return BRIDGE;
    }

    /// @inheritdoc ILegacyMintableERC20
    function l1Token() external view returns (address) {
        return REMOTE_TOKEN;
    }

    /// @notice Legacy name of `bridge()`.
    function l2Bridge() external view returns (address) {
        return BRIDGE;
    }

    // ---------------------------------------------------------------- minter and holders

    /// @inheritdoc IPHAMinter
    /// @dev Bounded by `MAX_SUPPLY`.
    function minterMint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
        _countMigrationMint(amount);
    }

    /// @inheritdoc IPHAMinter
    /// @dev Same effects as `minterMint` per recipient, in order (balance, `Transfer`, then the
    ///      recipient's delegate's `DelegateVotesChanged` if it delegated). What a batch shares is
    ///      done once, after the loop: the cap and ERC20Votes' safe-supply checks (on the final
    ///      supply: every amount is non-negative, so no intermediate supply exceeds it) and the
    ///      total-supply checkpoint (one push of the sum; checkpoints are keyed by block, so a
    ///      reader sees the same value as after n single mints in this block).
    function minterMintBatch(address[] calldata to, uint256[] calldata amounts)
        external
        onlyRole(MINTER_ROLE)
    {
        uint256 n = to.length;
        if (n != amounts.length) revert PHATokenBatchLengthMismatch(n, amounts.length);
        if (n == 0 || n > MAX_MINT_BATCH) revert PHATokenBadBatchLength(n, MAX_MINT_BATCH);
        uint256 supplyBefore = totalSupply();
        for (uint256 i; i < n; ++i) {
            address recipient = to[i];
            uint256 amount = amounts[i];
            if (recipient == address(0)) revert ERC20InvalidReceiver(address(0));
            // One amount above the cap fails the cap anyway; refusing it here also keeps the
            // running supply far from uint256 overflow (n <= MAX_MINT_BATCH).
            _checkCap(amount);
            // ERC20's own _update: balance, total supply, Transfer. The cap and the vote
            // checkpoints of the overriding _update are done below, once.
            ERC20._update(address(0), recipient, amount);
            // No-op unless the recipient delegated (then from != to): as ERC20Votes would.
            _moveDelegateVotes(address(0), delegates(recipient), amount);
        }
        uint256 supply = totalSupply();
        _checkCap(supply);
        // The total-supply checkpoint for the whole batch. `_transferVotingUnits(0, to, v)` pushes
        // +v on the total and then moves v from delegates(0) to delegates(to); with to = this
        // token the move is a no-op: delegates(this) is always zero, since `_delegate` runs only
        // for msg.sender (`delegate`: the token never calls itself) or an ECDSA signer
        // (`delegateBySig`: no key for a contract address).
        _transferVotingUnits(address(0), address(this), supply - supplyBefore);
        _countMigrationMint(supply - supplyBefore);
    }

    /// @notice Sets the migration cap (wei) the first time, or lowers it.
    /// @dev Admin only, and bounded even for the admin: never zero, never raised once set (a cap
    ///      above MAX_SUPPLY bounds nothing more than ERC20Capped already does). Lowered to
    ///      `migrationMinted` or below, MINTER_ROLE mints nothing more. `ape run migrate deploy` sets it
    ///      to the snapshot total (× 10^6) when it wires the first Migrator.
    /// @param cap The new cap in wei.
    function setMigrationCap(uint256 cap) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 current = migrationCap;
        if (cap == 0 || (current != 0 && cap > current)) revert PHATokenBadMigrationCap(cap);
        migrationCap = cap;
        emit MigrationCapSet(cap);
    }

    /// @notice Burns `amount` of the caller's own tokens.
    function burnOwn(uint256 amount) external {
        _burn(msg.sender, amount);
    }

    // ---------------------------------------------------------------- views

    /// @notice ERC-165: IERC165, IAccessControl, IOptimismMintableERC20 (0xec4fc8e3) and
    ///         ILegacyMintableERC20 (0x1d1d8b63).
    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(AccessControl, IERC165)
        returns (bool)
    {
        return interfaceId == type(IOptimismMintableERC20).interfaceId
            || interfaceId == type(ILegacyMintableERC20).interfaceId || super.supportsInterface(interfaceId);
    }

    /// @inheritdoc ERC20Permit
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    // ---------------------------------------------------------------- internal

    /// @dev The hard cap, as ERC20Capped reports it (shared by the batch's checks).
    function _checkCap(uint256 supply) private pure {
        if (supply > MAX_SUPPLY) revert ERC20ExceededCap(supply, MAX_SUPPLY);
    }

    /// @dev `onlyBridge`'s body, once for both bridge entry points.
    function _checkBridge() private view {
        if (msg.sender != BRIDGE) revert PHATokenOnlyBridge(msg.sender);
    }

    /// @dev Counts a MINTER_ROLE mint against the cap: per call (a whole batch) two reads and one
    ///      write. Unset (0), only MAX_SUPPLY bounds minting; burns never lower the count.
    function _countMigrationMint(uint256 amount) private {
        uint256 cap = migrationCap;
        uint256 minted = migrationMinted + amount;
        if (cap != 0 && minted > cap) revert PHATokenMigrationCapExceeded(minted, cap);
        migrationMinted = minted;
    }

    /// @dev MINTER_ROLE has one holder at most: granting it to a new account revokes it from the
    ///      current one. An account is granted it once in its life: one that held it and lost it
    ///      (revoked, renounced, replaced) is refused for good.
    function _grantRole(bytes32 role, address account) internal override returns (bool granted) {
        granted = super._grantRole(role, account);
        if (granted && role == MINTER_ROLE) {
            if (pastMinter[account]) revert PHATokenMinterRetired(account);
            pastMinter[account] = true;
            address previous = _minter;
            _minter = account;
            _revokeRole(role, previous); // a no-op when it renounced or nobody held it
        }
    }

    /// @dev One hook for every balance change: the cap (ERC20Capped) and vote checkpoints
    ///      (ERC20Votes) both apply to mint, burn and transfer. ERC20Votes' own `_update` is
    ///      its safe-supply check (supply <= 2^208 - 1) followed by `_transferVotingUnits`; the
    ///      cap (MAX_SUPPLY = 10^27 < 2^208 - 1) already refuses any mint that check would, so
    ///      this calls the cap's `_update` (ERC20's, then the cap) and the checkpoints directly.
    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Capped, ERC20Votes) {
        ERC20Capped._update(from, to, value);
        _transferVotingUnits(from, to, value);
    }
}
