// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {DstackAppLog} from "../libraries/DstackAppLog.sol";
import {QuoteParser} from "../libraries/QuoteParser.sol";

/// @title TestDstackAppLog
/// @notice TEST FIXTURE ONLY (never deployed by pha.deploy): exposes the DstackAppLog library, and
///         the gas its checks take, on real quotes and logs.
contract TestDstackAppLog {
    /// @notice DstackAppLog.composeHash of app-log `evidence` for `quote`.
    function composeHash(bytes calldata quote, bytes calldata evidence) external pure returns (bytes32) {
        (, bytes memory digests, bytes[] memory preimages) = DstackAppLog.decode(evidence);
        return DstackAppLog.composeHash(quote, QuoteParser.parse(quote), digests, preimages);
    }

    /// @notice DstackAppLog.replay: the register the digests give, 48 bytes.
    function replay(bytes memory digests) external pure returns (bytes memory) {
        (bytes32 high, bytes16 low) = DstackAppLog.replay(digests);
        return abi.encodePacked(high, low);
    }

    /// @notice Gas of the whole check (decode, digests, replay, MRCONFIGID), and of the replay plus
    ///         one compose-event digest alone (the issue's `dstack.rtmr3_replay_gas` figure).
    function measure(bytes calldata quote, bytes calldata evidence)
        external
        view
        returns (bytes32 compose, uint256 checkGas, uint256 replayGas)
    {
        uint256 start = gasleft();
        (, bytes memory digests, bytes[] memory preimages) = DstackAppLog.decode(evidence);
        compose = DstackAppLog.composeHash(quote, QuoteParser.parse(quote), digests, preimages);
        checkGas = start - gasleft();
        start = gasleft();
        DstackAppLog.replay(digests);
        DstackAppLog.digestMatches(digests, preimages.length - 1, preimages[preimages.length - 1]);
        replayGas = start - gasleft();
    }
}
