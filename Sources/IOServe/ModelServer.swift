import Foundation
import Hummingbird
import IORuntime
import Logging
import ServiceLifecycle
import Synchronization

/// An HTTP server for ``Deployment``s, on Hummingbird.
///
/// Routes:
/// - `POST /<deployment>`: a JSON request in, its JSON response out; errors are JSON
///   `{"error": "…"}` with 400 (malformed JSON), 413 (body too large), 422 (rejected by the
///   model), 503 (overloaded, draining, or no replica) or 500.
/// - `GET /-/healthz`: 200 while the server runs.
/// - `GET /-/ready`: 200 while every deployment has a replica and the server is not draining,
///   503 otherwise.
/// - `GET /metrics`: request counts and latencies, batch sizes and queued requests in
///   Prometheus's text format.
///
/// ``shutdown(grace:)`` drains: new requests get 503 and readiness turns false at once, the
/// requests already accepted are answered, then the server stops.
public final class ModelServer: Sendable {
    /// The port the server listens on (the one chosen when started with port 0).
    public let port: Int
    public let host: String
    private let deployments: [Deployment]
    private let draining: DrainFlag
    private let services: ServiceGroup
    private let running: Task<Void, any Error>

    private init(
        host: String, port: Int, deployments: [Deployment], draining: DrainFlag, services: ServiceGroup, running: Task<Void, any Error>
    ) {
        self.host = host
        self.port = port
        self.deployments = deployments
        self.draining = draining
        self.services = services
        self.running = running
    }

    /// Starts serving `deployments` on `host:port` (port 0: one the system picks) and returns once
    /// the server listens.
    ///
    /// - Throws: the server's start error (the port is taken, the host does not resolve), or
    ///   `ClusterError.invalidConfiguration` for two deployments with one name or a name that is
    ///   not letters, digits, `-` and `_`.
    public static func start(host: String = "127.0.0.1", port: Int = 8000, deployments: [Deployment]) async throws -> ModelServer {
        var names = Set<String>()
        for deployment in deployments {
            guard deployment.name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), !deployment.name.isEmpty,
                names.insert(deployment.name).inserted
            else {
                throw ClusterError.invalidConfiguration("deployment names must be unique letters, digits, - and _: \(deployment.name)")
            }
        }
        let draining = DrainFlag()
        let router = Router()
        for deployment in deployments {
            router.post(RouterPath(deployment.name)) { request, _ -> Response in
                await Self.answer(request, deployment: deployment, draining: draining)
            }
        }
        router.get("-/healthz") { _, _ in Self.json(200, ["status": "ok"]) }
        router.get("-/ready") { _, _ -> Response in
            if draining.isSet { return Self.json(503, ["status": "draining"]) }
            if let empty = deployments.first(where: { $0.replicas() == 0 }) {
                return Self.json(503, ["status": "deployment \(empty.name) has no replica"])
            }
            return Self.json(200, ["status": "ready"])
        }
        router.get("metrics") { _, _ -> Response in
            for deployment in deployments { deployment.metrics.queued(await deployment.queued()) }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4"
            return Response(
                status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: ServeMetrics.registry.emitToBuffer())))
        }

        let (started, starting) = AsyncStream<Result<Int, any Error>>.makeStream()
        let app = Application(
            router: router, configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "IOServe"),
            onServerRunning: { channel in starting.yield(.success(channel.localAddress?.port ?? port)) },
            logger: Logger(label: "IOServe"))
        let services = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [], logger: Logger(label: "IOServe")))
        let running = Task {
            do {
                try await services.run()
            } catch {
                starting.yield(.failure(error))
                throw error
            }
            starting.yield(.failure(CancellationError()))
        }
        var events = started.makeAsyncIterator()
        guard let first = await events.next() else { throw CancellationError() }
        let bound = try first.get()
        return ModelServer(host: host, port: bound, deployments: deployments, draining: draining, services: services, running: running)
    }

    /// Drains and stops: readiness turns false and new requests get 503 at once, accepted ones
    /// are answered (for up to `grace`), then the server stops listening.
    public func shutdown(grace: Duration = .seconds(30)) async {
        draining.set()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [deployments] in
                await withTaskGroup(of: Void.self) { drains in
                    for deployment in deployments { drains.addTask { await deployment.drain() } }
                }
            }
            group.addTask { try? await Task.sleep(for: grace) }
            await group.next()
            group.cancelAll()
        }
        await services.triggerGracefulShutdown()
        _ = await running.result
    }

    /// Waits until the server stops (after ``shutdown(grace:)``, or when it fails).
    public func waitUntilStopped() async {
        _ = await running.result
    }

    private static func answer(_ request: Request, deployment: Deployment, draining: DrainFlag) async -> Response {
        let start = ContinuousClock.now
        var request = request
        let response: Response
        do {
            if draining.isSet { throw ServeError.draining }
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: deployment.options.maxBodyBytes)
            } catch {
                throw ServeError.bodyTooLarge(limit: deployment.options.maxBodyBytes)
            }
            let answer = try await deployment.answer(Array(buffer: body))
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            response = Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer)))
        } catch let error as ServeError {
            response = json(error.statusCode, ["error": error.description])
        } catch {
            response = json(500, ["error": "\(error)"])
        }
        deployment.metrics.answered(response.status.code)
        deployment.metrics.latency.record(ContinuousClock.now - start)
        return response
    }

    private static func json(_ status: Int, _ fields: [String: String]) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if status == 503 { headers[.retryAfter] = "1" }
        let body = (try? encoder.encode(fields)) ?? Data()
        return Response(
            status: HTTPResponse.Status(code: status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Whether the server is draining, read by every request.
final class DrainFlag: Sendable {
    private let flag = Atomic(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}
