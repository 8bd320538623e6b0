import NIOCore
import VarlinkNIO
import NIOPosix
import WaystationProtocol

extension DaemonLink {
    /// One call as a future on `loop`: connection, request, reply and timeout all run on that event
    /// loop, nothing on Swift's shared pool — the kiosk feed's periodic fetch wakes one thread, not
    /// three (the timeout is the loop's timer, not a sleeping task).
    func callFuture(_ method: String, _ parameters: JSON = [:], on loop: any EventLoop) -> EventLoopFuture<JSON> {
        let promise = loop.makePromise(of: VarlinkReply.self)
        let frame = VarlinkCall(method: method, parameters: parameters.object ?? [:]).frame
        let limit = timeout
        let path = socketPath
        let timer = loop.scheduleTask(in: .init(limit)) {
            promise.fail(Failure.unreachable("no reply within \(limit)"))
        }
        ClientBootstrap(group: loop)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(NULFrameDecoder(limit: 16 << 20)))
                    try channel.pipeline.syncOperations.addHandler(OneReply(promise: promise))
                }
            }
            .connect(unixDomainSocketPath: path)
            .whenComplete { result in
                switch result {
                case .failure(let error):
                    promise.fail(Failure.unreachable("cannot connect to \(path): \(error)"))
                case .success(let channel):
                    channel.writeAndFlush(ByteBuffer(bytes: frame), promise: nil)
                    promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                }
            }
        return promise.futureResult.flatMapThrowing { reply in
            timer.cancel()
            if let name = reply.error { throw Failure.reply(VarlinkError(name, reply.parameters)) }
            return reply.parameters
        }
    }
}

/// Hands the first varlink reply of a connection to a promise (or why there was none).
final class OneReply: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let promise: EventLoopPromise<VarlinkReply>

    init(promise: EventLoopPromise<VarlinkReply>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        guard let json = JSON.parse(message.readableBytesView), let reply = VarlinkReply(json: json) else {
            promise.fail(DaemonLink.Failure.unreachable("a reply that is not varlink"))
            return
        }
        promise.succeed(reply)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(DaemonLink.Failure.unreachable("the daemon closed the connection"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(DaemonLink.Failure.unreachable("\(error)"))
        context.close(promise: nil)
    }
}
