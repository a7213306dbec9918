import CompareSupport
// The IOCompute half of `compare serve`: an MLP served over HTTP by IOServe, loaded by `wrk`
// (`Peers/serve_post.lua`), against Ray Serve with `@serve.batch` on the same model
// (`Peers/serve_ray.py`), printed as `NAME VALUE UNIT` lines with VALUE a throughput, and the
// latencies on standard error.
//
// - serve_requests: requests/s of `wrk -t2 -c32 -d10s` against `POST /predict` (64 features in,
//   the class and its score out), 2 replicas of the MLP 64-128-64-10 (one BLAS thread each) on
//   the in-process cluster, batches of up to 32 waiting at most 2 ms, as the peer's.
import Distributed
import Foundation
import IOCompute

struct Features: Codable, Sendable, WireCodable {
    let features: [Float]
}

struct Prediction: Codable, Sendable, WireCodable {
    let label: Int
    let score: Float
}

distributed actor Replica {
    typealias ActorSystem = ClusterActorSystem
    private let model: Sequential<Float>

    init(actorSystem: ClusterActorSystem, weights: [String: Tensor<Float>]) throws {
        self.actorSystem = actorSystem
        model = try Replica.makeModel()
        try model.loadStateDictionary(weights)
        model.eval()
    }

    static func makeModel() throws -> Sequential<Float> {
        Sequential<Float>([try Linear(64, 128, seed: 1), ReLU(), try Linear(128, 64, seed: 2), ReLU(), try Linear(64, 10, seed: 3)])
    }

    distributed func predict(_ requests: [Features]) throws -> [Prediction] {
        let input = try Tensor<Float>(shape: [requests.count, 64], scalars: requests.flatMap(\.features))
        let scores = try withoutGradients { try model(Variable(input)).value }.scalars
        return requests.indices.map { row in
            let slice = scores[(row * 10)..<((row + 1) * 10)]
            let best = slice.indices.max { slice[$0] < slice[$1] }!
            return Prediction(label: best - row * 10, score: slice[best])
        }
    }
}

/// Runs `wrk` against `url` and returns requests/s and the p50 / p99 latencies as printed.
func load(_ url: String) throws -> (requests: Double, p50: String, p99: String) {
    let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/wrk")
    process.arguments = ["-t2", "-c32", "-d10s", "--latency", "-s", here.appendingPathComponent("Peers/serve_post.lua").path, url]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    func field(_ prefix: String) -> String? {
        output.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(prefix) }
            .map { String($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst(prefix.split(separator: " ").count).first ?? "") }
    }
    guard let rate = field("Requests/sec:").flatMap(Double.init) else { throw CompareFailure(output) }
    if output.contains("Non-2xx") { throw CompareFailure(output) }
    return (rate, field("50%") ?? "?", field("99%") ?? "?")
}

struct CompareFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

TensorBackend.setBLASThreads(1)
let registry = Registry().actor(Replica.self, arguments: [String: Tensor<Float>].self) { system, weights in
    try Replica(actorSystem: system, weights: weights)
}
let cluster = try await Cluster.start(.inProcess(workers: 2), registry: registry)
let weights = try await cluster.put(try Replica.makeModel().stateDictionary())
let pool = try await ActorPool(cluster: cluster, of: Replica.self, with: weights, size: 2, maxInFlightPerActor: 2)
let deployment = Deployment(
    "predict", replicas: pool, request: Features.self, options: DeploymentOptions(maxBatchSize: 32, batchWait: .milliseconds(2))
) { replica, requests in try await replica.predict(requests) }
let server = try await ModelServer.start(port: 0, deployments: [deployment])
if wanted("serve_requests") {
    _ = try load("http://127.0.0.1:\(server.port)/predict")  // warm-up
    let result = try load("http://127.0.0.1:\(server.port)/predict")
    FileHandle.standardError.write(Data("# IOServe latency p50 \(result.p50), p99 \(result.p99)\n".utf8))
    report("serve_requests", result.requests, "requests/s")
}
await server.shutdown()
pool.shutdown()
await cluster.shutdown()
