import Distributed
import Foundation
import IORuntime

/// How a deployment batches and bounds its requests.
public struct DeploymentOptions: Sendable {
    /// The most requests a replica receives in one call.
    public var maxBatchSize: Int
    /// How long a batch waits for more requests after its first arrived.
    public var batchWait: Duration
    /// The most requests waiting or being answered at once; beyond it the server answers 503.
    public var maxQueuedRequests: Int
    /// The largest request body accepted; beyond it the server answers 413.
    public var maxBodyBytes: Int

    public init(
        maxBatchSize: Int = 16, batchWait: Duration = .milliseconds(5), maxQueuedRequests: Int = 1_024, maxBodyBytes: Int = 1 << 20
    ) {
        self.maxBatchSize = maxBatchSize
        self.batchWait = batchWait
        self.maxQueuedRequests = maxQueuedRequests
        self.maxBodyBytes = maxBodyBytes
    }
}

/// A model served at `POST /<name>`: JSON requests decoded as a `Codable` type, gathered into
/// batches, answered by the replicas of an `ActorPool`, and encoded back as JSON.
///
/// ```swift
/// let replicas = try await ActorPool(cluster: cluster, of: DigitsModel.self, with: weights, size: 2)
/// let digits = Deployment("digits", replicas: replicas, request: Image.self) { model, images in
///     try await model.classify(images)                    // [Image] -> [Label], one per request
/// }
/// let server = try await ModelServer.start(port: 8000, deployments: [digits])
/// ```
///
/// A replica that dies is replaced by the pool and the batch it was answering runs again on
/// another, so an accepted request is not dropped (calls given to a deployment should be safe to
/// repeat, as inference is).
public struct Deployment: Sendable {
    /// The route's name: requests go to `POST /<name>`.
    public let name: String
    public let options: DeploymentOptions
    let answer: @Sendable ([UInt8]) async throws -> [UInt8]
    let drain: @Sendable () async -> Void
    let queued: @Sendable () async -> Int
    let replicas: @Sendable () -> Int
    let metrics: ServeMetrics.Deployment

    /// A deployment whose replicas are the members of `pool`; `call` answers a batch of requests
    /// on one replica, with one response per request, in order.
    public init<Replica: DistributedActor, Request: Decodable & Sendable, Response: Encodable & Sendable>(
        _ name: String, replicas pool: ActorPool<Replica>, request: Request.Type, options: DeploymentOptions = DeploymentOptions(),
        _ call: @escaping @Sendable (Replica, [Request]) async throws -> [Response]
    ) where Replica.ActorSystem == ClusterActorSystem {
        self.name = name
        self.options = options
        let metrics = ServeMetrics.Deployment(name: name)
        self.metrics = metrics
        let batcher = RequestBatcher<Request, Response>(
            options: options, batchFormed: { metrics.batchSize.record(Double($0)) }
        ) { batch in
            do {
                return try await pool.submit { replica in try await call(replica, batch) }
            } catch let error as ServeError {
                throw error
            } catch let error as ActorError {
                switch error {
                case .actorDied, .callInterrupted, .notFound: throw ServeError.unavailable("\(error)")
                default: throw ServeError.rejected("\(error)")
                }
            } catch let error as ClusterError {
                throw ServeError.unavailable("\(error)")
            } catch let error as TaskError {
                throw ServeError.rejected(error.message)
            } catch {
                throw ServeError.rejected("\(error)")
            }
        }
        answer = { body in
            let request: Request
            do {
                request = try JSONDecoder().decode(Request.self, from: Data(body))
            } catch {
                throw ServeError.malformedRequest(Self.reason(error))
            }
            let response = try await batcher.submit(request)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return Array(try encoder.encode(response))
        }
        drain = { await batcher.drain() }
        queued = { await batcher.outstanding }
        replicas = { pool.members.count }
    }

    private static func reason(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context):
            context.codingPath.isEmpty ? "not valid JSON" : "\(path(context.codingPath)): \(context.debugDescription)"
        case DecodingError.keyNotFound(let key, let context): "\(path(context.codingPath + [key])) is missing"
        case DecodingError.typeMismatch(let type, let context): "\(path(context.codingPath)) is not \(type)"
        case DecodingError.valueNotFound(let type, let context): "\(path(context.codingPath)) has no \(type) value"
        default: "\(error)"
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.isEmpty ? "the body" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
