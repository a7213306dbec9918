import Distributed
import Foundation
import IORuntime
import IOServe
import Synchronization
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

struct ScoreRequest: Codable, Sendable, WireCodable {
    let features: [Double]
}

struct ScoreResponse: Codable, Sendable, Equatable, WireCodable {
    let score: Double
}

/// Holds calls until opened, so that tests can keep requests in flight.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))
    func wait() async {
        await withCheckedContinuation { continuation in
            let proceed = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiting.append(continuation)
                return false
            }
            if proceed { continuation.resume() }
        }
    }
    func open() {
        for waiter in state.withLock({ state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiting = [] }
            return state.waiting
        }) {
            waiter.resume()
        }
    }
}

/// A linear model replica; it records the size of every batch it answers.
distributed actor LinearReplica {
    typealias ActorSystem = ClusterActorSystem
    let weights: [Double]
    static let batches = Mutex<[Int]>([])
    static let gate = Mutex<Gate?>(nil)

    init(actorSystem: ClusterActorSystem, weights: [Double]) {
        self.actorSystem = actorSystem
        self.weights = weights
    }

    distributed func score(_ requests: [ScoreRequest]) async throws -> [ScoreResponse] {
        Self.batches.withLock { $0.append(requests.count) }
        if let gate = Self.gate.withLock({ $0 }) { await gate.wait() }
        return try requests.map { request in
            guard request.features.count == weights.count else {
                throw ShapeError(message: "\(request.features.count) features for a model of \(weights.count)")
            }
            return ScoreResponse(score: zip(request.features, weights).reduce(0) { $0 + $1.0 * $1.1 })
        }
    }
}

struct ShapeError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// A started cluster, pool and server, shut down by `body`'s end.
func withServer(
    options: DeploymentOptions = DeploymentOptions(), replicas: Int = 2, _ body: (ModelServer) async throws -> Void
) async throws {
    let registry = Registry().actor(LinearReplica.self, arguments: [Double].self) { system, weights in
        LinearReplica(actorSystem: system, weights: weights)
    }
    let cluster = try await Cluster.start(.inProcess(workers: 2), registry: registry)
    let pool = try await ActorPool(cluster: cluster, of: LinearReplica.self, with: [1.0, 2, 3], size: replicas, maxInFlightPerActor: 4)
    let deployment = Deployment("linear", replicas: pool, request: ScoreRequest.self, options: options) { replica, requests in
        try await replica.score(requests)
    }
    let server = try await ModelServer.start(port: 0, deployments: [deployment])
    do {
        try await body(server)
    } catch {
        await server.shutdown(grace: .seconds(1))
        pool.shutdown()
        await cluster.shutdown()
        throw error
    }
    await server.shutdown(grace: .seconds(5))
    pool.shutdown()
    await cluster.shutdown()
}

/// Sends a request and returns the status and the body as text.
func send(_ server: ModelServer, _ method: String, _ path: String, body: Data? = nil) async throws -> (Int, String) {
    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(server.port)\(path)")!)
    request.httpMethod = method
    request.httpBody = body
    if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
    let (data, response) = try await URLSession.shared.data(for: request)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
}

func score(_ server: ModelServer, _ features: [Double]) async throws -> (Int, String) {
    try await send(server, "POST", "/linear", body: try JSONEncoder().encode(ScoreRequest(features: features)))
}

