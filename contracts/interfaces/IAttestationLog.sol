// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IAttestationLog
/// @notice An append-only, hash-chained log of worker attestations and settled results.
///         The contract stores only the chain head and the entry count; the entries travel in
///         `Appended` events, and anyone can rebuild the chain from them and compare heads.
interface IAttestationLog {
    /// @notice What an entry records.
    enum Kind {
        WorkerAttested, // a worker registered or renewed with a verified quote
        ResultSettled // a job's result was accepted and paid
    }

    /// @notice One log entry as the events carry it.
    struct Entry {
        Kind kind;
        bytes32 subject; // worker attestations: the quote hash; results: the job id
        address worker;
        bytes32 measurement;
        bytes32 dataHash; // attestations: report_data binding; results: the output hash
    }

    /// @notice Emitted for every entry. `head` is the chain head after this entry:
    ///         head = keccak256(abi.encode(previousHead, index, kind, subject, worker,
    ///         measurement, dataHash, time)).
    event Appended(
        uint256 indexed index,
        Kind indexed kind,
        bytes32 indexed subject,
        address worker,
        bytes32 measurement,
        bytes32 dataHash,
        uint64 time,
        bytes32 head
    );

    /// @notice Governance set the writers.
    event WritersSet(address indexed registry, address indexed escrow, address indexed formerEscrow);

    /// @notice The caller may not write to the log, or not entries of this kind.
    error AttestationLogUnauthorized(address caller);

    /// @notice One address was given two writer roles.
    error AttestationLogWritersNotDistinct();

    /// @notice appendBatch was given no entries.
    error AttestationLogEmptyBatch();

    /// @notice Appends one entry; only writers: the registry (WorkerAttested entries) and the
    ///         escrow (ResultSettled entries).
    function append(Entry calldata entry) external returns (uint256 index);

    /// @notice Appends several entries in order with one storage write; only writers.
    function appendBatch(Entry[] calldata entries) external returns (uint256 firstIndex);

    /// @notice The hash-chain head after the last entry (zero for an empty log).
    function head() external view returns (bytes32);

    /// @notice The number of entries appended so far.
    function count() external view returns (uint256);

    /// @notice Sets the writers (governance): the registry, the escrow, and an escrow being
    ///         replaced that may still settle its open jobs (zero once it has none). Zero
    ///         disables a writer; non-zero addresses must be distinct.
    function setWriters(address registry_, address escrow_, address formerEscrow_) external;

    /// @notice The writer of WorkerAttested entries.
    function registry() external view returns (address);

    /// @notice The writer of ResultSettled entries.
    function escrow() external view returns (address);

    /// @notice An escrow being replaced: it may still write ResultSettled entries.
    function formerEscrow() external view returns (address);
}
