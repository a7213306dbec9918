import Distributed
import IOData
import IORuntime
import IORuntimeTensor
import IOTensor
import Testing

enum DataFunctions {
    /// Each row doubled: a result as large as its input.
    static let double = RemoteFunction("double") { (rows: [[Float]]) async throws -> [[Float]] in
        rows.map { $0.map { $0 * 2 } }
    }
}

distributed actor RowScorer {
    typealias ActorSystem = ClusterActorSystem
    let weights: [Float]

    init(actorSystem: ClusterActorSystem, weights: [Float]) {
        self.actorSystem = actorSystem
        self.weights = weights
    }

    distributed func score(_ rows: [[Float]]) throws -> [Float] {
        try rows.map { row in
            guard row.count == weights.count else { throw DataError.shapeMismatch("row of \(row.count), weights of \(weights.count)") }
            return zip(row, weights).reduce(0) { $0 + $1.0 * $1.1 }
        }
    }
}

@Suite("Datasets on a cluster", .timeLimit(.minutes(3)))
struct DatasetClusterTests {
    static let registry = Registry().function(DataFunctions.double)
        .actor(RowScorer.self, arguments: [Float].self) { system, weights in RowScorer(actorSystem: system, weights: weights) }

    @Test("ten times the object store's capacity streams through cluster tasks without a spill", arguments: [false, true])
    func backPressure(codec: Bool) async throws {
        let capacity = 4 << 20
        let cluster = try await Cluster.start(
            .inProcess(workers: 2, objectStoreMemory: capacity, routesThroughCodec: codec), registry: Self.registry)
        // 10,240 rows of 1,024 floats: 40 MiB made one block at a time, each batch 64 KiB.
        let rows = 10_240
        let dataset = Dataset(count: rows, blockSize: 256) { index in [Float](repeating: Float(index % 97), count: 1_024) }
        var seen = 0
        var checksum = 0.0
        let statistics = try await dataset.mapBatches(size: 16, function: DataFunctions.double, on: cluster, maxInFlight: 4)
            .forEachBlock { block in
                for row in block {
                    #expect(row.count == 1_024 && row[0] == Float((seen % 97) * 2))
                    checksum += Double(row[1])
                    seen += 1
                }
            }
        #expect(seen == rows && statistics.rows == rows)
        #expect(checksum == (0..<rows).reduce(0.0) { $0 + Double(($1 % 97) * 2) })
        #expect(statistics.peakBlocksInFlight["double"].map { $0 <= 4 } == true, "\(statistics)")
        let store = await cluster.status().objectStore
        #expect(store.totalSpills == 0, "\(store)")
        #expect(statistics.peakResidentBytes > 0)
        await cluster.shutdown()
    }

    @Test("batch inference on an actor pool built from weights in the store keeps every batch in order", arguments: [false, true])
    func actorPool(codec: Bool) async throws {
        let cluster = try await Cluster.start(.inProcess(workers: 2, routesThroughCodec: codec), registry: Self.registry)
        let weights = try await cluster.put([Float(1), 2, 3])
        let pool = try await ActorPool(cluster: cluster, of: RowScorer.self, with: weights, size: 2, maxInFlightPerActor: 2)
        let rows = (0..<500).map { [Float($0), 1, -1] }
        let scores = try await Dataset(rows, blockSize: 33).mapBatches(size: 20, using: pool) { scorer, batch in
            try await scorer.score(batch)
        }.collect()
        #expect(scores == rows.map { $0[0] - 1 })
        // A wrong shape comes back as the actor's typed error.
        await #expect(throws: (any Error).self) {
            _ = try await Dataset([[Float(1)]]).mapBatches(size: 1, using: pool) { scorer, batch in try await scorer.score(batch) }
                .collect()
        }
        pool.shutdown()
        await cluster.shutdown()
    }
}
