import Foundation
import IONN
import IOTensor
import Testing

@testable import IOTrain

@Suite("Checkpoint store", .timeLimit(.minutes(3)))
struct CheckpointStoreTests {
    @Test("savers racing for the same steps while others prune and read never fail or leave a half checkpoint")
    func concurrentSaves() async throws {
        let directory = NSTemporaryDirectory() + "iotrain-race-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = CheckpointStore(directory: directory, keepBest: 1, metric: "loss")
        // Three savers (an old attempt's rank 0 still running beside the new one, say) write the
        // same steps at once; each save also prunes.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for saver in 0..<3 {
                group.addTask {
                    let model = try Linear<Float>(8, 4, seed: UInt64(saver))
                    let optimizer = SGD(model.parameters, learningRate: 0.1)
                    for step in 1...15 {
                        try store.save(step: step, model: model, optimizer: optimizer, metrics: ["loss": Double(20 - step)], history: [])
                    }
                }
            }
            group.addTask {
                // A reader meanwhile: whatever it lists is complete.
                for _ in 0..<200 {
                    for checkpoint in try store.checkpoints() {
                        #expect(checkpoint.step >= 1 && checkpoint.step <= 15)
                    }
                }
            }
            try await group.waitForAll()
        }
        let left = try store.checkpoints()
        #expect(left.map(\.step) == [15])
        let model = try Linear<Float>(8, 4, seed: 9)
        try model.load(from: try store.checkpoint(step: 15).modelPath)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty, "temporary folders left: \(leftovers)")
        #expect(throws: CocoaError.self) { try store.checkpoint(step: 3) }
    }
}
