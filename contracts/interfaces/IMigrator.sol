// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IMigrator
/// @notice The 1:1 swap of parachain PHA (12 decimals) into the L2 ERC-20 (18 decimals).
/// @dev Leaves of the snapshot tree are OpenZeppelin "standard" double-hashed leaves over
///      `abi.encode(uint256 index, bytes32 account, uint256 amount)` (amount in planck), laid out
///      in index order (StandardMerkleTree with `sortLeaves: false`), pairs hashed sorted.
interface IMigrator {
    /// @notice One account of a batch: the snapshot leaf and where it goes.
    /// @param index Position of the leaf in the snapshot (accounts sorted by public key).
    /// @param account The Substrate account's 32-byte public key.
    /// @param amount The snapshot amount in planck (10^-12 PHA).
    /// @param recipient The EVM address the holder bound the account to.
    /// @param bindingHash keccak256 of the holder's binding signature (checked off-chain by `migrate audit`).
    struct Migration {
        uint256 index;
        bytes32 account;
        uint256 amount;
        address recipient;
        bytes32 bindingHash;
    }

    /// @notice A constructor argument was the zero address.
    error MigratorZeroAddress();
    /// @notice The snapshot given at deployment is empty (zero root, total or count).
    error MigratorEmptySnapshot();
    /// @notice The snapshot total is above 2^128 - 1 planck or its account count above 2^64 - 1.
    error MigratorSnapshotTooLarge(uint256 total, uint256 accountCount);
    /// @notice The closing time is not in the future.
    error MigratorBadWindow(uint256 closesAt, uint256 nowTimestamp);
    /// @notice A batch held no account.
    error MigratorEmptyBatch();
    /// @notice A batch held more accounts than `MAX_BATCH`.
    error MigratorBatchTooLarge(uint256 count, uint256 max);
    /// @notice The leaf at `index` was already migrated (earlier, or twice in this batch).
    error MigratorAlreadyMigrated(uint256 index, bytes32 account);
    /// @notice The leaf index is beyond the snapshot.
    error MigratorIndexOutOfRange(uint256 index, uint256 accountCount);
    /// @notice A batch entry had the zero address as recipient.
    error MigratorZeroRecipient(uint256 index);
    /// @notice The multiproof does not prove the batch's leaves against the root.
    error MigratorInvalidProof();
    /// @notice Migrating the batch would exceed the snapshot total (planck).
    error MigratorExceedsSnapshot(uint256 wouldBeMigrated, uint256 snapshotTotal);
    /// @notice The migration was closed.
    error MigratorIsClosed();
    /// @notice The window is still open: closing is possible from `closesAt`.
    error MigratorWindowOpen(uint256 closesAt);
    /// @notice The predecessor named at deployment is not a Migrator of the same token.
    error MigratorBadPredecessor(address predecessor);
    /// @notice The token has no migration cap yet: nothing is minted until governance sets it.
    error MigratorNoMigrationCap();

    /// @notice One account migrated: `amount` planck became `amount * 10^6` wei at `recipient`.
    /// @dev The leaf index is not repeated here (256 gas per account): an account is one leaf of
    ///      the snapshot (accounts are unique and sorted), and the batch's `recordsHash` covers it.
    event Migrated(bytes32 indexed account, address indexed recipient, uint256 amount, bytes32 bindingHash);

    /// @notice One batch pushed. `recordsHash` is keccak256(abi.encode(batch)) (the Migration[]
    ///         array as sent), so the published binding records can be matched to the batch.
    /// @dev Emitted once per `migrate`, after the batch's `Migrated` events.
    event BatchMigrated(bytes32 indexed recordsHash, uint256 count, uint256 amount, uint256 totalMigrated);

    /// @notice The migration was closed; `unclaimed` planck of the snapshot will never be minted.
    event MigrationClosed(uint256 totalMigrated, uint256 unclaimed);

    /// @notice Mints each account of `batch` 1:1 (×10^6) to its recipient, at most once per leaf.
    /// @dev Only the migration operator, while not paused or closed; 1 to `MAX_BATCH` entries,
    ///      minted with one `PHAToken.minterMintBatch`. Entries must be in ascending leaf index
    ///      order (the order of OpenZeppelin's multiproof for this layout).
    /// @param batch The accounts, ascending by index.
    /// @param proof The multiproof's sibling hashes.
    /// @param proofFlags The multiproof's flags.
    function migrate(Migration[] calldata batch, bytes32[] calldata proof, bool[] calldata proofFlags)
        external;

    /// @notice Ends the migration after its window; what was not claimed is never minted.
    /// @dev Only the admin, only from `CLOSES_AT`. Renounces the migrator's MINTER_ROLE.
    function close() external;

    /// @notice Pauses `migrate` (admin, or the emergency guardian: GUARDIAN_ROLE; only the admin unpauses).
    function pause() external;

    /// @notice Resumes `migrate` (admin).
    function unpause() external;

    /// @notice Whether the leaf at `index` was migrated.
    /// @param index The leaf index.
    /// @return True once migrated.
    function isMigrated(uint256 index) external view returns (bool);

    /// @notice `count` words of the migrated bitmap from word `firstWord` (bit i of word w = leaf 256w+i).
    /// @param firstWord The first word.
    /// @param count How many words.
    /// @return words The bitmap words.
    function migratedWords(uint256 firstWord, uint256 count) external view returns (uint256[] memory words);

    /// @notice Bitmap word `wordIndex` over this migrator and every predecessor: a leaf whose bit
    ///         is set was paid by one of them and can never be migrated here.
    /// @param wordIndex The word (leaves 256·wordIndex .. 256·wordIndex + 255).
    /// @return The OR of this migrator's word and its predecessors'.
    function claimedWord(uint256 wordIndex) external view returns (uint256);

    /// @notice `count` words of `claimedWord` from word `firstWord`.
    /// @param firstWord The first word.
    /// @param count How many words.
    /// @return words The words.
    function claimedWords(uint256 firstWord, uint256 count) external view returns (uint256[] memory words);

    /// @notice The leaf hash for (index, account, amount) as the contract computes it.
    /// @param index The leaf index.
    /// @param account The public key.
    /// @param amount The amount in planck.
    /// @return The double-hashed leaf.
    function leafHash(uint256 index, bytes32 account, uint256 amount) external pure returns (bytes32);
}
