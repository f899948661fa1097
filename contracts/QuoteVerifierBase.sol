// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IQuoteVerifier} from "./interfaces/IQuoteVerifier.sol";
import {QuoteParser} from "./libraries/QuoteParser.sol";

/// @title QuoteVerifierBase
/// @notice What every quote verifier shares: the local-chain rule and the mapping of a parsed
///         quote plus a verdict into `VerifiedQuote`.
/// @dev Invariant for implementers: never return a quote whose DEBUG bit is set on a chain that
///      is not local (31337, 1337, DEVNET_CHAIN_ID); call `_result`, which enforces it.
abstract contract QuoteVerifierBase is IQuoteVerifier {
    /// @notice The project's own devnet and demo chain (a Base-like anvil). Not the id of any public
    ///         network (ethereum-lists/chains has no eip155-20350); `pha.chains.DEVNET_CHAIN_ID`.
    uint256 internal constant DEVNET_CHAIN_ID = 20350;

    /// @notice True on the local development chains only: anvil/hardhat 31337, ganache/geth-dev
    ///         1337 and the project devnet 20350. An allow-list, so that every other chain id,
    ///         including any public network (Ethereum 1, Sepolia, Holesky, Base 8453, Base Sepolia,
    ///         OP 10, OP Sepolia, Phala L2 2035, ...), is treated as public.
    function _isLocalChain() internal view returns (bool) {
        return block.chainid == 31337 || block.chainid == 1337 || block.chainid == DEVNET_CHAIN_ID;
    }

    /// @dev Assemble the result; refuses DEBUG quotes off local chains.
    function _result(
        bytes calldata quote,
        QuoteParser.Quote memory q,
        TcbStatus tcbStatus,
        bytes32[] memory advisoryIds,
        uint64 tcbDate,
        uint64 verifiedAt,
        uint64 expiresAt,
        bytes32 composeHash
    ) internal view returns (VerifiedQuote memory r) {
        if (q.debug && !_isLocalChain()) revert QuoteVerifierDebugRefused(block.chainid);
        r.teeType = q.teeType;
        r.quoteVersion = q.version;
        r.measurementId = composeHash == bytes32(0) ? q.measurementId : QuoteParser.tdxMeasurementId(quote, q, composeHash);
        r.quoteHash = keccak256(quote[:q.signedLength]);
        r.reportData = q.reportData;
        r.attributes = q.attributes;
        r.debug = q.debug;
        r.tcbStatus = tcbStatus;
        r.advisoryIds = advisoryIds;
        r.tcbDate = tcbDate;
        r.verifiedAt = verifiedAt;
        r.expiresAt = expiresAt;
        r.composeHash = composeHash;
    }
}
