// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IQuoteVerifier} from "../interfaces/IQuoteVerifier.sol";
import {QuoteParser} from "./QuoteParser.sol";
import {Sha384} from "./Sha384.sol";

/// @title DstackAppLog
/// @notice Proves a dstack app's compose hash from its RTMR3 event log against a TDX quote: the
///         logged digests, replayed from 48 zero bytes (`rtmr3 = sha384(rtmr3 || digest)`), must
///         give the quote's RTMR3, and the app's `compose-hash` runtime event must be among them.
/// @dev Evidence (the app-log form of a verifier's `evidence` bytes):
///          bytes.concat(EVIDENCE_TAG, abi.encode(bytes inner, bytes digests, bytes[] preimages))
///      - `inner`: the verifier's own evidence in its old form (Automata: empty or the ZK tuple;
///        development verifier: empty).
///      - `digests`: the 48-byte digests of every IMR-3 event in log order, concatenated
///        (1..MAX_EVENTS of them).
///      - `preimages`: for the first k + 1 IMR-3 events, where event k is the app's compose-hash
///        event, the bytes dstack hashed into each digest: le32(event_type) || ":" || name || ":" ||
///        payload. The last one must be the compose-hash event with a 32-byte payload (the compose
///        hash); none before it may be a compose-hash event.
///      Why the earlier preimages: once the app runs, it can extend RTMR3 itself, including with an
///      event that looks like a compose-hash event. dstack logs its own compose-hash event before
///      the app starts, so the first compose-hash event of the log is the genuine one; the earlier
///      preimages prove that the given one is the first (two cheap hashes for dstack's logs).
///      MRCONFIGID, when not zero, must carry the same compose hash (`_checkConfigId`).
///      Runtime events with dstack's (unreleased) canonical-JSON digests are not accepted as the
///      compose event, but are recognised as compose events before it.
library DstackAppLog {
    /// @notice First 4 bytes of app-log evidence: bytes4(keccak256("PHA.DstackAppLog.v1")). Its first
    ///         byte is not zero, so it never begins an ABI-encoded ZK tuple (a uint8 word comes first).
    bytes4 internal constant EVIDENCE_TAG = bytes4(keccak256("PHA.DstackAppLog.v1"));
    /// @notice Most IMR-3 events a log may have here (dstack 0.5 logs 9).
    uint256 internal constant MAX_EVENTS = 64;
    uint256 internal constant DIGEST_LENGTH = 48;
    /// @notice How a compose-hash event's preimage starts: le32(0x08000001) || ":compose-hash:".
    bytes18 internal constant COMPOSE_PREFIX = bytes18(abi.encodePacked(hex"01000008", ":compose-hash:"));
    uint256 internal constant COMPOSE_PREIMAGE_LENGTH = 18 + 32;
    /// @notice How dstack's (unreleased) canonical-JSON form of a compose-hash event starts.
    bytes22 internal constant COMPOSE_JSON_PREFIX = bytes22('{"name":"compose-hash"');

    /// @notice The quote is not a TDX quote (only TDX has RTMR3).
    error DstackAppLogNotTdx();
    /// @notice `digests` is empty or not a whole number of 48-byte digests.
    error DstackAppLogBadDigestsLength(uint256 length);
    /// @notice More IMR-3 events than `MAX_EVENTS`.
    error DstackAppLogTooManyEvents(uint256 count, uint256 max);
    /// @notice No preimages, or more preimages than events.
    error DstackAppLogBadPreimageCount(uint256 preimages, uint256 events);
    /// @notice The last preimage is not a compose-hash event.
    error DstackAppLogNotComposeEvent(uint256 index);
    /// @notice The compose-hash event's payload is not exactly 32 bytes.
    error DstackAppLogBadComposeHashLength(uint256 length);
    /// @notice An event before the given compose-hash event is a compose-hash event too.
    error DstackAppLogEarlierComposeEvent(uint256 index);
    /// @notice sha384 of preimage `index` is not the logged digest of event `index`.
    error DstackAppLogDigestMismatch(uint256 index);
    /// @notice The replayed digests do not give the quote's RTMR3.
    error DstackAppLogReplayMismatch();
    /// @notice The compose hash is zero (it would read as "no compose hash").
    error DstackAppLogZeroComposeHash();
    /// @notice MRCONFIGID is neither zero nor one of dstack's forms carrying this compose hash.
    error DstackAppLogConfigIdMismatch();

    /// @notice Whether `evidence` is in the app-log form.
    function isAppLog(bytes calldata evidence) internal pure returns (bool) {
        return evidence.length >= 4 && bytes4(evidence[:4]) == EVIDENCE_TAG;
    }

    /// @notice Split app-log evidence (see the library notes) into its three parts.
    function decode(bytes calldata evidence)
        internal
        pure
        returns (bytes memory inner, bytes memory digests, bytes[] memory preimages)
    {
        (inner, digests, preimages) = abi.decode(evidence[4:], (bytes, bytes, bytes[]));
    }

    /// @notice Check the log against the TDX quote and return the compose hash it proves.
    function composeHash(
        bytes calldata quote,
        QuoteParser.Quote memory q,
        bytes memory digests,
        bytes[] memory preimages
    ) internal pure returns (bytes32 compose) {
        if (q.teeType != IQuoteVerifier.TeeType.TDX) revert DstackAppLogNotTdx();
        uint256 count = digests.length / DIGEST_LENGTH;
        if (count == 0 || digests.length % DIGEST_LENGTH != 0) revert DstackAppLogBadDigestsLength(digests.length);
        if (count > MAX_EVENTS) revert DstackAppLogTooManyEvents(count, MAX_EVENTS);
        uint256 last = preimages.length;
        if (last == 0 || last > count) revert DstackAppLogBadPreimageCount(last, count);
        last -= 1;

        _checkPreimages(digests, preimages, last);
        // The payload: the 32 bytes after the 18-byte prefix of the last preimage.
        bytes memory event_ = preimages[last];
        // slither-disable-next-line assembly
        assembly ("memory-safe") {
            // Assembly: one 32-byte read at an offset of a memory `bytes` (in bounds: length is 50).
            compose := mload(add(event_, 50))
        }
        if (compose == bytes32(0)) revert DstackAppLogZeroComposeHash();

        (bytes32 rtHigh, bytes16 rtLow) = replay(digests);
        uint256 b = q.bodyOffset;
        if (rtHigh != bytes32(quote[b + 472:b + 504]) || rtLow != bytes16(quote[b + 504:b + 520])) {
            revert DstackAppLogReplayMismatch();
        }
        _checkConfigId(quote[b + 184:b + 232], compose);
    }

    /// @notice RTMR replay: from 48 zero bytes, register = sha384(register || digest) for each
    ///         48-byte digest of `digests` in order; the result as its first 32 and last 16 bytes.
    function replay(bytes memory digests) internal pure returns (bytes32 high, bytes16 low) {
        bytes memory step = new bytes(2 * DIGEST_LENGTH);
        uint256 count = digests.length / DIGEST_LENGTH;
        for (uint256 i = 0; i < count; ++i) {
            // slither-disable-next-line assembly
            assembly ("memory-safe") {
                // Assembly: step = register || digest i, written in place (3 stores, no allocation).
                mstore(add(step, 32), high)
                mstore(add(step, 64), low) // its 16 trailing zero bytes are overwritten next
                mcopy(add(step, 80), add(add(digests, 32), mul(i, 48)), 48)
            }
            (high, low) = Sha384.hashWords(step);
        }
    }

    /// @dev Preimage `last` is a compose-hash event with a 32-byte payload, none before it is a
    ///      compose-hash event, and each preimage hashes to its event's logged digest.
    function _checkPreimages(bytes memory digests, bytes[] memory preimages, uint256 last) private pure {
        bytes memory event_ = preimages[last];
        if (event_.length < 18 || bytes18(event_) != COMPOSE_PREFIX) revert DstackAppLogNotComposeEvent(last);
        if (event_.length != COMPOSE_PREIMAGE_LENGTH) revert DstackAppLogBadComposeHashLength(event_.length - 18);
        for (uint256 i = 0; i <= last; ++i) {
            event_ = preimages[i];
            if (i < last && _isComposeEvent(event_)) revert DstackAppLogEarlierComposeEvent(i);
            if (!digestMatches(digests, i, event_)) revert DstackAppLogDigestMismatch(i);
        }
    }

    /// @dev MRCONFIGID (48 bytes) must be zero, 0x01 || compose || 15 zero bytes (dstack >= 0.5.2,
    ///      version 1) or compose || 16 zero bytes (dstack 0.5.1). dstack's version 2 (a keccak of
    ///      compose hash, app id and key provider) is refused: the evidence does not carry those.
    function _checkConfigId(bytes calldata configId, bytes32 compose) private pure {
        bytes32 head = bytes32(configId[:32]);
        bytes16 tail = bytes16(configId[32:]);
        if (head == bytes32(0) && tail == bytes16(0)) return;
        if (head == compose && tail == bytes16(0)) return;
        if (configId[0] == 0x01 && bytes32(configId[1:33]) == compose && bytes15(configId[33:]) == bytes15(0)) return;
        revert DstackAppLogConfigIdMismatch();
    }

    /// @dev Whether a preimage is a compose-hash event in either of dstack's digest forms.
    function _isComposeEvent(bytes memory preimage) private pure returns (bool) {
        return (preimage.length >= 18 && bytes18(preimage) == COMPOSE_PREFIX)
            || (preimage.length >= 22 && bytes22(preimage) == COMPOSE_JSON_PREFIX);
    }

    /// @notice Whether digest `i` of `digests` (in bounds: callers check) is sha384(`preimage`).
    function digestMatches(bytes memory digests, uint256 i, bytes memory preimage)
        internal
        pure
        returns (bool ok)
    {
        (bytes32 high, bytes16 low) = Sha384.hashWords(preimage);
        // slither-disable-next-line assembly
        assembly ("memory-safe") {
            // Assembly: compare a 48-byte item of packed memory bytes in two word reads.
            let at := add(add(digests, 32), mul(i, 48))
            ok := and(eq(mload(at), high), eq(and(mload(add(at, 32)), not(sub(shl(128, 1), 1))), low))
        }
    }
}
