import NIOCore

/// Cuts a varlink stream into messages: JSON objects each terminated by a NUL byte.
struct NULFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    struct TooLarge: Error {}

    /// Largest message accepted.
    let limit: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
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

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
