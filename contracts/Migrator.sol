// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IMigrator} from "./interfaces/IMigrator.sol";
import {IPHAMinter} from "./interfaces/IPHAMinter.sol";

/// @title Migrator
/// @notice Swaps the parachain snapshot into the L2 PHA 1:1, in batches proven by one multiproof.
/// @dev Invariants:
///      - the root, total and account count are immutable (a correction is a new migrator);
///      - each leaf index is minted at most once (bitmap, one bit per leaf);
///      - `totalMigrated <= SNAPSHOT_TOTAL` (planck) at all times; minted wei = planck × 10^6;
///      - after `close()` nothing can be minted by this contract ever again.
///      The recipient binding (an sr25519 signature) is not verifiable on-chain at sane cost: its
///      hash is emitted per account and `migrate audit` re-verifies every mint off-chain.
contract Migrator is IMigrator, AccessControl, Pausable, ReentrancyGuardTransient {
    // ---------------------------------------------------------------- state

    /// @notice Role allowed to push batches.
    bytes32 public constant OPERATOR_ROLE = keccak256("MIGRATION_OPERATOR_ROLE");

    /// @notice Planck (12 decimals) to wei (18 decimals).
    uint256 public constant SCALE = 1e6;

    /// @notice The token minted (PHAToken; this contract holds its MINTER_ROLE).
    address public immutable TOKEN;

    /// @notice Merkle root of the snapshot.
    bytes32 public immutable MERKLE_ROOT;

    /// @notice Sum of all leaf amounts, in planck.
    uint256 public immutable SNAPSHOT_TOTAL;

    /// @notice Number of leaves.
    uint256 public immutable ACCOUNT_COUNT;

    /// @notice From this timestamp the admin may close the migration.
    uint256 public immutable CLOSES_AT;

    /// @notice Planck migrated so far.
    uint256 public totalMigrated;

    /// @notice Accounts migrated so far.
    uint256 public accountsMigrated;

    /// @notice True once closed.
    bool public closed;

    /// @dev Bit `i % 256` of word `i / 256` is set once leaf `i` is migrated.
    mapping(uint256 word => uint256 bits) private _migrated;

    // ---------------------------------------------------------------- constructor

    /// @param token The PHA token (grant it this contract's MINTER_ROLE after deployment).
    /// @param root The snapshot's Merkle root.
    /// @param total The snapshot total in planck.
    /// @param accountCount The number of leaves.
    /// @param closesAt Timestamp from which the admin may close the migration.
    /// @param admin Receives DEFAULT_ADMIN_ROLE (pause, close, roles).
    /// @param operator Receives OPERATOR_ROLE (pushes batches).
    constructor(
        address token,
        bytes32 root,
        uint256 total,
        uint256 accountCount,
        uint256 closesAt,
        address admin,
        address operator
    ) {
        if (token == address(0) || admin == address(0) || operator == address(0)) revert MigratorZeroAddress();
        if (root == bytes32(0) || total == 0 || accountCount == 0) revert MigratorEmptySnapshot();
        if (closesAt <= block.timestamp) revert MigratorBadWindow(closesAt, block.timestamp);
        TOKEN = token;
        MERKLE_ROOT = root;
        SNAPSHOT_TOTAL = total;
        ACCOUNT_COUNT = accountCount;
        CLOSES_AT = closesAt;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(OPERATOR_ROLE, operator);
    }

    // ---------------------------------------------------------------- restricted

    // Checks, effects, then interactions in one function, in that order, on purpose: splitting it
    // would spread the accounting of one batch over several functions.
    // slither-disable-start cyclomatic-complexity
    /// @inheritdoc IMigrator
    function migrate(Migration[] calldata batch, bytes32[] calldata proof, bool[] calldata proofFlags)
        external
        onlyRole(OPERATOR_ROLE)
        whenNotPaused
        nonReentrant
    {
        if (closed) revert MigratorIsClosed();
        uint256 n = batch.length;
        if (n == 0) revert MigratorEmptyBatch();

        // Checks and effects: mark every leaf, sum the amounts. The bitmap word is cached in
        // memory while consecutive entries share it, so contiguous batches cost one SSTORE per word.
        bytes32[] memory leaves = new bytes32[](n);
        uint256 amountSum = 0;
        uint256 wordIndex = type(uint256).max;
        uint256 word = 0;
        for (uint256 i; i < n; ++i) {
            Migration calldata m = batch[i];
            uint256 index = m.index;
            if (index >= ACCOUNT_COUNT) revert MigratorIndexOutOfRange(index, ACCOUNT_COUNT);
            if (m.recipient == address(0)) revert MigratorZeroRecipient(index);
            uint256 w = index >> 8;
            if (w != wordIndex) {
                if (wordIndex != type(uint256).max) _migrated[wordIndex] = word;
                wordIndex = w;
                word = _migrated[w];
            }
            uint256 bit = 1 << (index & 0xff);
            if (word & bit != 0) revert MigratorAlreadyMigrated(index, m.account);
            word |= bit;
            leaves[i] = _leaf(index, m.account, m.amount);
            amountSum += m.amount;
        }
        _migrated[wordIndex] = word;

        if (!MerkleProof.multiProofVerifyCalldata(proof, proofFlags, MERKLE_ROOT, leaves)) {
            revert MigratorInvalidProof();
        }
        uint256 newTotal = totalMigrated + amountSum;
        if (newTotal > SNAPSHOT_TOTAL) revert MigratorExceedsSnapshot(newTotal, SNAPSHOT_TOTAL);
        totalMigrated = newTotal;
        accountsMigrated += n;
        emit BatchMigrated(keccak256(abi.encode(batch)), n, amountSum, newTotal);

        // Interactions: the token is ours and has no receive hooks; the guard covers the rest.
        for (uint256 i; i < n; ++i) {
            Migration calldata m = batch[i];
            emit Migrated(m.account, m.recipient, m.index, m.amount, m.bindingHash);
            // One mint per recipient is the point of a batch; the token is the immutable PHA
            // and a failing mint should revert the whole batch (nothing is marked then).
            // slither-disable-next-line calls-loop
            IPHAMinter(TOKEN).minterMint(m.recipient, m.amount * SCALE);
        }
    }
    // slither-disable-end cyclomatic-complexity

    /// @inheritdoc IMigrator
    function close() external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (closed) revert MigratorIsClosed();
        if (block.timestamp < CLOSES_AT) revert MigratorWindowOpen(CLOSES_AT);
        closed = true;
        emit MigrationClosed(totalMigrated, SNAPSHOT_TOTAL - totalMigrated);
        IAccessControl(TOKEN).renounceRole(keccak256("MINTER_ROLE"), address(this));
    }

    /// @inheritdoc IMigrator
    function pause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _pause();
    }

    /// @inheritdoc IMigrator
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IMigrator
    function isMigrated(uint256 index) external view returns (bool) {
        return _migrated[index >> 8] & (1 << (index & 0xff)) != 0;
    }

    /// @inheritdoc IMigrator
    function migratedWords(uint256 firstWord, uint256 count) external view returns (uint256[] memory words) {
        words = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            words[i] = _migrated[firstWord + i];
        }
    }

    /// @inheritdoc IMigrator
    function leafHash(uint256 index, bytes32 account, uint256 amount) external pure returns (bytes32) {
        return _leaf(index, account, amount);
    }

    // ---------------------------------------------------------------- internal

    /// @dev OpenZeppelin's standard leaf: keccak256(bytes.concat(keccak256(abi.encode(values)))).
    function _leaf(uint256 index, bytes32 account, uint256 amount) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(index, account, amount))));
    }
}
