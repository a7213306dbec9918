// Serves a digits classifier over HTTP: JSON in (64 pixels, 0-16), JSON out (the digit and its
// probability), answered in batches by two model actors on the local cluster.
//
//     swift run -c release ModelServing [--port 8000] [--model digits-mlp.safetensors] [--processes N]
//     curl -s localhost:8000/digits -d '{"pixels": [0,0,5,13,9,1,0,0, …64 values…]}'
//
// With --model, the weights come from a file saved by Examples/DigitsClassifier (the MLP);
// without, an MLP is trained here first (about a second). The weights go into the object store
// once and each replica builds its model from them. Requests that arrive together are answered
// as one batch (up to 32, waiting at most 2 ms for more); beyond 1,024 queued requests the
// server answers 503. GET /-/ready, /-/healthz and /metrics (Prometheus) are there too. Ctrl-C
// (or SIGTERM) drains: readiness turns false, accepted requests are answered, then it stops.
import Dispatch
import Distributed
import Foundation
import IOCompute

struct Options: Sendable {
    var port = 8000
    var model: String?
    var processes = 0
    var dataPath = "Examples/Data/digits.csv.gz"

    static let parsed: Options = {
        var options = Options()
        var arguments = CommandLine.arguments.dropFirst()
        while let argument = arguments.popFirst() {
            switch argument {
            case "--port": options.port = arguments.popFirst().flatMap(Int.init) ?? options.port
            case "--model": options.model = arguments.popFirst()
            case "--processes": options.processes = arguments.popFirst().flatMap(Int.init) ?? 2
            case "--data": options.dataPath = arguments.popFirst() ?? options.dataPath
            default:
                print("usage: ModelServing [--port N] [--model digits-mlp.safetensors] [--processes N] [--data digits.csv.gz]")
                exit(2)
            }
        }
        return options
    }()
}

/// The MLP of Examples/DigitsClassifier: 64 pixels in, 10 classes out.
func makeModel() throws -> Sequential<Float> {
    Sequential<Float>([try Linear(64, 128, seed: 1), ReLU(), try Linear(128, 64, seed: 3), ReLU(), try Linear(64, 10, seed: 5)])
}

struct DigitRequest: Codable, Sendable, WireCodable {
    /// 64 pixel values from 0 to 16, row by row.
    let pixels: [Double]
}

struct DigitResponse: Codable, Sendable, WireCodable {
    let digit: Int
    let probability: Double
}

/// A replica: the model built once from the weights it is spawned with.
distributed actor DigitsReplica {
    typealias ActorSystem = ClusterActorSystem
    private let model: Sequential<Float>

    init(actorSystem: ClusterActorSystem, weights: [String: Tensor<Float>]) throws {
        self.actorSystem = actorSystem
        model = try makeModel()
        try model.loadStateDictionary(weights)
        model.eval()
    }

    distributed func classify(_ requests: [DigitRequest]) throws -> [DigitResponse] {
        for request in requests where request.pixels.count != 64 || !request.pixels.allSatisfy({ (0...16).contains($0) }) {
            throw DataError.shapeMismatch("an image is 64 pixels from 0 to 16, not \(request.pixels.count) values")
        }
        let input = try Tensor<Float>(shape: [requests.count, 64], scalars: requests.flatMap { $0.pixels.map { Float($0 / 16) } })
        let probabilities = try withoutGradients { try model(Variable(input)).value.softmax(alongAxis: 1) }.scalars
        return requests.indices.map { row in
            let scores = probabilities[(row * 10)..<((row + 1) * 10)]
            let best = scores.indices.max { scores[$0] < scores[$1] }!
            return DigitResponse(digit: best - row * 10, probability: Double(scores[best]))
        }
    }
}

/// SIGINT and SIGTERM as a stream (the handlers run on a dispatch queue, off the main actor).
enum StopSignals {
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    static let stream: AsyncStream<Int32> = {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        sources = [SIGINT, SIGTERM].map { signalNumber in
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { @Sendable in continuation.yield(signalNumber) }
            source.resume()
            return source
        }
        return stream
    }()
}

let options = Options.parsed
let registry = Registry().actor(DigitsReplica.self, arguments: [String: Tensor<Float>].self) { system, weights in
    try DigitsReplica(actorSystem: system, weights: weights)
}
TensorBackend.setBLASThreads(1)
let cluster =
    options.processes > 0
    ? try await Cluster.start(.localProcesses(workers: options.processes), registry: registry)
    : try await Cluster.start(.inProcess(workers: 2), registry: registry)

let model = try makeModel()
if let path = options.model {
    try model.load(from: path)
    print("loaded the model from \(path)")
} else {
    let digits = try LabeledData(table: try CSV.read(contentsOf: options.dataPath, as: Float.self), labelColumn: 64, featureScale: 1.0 / 16)
    let (train, test) = try digits.shuffledSplit(trainFraction: 0.8, seed: 2026)
    let optimizer = Adam(model.parameters, learningRate: 0.003)
    for epoch in 0..<15 {
        _ = try Classification.trainEpoch(model, optimizer: optimizer, data: train, batchSize: 32, shuffleSeed: UInt64(epoch))
    }
    print(String(format: "trained the MLP: %.1f %% on held-out images", try Classification.accuracy(model, data: test) * 100))
}

let weights = try await cluster.put(model.stateDictionary())
let replicas = try await ActorPool(cluster: cluster, of: DigitsReplica.self, with: weights, size: 2, maxInFlightPerActor: 2)
let digits = Deployment(
    "digits", replicas: replicas, request: DigitRequest.self, options: DeploymentOptions(maxBatchSize: 32, batchWait: .milliseconds(2))
) { replica, requests in
    try await replica.classify(requests)
}
let server: ModelServer
do {
    server = try await ModelServer.start(host: "0.0.0.0", port: options.port, deployments: [digits])
} catch {
    print("cannot serve on port \(options.port): \(error)")
    replicas.shutdown()
    await cluster.shutdown()
    exit(1)
}
print("serving POST http://localhost:\(server.port)/digits on \(replicas.members.count) replicas; Ctrl-C drains and stops")

// SIGINT and SIGTERM drain the server instead of killing the process.
signal(SIGINT, SIG_IGN)
signal(SIGTERM, SIG_IGN)
for await _ in StopSignals.stream { break }
print("draining…")
await server.shutdown()
replicas.shutdown()
await cluster.shutdown()
print("stopped")
