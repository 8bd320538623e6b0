import NIOCore
import VarlinkNIO
import NIOPosix
import WaystationProtocol

/// An async varlink client for `waystation-web`: each call is one connection to the daemon's control
/// socket on NIO's event loops (nothing blocks a thread), so a restarted daemon is simply reached
/// again by the next call. The process connects as whoever it runs as: in the `waystation-kiosk`
/// group it has the kiosk role.
public struct DaemonLink: Sendable {
    /// Why a call did not get a reply.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        /// The socket could not be reached, the connection broke, or no reply came in time.
        case unreachable(String)
        /// The daemon answered with an error.
        case reply(VarlinkError)

        public var description: String {
            switch self {
            case .unreachable(let why): "daemon unreachable: \(why)"
            case .reply(let e): e.description
            }
        }

        /// The typed error, when the daemon answered with one of `io.waystation.Station`'s.
        public var stationError: StationError? {
            if case .reply(let e) = self { return StationError(e) }
            return nil
        }
    }

    public let socketPath: String
    let group: any EventLoopGroup
    /// How long a call may take, connection included.
    public var timeout: Duration

    public init(
        socketPath: String, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        timeout: Duration = .seconds(10)
    ) {
        self.socketPath = socketPath
        self.group = group
        self.timeout = timeout
    }

    /// Calls a method of `io.waystation.Station` and decodes its reply.
    public func call<M: StationMethod>(_ method: M.Type, _ parameters: M.Parameters) async throws(Failure) -> M.Reply {
        let json: JSON
        do { json = try JSON.from(parameters) } catch { throw .unreachable("cannot encode parameters: \(error)") }
        let reply = try await call(M.qualifiedName, json)
        do { return try reply.decode(M.Reply.self) } catch { throw .unreachable("unexpected reply: \(error)") }
    }

    public func call<M: StationMethod>(_ method: M.Type) async throws(Failure) -> M.Reply where M.Parameters == Empty {
        try await call(method, Empty())
    }

    /// Calls a method by its qualified name; returns the reply's parameters.
    public func call(_ method: String, _ parameters: JSON) async throws(Failure) -> JSON {
        let frame = VarlinkCall(method: method, parameters: parameters.object ?? [:]).frame
        let limit = timeout
        let outcome: Result<VarlinkReply, Failure>
        do {
            outcome = try await withThrowingTaskGroup(of: Result<VarlinkReply, Failure>?.self) { group in
                group.addTask {
                    var reply: VarlinkReply?
                    try await self.exchange(frame) { r in
                        reply = r
                        return false
                    }
                    guard let reply else { return .failure(.unreachable("the daemon closed the connection")) }
                    return .success(reply)
                }
                group.addTask {
                    try await Task.sleep(for: limit)
                    return nil
                }
                defer { group.cancelAll() }
                let first: Result<VarlinkReply, Failure>?? = try await group.next()
                return (first ?? nil) ?? .failure(.unreachable("no reply within \(limit)"))
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw .unreachable("\(error)")
        }
        let reply = try outcome.get()
        if let name = reply.error { throw .reply(VarlinkError(name, reply.parameters)) }
        return reply.parameters
    }

    /// `Watch` with `more`: calls `event` for each reply until the connection ends (the daemon
    /// stopped) or the task is cancelled.
    public func watch(_ event: @escaping @Sendable (JSON) async -> Void) async throws {
        let frame = VarlinkCall(method: Watch.qualifiedName, more: true).frame
        try await exchange(frame) { reply in
            if let name = reply.error { throw Failure.reply(VarlinkError(name, reply.parameters)) }
            await event(reply.parameters)
            return true
        }
    }

    /// One connection: sends `frame`, hands each reply to `each` while it returns true.
    func exchange(_ frame: [UInt8], each: (VarlinkReply) async throws -> Bool) async throws {
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(5))
                .connect(unixDomainSocketPath: socketPath) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(NULFrameDecoder(limit: 16 << 20)))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw Failure.unreachable("cannot connect to \(socketPath): \(error)")
        }
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: frame))
            for try await message in inbound {
                guard let json = JSON.parse(message.readableBytesView), let reply = VarlinkReply(json: json) else {
                    throw Failure.unreachable("a reply that is not varlink")
                }
                if try await !each(reply) || !reply.continues { return }
            }
        }
    }
}
