// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

import {IAttestationLog} from "./interfaces/IAttestationLog.sol";

/// @title AttestationLog
/// @notice Append-only hash chain of worker attestations and settled results.
/// @dev Invariants:
///      - `count` only grows, by exactly one per entry;
///      - `head` after entry i is keccak256(abi.encode(head before, i, kind, subject, worker,
///        measurement, dataHash, time)) and every entry's event carries the head after it, so a
///        rebuilt chain that disagrees with the stored head pinpoints the first bad event.
///      Only WRITER_ROLE (the registry and the escrow) appends; nothing ever deletes or edits.
contract AttestationLog is IAttestationLog, AccessControl {
    /// @notice Role of the contracts allowed to append (WorkerRegistry, JobEscrow).
    bytes32 public constant WRITER_ROLE = keccak256("WRITER_ROLE");

    /// @dev Chain head and entry count share nothing; each is one slot, written once per call.
    bytes32 private _head;
    uint256 private _count;

    /// @param admin Governance: grants and revokes WRITER_ROLE.
    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc IAttestationLog
    function append(Entry calldata entry) external returns (uint256 index) {
        _checkWriter();
        index = _count;
        _head = _link(_head, index, entry);
        _count = index + 1;
    }

    /// @inheritdoc IAttestationLog
    function appendBatch(Entry[] calldata entries) external returns (uint256 firstIndex) {
        _checkWriter();
        firstIndex = _count;
        bytes32 current = _head;
        uint256 n = entries.length;
        for (uint256 i = 0; i < n; ++i) {
            current = _link(current, firstIndex + i, entries[i]);
        }
        _head = current;
        // Every entry was emitted by _link with its index and the head after it.
        // slither-disable-next-line events-maths
        _count = firstIndex + n;
    }

    /// @inheritdoc IAttestationLog
    function head() external view returns (bytes32) {
        return _head;
    }

    /// @inheritdoc IAttestationLog
    function count() external view returns (uint256) {
        return _count;
    }

    function _checkWriter() private view {
        if (!hasRole(WRITER_ROLE, msg.sender)) revert AttestationLogUnauthorized(msg.sender);
    }

    /// @dev Computes the next head and emits the entry with it.
    function _link(bytes32 previous, uint256 index, Entry calldata entry) private returns (bytes32 next) {
        uint64 time = uint64(block.timestamp);
        next = keccak256(
            abi.encode(
                previous, index, entry.kind, entry.subject, entry.worker, entry.measurement, entry.dataHash, time
            )
        );
        emit Appended(index, entry.kind, entry.subject, entry.worker, entry.measurement, entry.dataHash, time, next);
    }
}
