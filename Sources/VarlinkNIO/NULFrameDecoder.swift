import NIOCore

/// Cuts a varlink stream into messages (waystation-web's and waystation-uplink's daemon links): JSON objects each terminated by a NUL byte.
public struct NULFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    public struct TooLarge: Error {}

    /// Largest message accepted.
    public let limit: Int

    public init(limit: Int) { self.limit = limit }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let nul = buffer.readableBytesView.firstIndex(of: 0) else {
            if buffer.readableBytes > limit { throw TooLarge() }
            return .needMoreData
        }
        let length = nul - buffer.readerIndex
        guard length <= limit, let frame = buffer.readSlice(length: length) else { throw TooLarge() }
        buffer.moveReaderIndex(forwardBy: 1)
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
