import NIOCore
import NIOPosix
import WaystationProtocol

/// Calls `io.waystation.Station` on the daemon's control socket, one connection per call, on NIO's
/// event loops (nothing blocks a thread). A restarted daemon is simply reached again by the next
/// call. The process connects as whoever it runs as: in the uplink group it has the uplink role.
public struct DaemonConnection: Sendable {
    /// Why a call did not get a reply.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        case unreachable(String)
        case reply(VarlinkError)

        public var description: String {
            switch self {
            case .unreachable(let why): "daemon unreachable: \(why)"
            case .reply(let e): e.description
            }
        }
    }

    public let socketPath: String
    let group: any EventLoopGroup

    public init(socketPath: String, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.socketPath = socketPath
        self.group = group
    }

    /// Calls `method`; no reply within `timeout` (connecting included) is a failure.
    public func call<M: StationMethod>(_ method: M.Type, _ parameters: M.Parameters, timeout: Duration)
        async throws(Failure) -> M.Reply
    {
        let json: JSON
        do { json = try JSON.from(parameters) } catch { throw .unreachable("cannot encode parameters: \(error)") }
        let frame = VarlinkCall(method: M.qualifiedName, parameters: json.object ?? [:]).frame
        let reply: VarlinkReply
        do {
            reply = try await withThrowingTaskGroup(of: VarlinkReply?.self) { group in
                group.addTask { try await exchange(frame) }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let reply = first else {
                    throw Failure.unreachable("no reply within \(timeout)")
                }
                return reply
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw .unreachable("\(error)")
        }
        if let name = reply.error { throw .reply(VarlinkError(name, reply.parameters)) }
        do { return try reply.parameters.decode(M.Reply.self) } catch {
            throw .unreachable("unexpected reply: \(error)")
        }
    }

    /// One connection, one call, one reply.
    func exchange(_ frame: [UInt8]) async throws -> VarlinkReply {
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(5))
                .connect(unixDomainSocketPath: socketPath) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(VarlinkFrameDecoder(limit: 16 << 20)))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw Failure.unreachable("cannot connect to \(socketPath): \(error)")
        }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: frame))
            for try await message in inbound {
                guard let json = JSON.parse(message.readableBytesView), let reply = VarlinkReply(json: json) else {
                    throw Failure.unreachable("a reply that is not varlink")
                }
                return reply
            }
            throw Failure.unreachable("the daemon closed the connection")
        }
    }
}

/// Cuts a varlink stream into messages: JSON objects each terminated by a NUL byte.
struct VarlinkFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    struct TooLarge: Error {}

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