@Suite("Model serving over HTTP", .serialized, .timeLimit(.minutes(2)))
struct ModelServerTests {
    @Test("JSON in and out; malformed JSON, wrong shapes and oversized bodies get 4xx with a reason while the server keeps serving")
    func requestsAndErrors() async throws {
        try await withServer(options: DeploymentOptions(maxBodyBytes: 1_000)) { server in
            let (status, body) = try await score(server, [1, 1, 1])
            #expect(status == 200)
            #expect(try JSONDecoder().decode(ScoreResponse.self, from: Data(body.utf8)) == ScoreResponse(score: 6))

            let malformed = try await send(server, "POST", "/linear", body: Data("{\"features\": [1, 2".utf8))
            #expect(malformed.0 == 400 && malformed.1.contains("not valid JSON"), "\(malformed)")
            let wrongType = try await send(server, "POST", "/linear", body: Data("{\"features\": \"x\"}".utf8))
            #expect(wrongType.0 == 400 && wrongType.1.contains("features"), "\(wrongType)")
            let wrongShape = try await score(server, [1, 2])
            #expect(wrongShape.0 == 422 && wrongShape.1.contains("2 features for a model of 3"), "\(wrongShape)")
            let oversized = try await score(server, [Double](repeating: 1.5, count: 500))
            #expect(oversized.0 == 413, "\(oversized)")
            let unknown = try await send(server, "POST", "/nothing", body: Data("{}".utf8))
            #expect(unknown.0 == 404)

            #expect(try await score(server, [0, 0, 2]).0 == 200)
            #expect(try await send(server, "GET", "/-/healthz").0 == 200)
            #expect(try await send(server, "GET", "/-/ready").0 == 200)
            let metrics = try await send(server, "GET", "/metrics").1
            #expect(metrics.contains("ioserve_requests_total{deployment=\"linear\",code=\"200\"} 2"), "\(metrics)")
            #expect(metrics.contains("ioserve_requests_total{deployment=\"linear\",code=\"422\"} 1"))
            #expect(metrics.contains("ioserve_request_duration_seconds_bucket"))
        }
    }

    @Test("concurrent requests are answered in batches")
    func batching() async throws {
        LinearReplica.batches.withLock { $0 = [] }
        // A batch leaves with 4 requests or 1 s after its first: 16 requests at once (URLSession
        // sends up to 6 at a time to one host) make batches of 4.
        try await withServer(options: DeploymentOptions(maxBatchSize: 4, batchWait: .seconds(1)), replicas: 1) { server in
            let answers = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for index in 0..<16 { group.addTask { try await score(server, [Double(index), 0, 0]) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0.0 == 200 })
            let scores = try answers.map { try JSONDecoder().decode(ScoreResponse.self, from: Data($0.1.utf8)).score }
            #expect(scores.sorted() == (0..<16).map(Double.init))
            let batches = LinearReplica.batches.withLock { $0 }
            #expect(batches.reduce(0, +) == 16 && batches.max()! > 1, "\(batches)")
            let metrics = try await send(server, "GET", "/metrics").1
            #expect(metrics.contains("ioserve_batch_size_requests_bucket"))
        }
    }

    @Test("beyond the queue bound requests get 503; a draining server answers what it accepted and refuses the rest")
    func overloadAndDrain() async throws {
        let gate = Gate()
        LinearReplica.gate.withLock { $0 = gate }
        defer { LinearReplica.gate.withLock { $0 = nil } }
        try await withServer(options: DeploymentOptions(maxBatchSize: 1, maxQueuedRequests: 3), replicas: 1) { server in
            let held = (0..<3).map { index in Task { try await score(server, [Double(index), 0, 0]) } }
            // Wait until the three are accepted (the queue gauge says so), then one more is refused.
            while try await !send(server, "GET", "/metrics").1.contains("ioserve_queued_requests{deployment=\"linear\"} 3") {
                try await Task.sleep(for: .milliseconds(10))
            }
            let refused = try await score(server, [9, 9, 9])
            #expect(refused.0 == 503 && refused.1.contains("overloaded"), "\(refused)")

            let draining = Task { await server.shutdown(grace: .seconds(30)) }
            while try await send(server, "GET", "/-/ready").0 != 503 { try await Task.sleep(for: .milliseconds(10)) }
            let late = try await score(server, [1, 1, 1])
            #expect(late.0 == 503 && late.1.contains("shutting down"), "\(late)")
            gate.open()
            for (index, request) in held.enumerated() {
                let (status, body) = try await request.value
                #expect(status == 200, "\(status) \(body)")
                #expect(try JSONDecoder().decode(ScoreResponse.self, from: Data(body.utf8)).score == Double(index))
            }
            await draining.value
        }
    }
}
