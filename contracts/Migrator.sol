// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IMigrationCap} from "./interfaces/IMigrationCap.sol";
import {IMigrator} from "./interfaces/IMigrator.sol";
import {IPHAMinter} from "./interfaces/IPHAMinter.sol";

/// @title Migrator
/// @notice Swaps the parachain snapshot into the L2 PHA 1:1, in batches proven by one multiproof.
/// @dev Invariants:
///      - the root, total and account count are immutable (a correction is a new migrator);
///      - each leaf index is minted at most once (bitmap, one bit per leaf);
///      - `totalMigrated <= SNAPSHOT_TOTAL` (planck) at all times; minted wei = planck × 10^6;
///      - after `close()` nothing can be minted by this contract ever again;
///      - a replacement names the Migrator it replaces (`PREDECESSOR`, same token, same leaf index
///        space): a leaf any predecessor migrated is refused here too (`claimedWord`), so an
///        account is paid once across the whole lineage. The token makes the lineage linear:
///        one MINTER_ROLE holder at a time, and a replaced one can never mint again;
///      - nothing is minted while the token's migration cap is unset (the token then bounds the
///        sum over every migrator by that cap, even against governance).
///      The recipient binding (an sr25519 signature) is not verifiable on-chain at sane cost: its
///      hash is emitted per account and `migrate audit` re-verifies every mint off-chain.
contract Migrator is IMigrator, AccessControl, Pausable, ReentrancyGuardTransient {
    // ---------------------------------------------------------------- state

    /// @notice Role allowed to push batches.
    bytes32 public constant OPERATOR_ROLE = keccak256("MIGRATION_OPERATOR_ROLE");
    /// @notice The emergency guardian: may pause migration, nothing else (docs/governance.md).
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

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

    /// @notice The Migrator this one replaces (zero for the first): its claimed leaves stay claimed.
    address public immutable PREDECESSOR;

    /// @notice Most accounts in one batch (the token's `MAX_MINT_BATCH`).
    uint256 public constant MAX_BATCH = 1000;

    // One storage slot for the three (read and written once per batch).

    /// @notice Planck migrated so far.
    uint128 public totalMigrated;

    /// @notice Accounts migrated so far.
    uint64 public accountsMigrated;

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
    /// @param predecessor The Migrator this one replaces, on the same token (zero for the first).
    ///        The replacement's snapshot keeps its predecessor's leaf indices for the accounts
    ///        they share (`ape run migrate deploy` checks this before deploying).
    constructor(
        address token,
        bytes32 root,
        uint256 total,
        uint256 accountCount,
        uint256 closesAt,
        address admin,
        address operator,
        address predecessor
    ) {
        if (token == address(0) || admin == address(0) || operator == address(0)) revert MigratorZeroAddress();
        if (root == bytes32(0) || total == 0 || accountCount == 0) revert MigratorEmptySnapshot();
        if (total > type(uint128).max || accountCount > type(uint64).max) {
            revert MigratorSnapshotTooLarge(total, accountCount);
        }
        if (closesAt <= block.timestamp) revert MigratorBadWindow(closesAt, block.timestamp);
        if (predecessor != address(0) && Migrator(predecessor).TOKEN() != token) {
            revert MigratorBadPredecessor(predecessor);
        }
        PREDECESSOR = predecessor;
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
        // The token bounds every migrator together by its cap; without one, mint nothing. (The
        // read warms the slot the token's own cap check reads next.)
        if (IMigrationCap(TOKEN).migrationCap() == 0) revert MigratorNoMigrationCap();
        uint256 n = batch.length;
        if (n == 0) revert MigratorEmptyBatch();
        if (n > MAX_BATCH) revert MigratorBatchTooLarge(n, MAX_BATCH);
        // First, while memory is empty: the arrays below then reuse the memory this hash expanded.
        bytes32 recordsHash = _recordsHash(batch);

        (bytes32[] memory leaves, address[] memory recipients, uint256[] memory amounts, uint256 amountSum) =
            _markAndEmit(batch);

        if (!MerkleProof.multiProofVerifyCalldata(proof, proofFlags, MERKLE_ROOT, leaves)) {
            revert MigratorInvalidProof();
        }
        uint256 newTotal = totalMigrated + amountSum;
        if (newTotal > SNAPSHOT_TOTAL) revert MigratorExceedsSnapshot(newTotal, SNAPSHOT_TOTAL);
        // Both fit: newTotal <= SNAPSHOT_TOTAL < 2^128 and the count <= ACCOUNT_COUNT < 2^64
        // (constructor), as each leaf is counted once.
        totalMigrated = uint128(newTotal);
        accountsMigrated += uint64(n);
        emit BatchMigrated(recordsHash, n, amountSum, newTotal);

        // Interaction: one call for the batch. The token is the immutable PHA, has no receive
        // hooks, and a failing mint reverts the whole batch (nothing is marked then).
        IPHAMinter(TOKEN).minterMintBatch(recipients, amounts);
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
    function pause() external {
        if (!hasRole(GUARDIAN_ROLE, msg.sender)) _checkRole(DEFAULT_ADMIN_ROLE);
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
    function claimedWord(uint256 wordIndex) public view returns (uint256) {
        uint256 word = _migrated[wordIndex];
        // A view into the immutable predecessor (same token, checked at construction); the only
        // loop over it is `claimedWords`, a view whose length the (off-chain) caller chooses.
        // slither-disable-next-line calls-loop
        return PREDECESSOR == address(0) ? word : word | IMigrator(PREDECESSOR).claimedWord(wordIndex);
    }

    /// @inheritdoc IMigrator
    function claimedWords(uint256 firstWord, uint256 count) external view returns (uint256[] memory words) {
        words = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            words[i] = claimedWord(firstWord + i);
        }
    }

    /// @inheritdoc IMigrator
    function leafHash(uint256 index, bytes32 account, uint256 amount) external pure returns (bytes32) {
        return _leaf(index, account, amount);
    }

    // ---------------------------------------------------------------- internal

    /// @dev Checks and effects of `migrate` in one pass over the batch: checks each entry, marks
    ///      its leaf in the bitmap, hashes the leaf, records where its wei goes and emits its
    ///      `Migrated` event. The bitmap word is cached while consecutive entries share it, so a
    ///      contiguous batch costs one SSTORE per 256 leaves; a replacement also reads the
    ///      predecessors' word once per word (one view call). The caller verifies the proof and
    ///      the total afterwards; a revert there undoes all of this.
    function _markAndEmit(Migration[] calldata batch)
        internal
        returns (bytes32[] memory leaves, address[] memory recipients, uint256[] memory amounts, uint256 amountSum)
    {
        uint256 n = batch.length;
        leaves = new bytes32[](n);
        recipients = new address[](n);
        amounts = new uint256[](n);
        uint256 wordIndex = type(uint256).max;
        uint256 word = 0;
        uint256 earlier = 0; // the predecessors' bits of the current word
        for (uint256 i; i < n; ++i) {
            Migration calldata m = batch[i];
            uint256 index = m.index;
            uint256 amount = m.amount;
            address recipient = m.recipient;
            if (index >= ACCOUNT_COUNT) revert MigratorIndexOutOfRange(index, ACCOUNT_COUNT);
            if (recipient == address(0)) revert MigratorZeroRecipient(index);
            if (index >> 8 != wordIndex) {
                if (wordIndex != type(uint256).max) _migrated[wordIndex] = word;
                wordIndex = index >> 8;
                word = _migrated[wordIndex];
                // slither-disable-next-line calls-loop
                if (PREDECESSOR != address(0)) earlier = IMigrator(PREDECESSOR).claimedWord(wordIndex);
            }
            uint256 bit = 1 << (index & 0xff);
            if ((word | earlier) & bit != 0) revert MigratorAlreadyMigrated(index, m.account);
            word |= bit;
            leaves[i] = _leaf(index, m.account, amount);
            recipients[i] = recipient;
            amounts[i] = amount * SCALE;
            amountSum += amount;
            emit Migrated(m.account, recipient, amount, m.bindingHash);
        }
        _migrated[wordIndex] = word;
    }

    // Assembly, on purpose: both hashes run once per account (leaf) or over the whole batch
    // (recordsHash); in Solidity each would allocate memory that is never reused, and memory
    // expansion is quadratic in a 200-account batch. Both only write past the free memory pointer
    // (scratch) and the 0x00 scratch slot, and are tested against the off-chain hashes.
    // slither-disable-start assembly
    /// @dev OpenZeppelin's standard leaf: keccak256(bytes.concat(keccak256(abi.encode(values)))),
    ///      hashed in scratch memory past the free memory pointer (not allocated: once per account).
    function _leaf(uint256 index, bytes32 account, uint256 amount) internal pure returns (bytes32 leaf) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, index)
            mstore(add(ptr, 0x20), account)
            mstore(add(ptr, 0x40), amount)
            mstore(0x00, keccak256(ptr, 0x60))
            leaf := keccak256(0x00, 0x20)
        }
    }

    /// @dev keccak256(abi.encode(batch)) without re-encoding: `Migration` is a static struct, so
    ///      the encoding is the word 0x20, the length, then the calldata elements as sent. Every
    ///      field is read (and so ABI-validated: an address with dirty upper bits reverts) in
    ///      `migrate`, so the calldata bytes are the canonical encoding.
    function _recordsHash(Migration[] calldata batch) internal pure returns (bytes32 hash) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let size := mul(batch.length, 0xa0)
            mstore(ptr, 0x20)
            mstore(add(ptr, 0x20), batch.length)
            calldatacopy(add(ptr, 0x40), batch.offset, size)
            hash := keccak256(ptr, add(size, 0x40))
        }
    }
    // slither-disable-end assembly
}
