import Foundation
import Testing

@_spi(Fuzzing) @testable import IORuntime

@Suite("Message decoding", .timeLimit(.minutes(3)))
struct MessageDecodingTests {
    /// A small deterministic generator, so that a failure reproduces.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test("every message kind round-trips through a frame")
    func roundTrips() throws {
        let messages: [RuntimeMessage] = [
            .execute(
                TaskAssignment(
                    taskID: 7, attempt: 1, functionName: "f", signature: "(Int) -> Int",
                    arguments: [
                        .inline(.value(3)), .inline(.value("x")),
                        .reference(
                            ObjectReference(
                                id: ObjectID(session: 3, sequence: 4), holder: PeerID(2), typeName: "Tensor<Float>", byteCount: 1 << 20)),
                    ],
                    timeout: .milliseconds(1500), resultID: ObjectID(session: 3, sequence: 5), pinsResult: true)),
            .execute(
                TaskAssignment(
                    taskID: 8, attempt: 0, functionName: "f", signature: "(Int) -> Int", arguments: [.inline(.value(4))],
                    timeout: nil, resultID: ObjectID(session: 3, sequence: 6), after: 7)),
            .cancel(taskID: 9),
            .completed(TaskCompletion(taskID: 7, attempt: 1, worker: 2, outcome: .success(.value([1.5, 2.5])))),
            .completed(
                TaskCompletion(taskID: 8, attempt: 0, worker: 0, outcome: .thrown(TaskError(taskName: "f", errorType: "E", message: "m")))),
            .actorCall(
                ActorCall(
                    callID: 1, replyTo: .driver, actor: ActorIdentity(session: 1, sequence: 2), target: "$s4main7CounterC3addyS2iF",
                    genericSubstitutions: ["Si"], arguments: [.value(5)])),
            .actorReply(ActorReply(callID: 1, replyTo: PeerID(2), outcome: .void)),
            .completed(TaskCompletion(taskID: 9, attempt: 0, worker: 1, outcome: .stored(typeName: "Tensor<Float>", byteCount: 400_000))),
            .heartbeat(12), .heartbeatAck(12),
            .spawnActor(ActorSpawn(actor: ActorIdentity(session: 1, sequence: 3), typeName: "main.Counter")),
            .spawnActor(
                ActorSpawn(
                    actor: ActorIdentity(session: 1, sequence: 4), typeName: "main.Model", maxConcurrency: 4,
                    arguments: .inline(.value("w")))),
            .spawnActor(
                ActorSpawn(
                    actor: ActorIdentity(session: 1, sequence: 5), typeName: "main.Model",
                    arguments: .reference(
                        ObjectReference(
                            id: ObjectID(session: 3, sequence: 4), holder: .driver, typeName: "Tensor<Float>", byteCount: 1 << 20)))),
            .actorSpawned(ActorSpawned(actor: ActorIdentity(session: 1, sequence: 3), error: nil)),
            .actorSpawned(
                ActorSpawned(actor: ActorIdentity(session: 1, sequence: 3), error: TaskError(taskName: "c", errorType: "E", message: "m"))),
            .killActor(ActorIdentity(session: 1, sequence: 3)),
            .pullObject(ObjectID(session: 3, sequence: 4), sharedMemory: true),
            .objectShared(
                SharedObject(
                    id: ObjectID(session: 3, sequence: 5), typeName: "T", process: 42, descriptor: 7, segment: 9, byteCount: 1 << 20)),
            .releaseSegment(9),
            .objectChunk(
                ObjectChunk(
                    id: ObjectID(session: 3, sequence: 4), typeName: "[UInt8]", totalCount: 10, offset: 4, checksum: 77,
                    bytes: [1, 2, 3][...])),
            .objectUnavailable(ObjectID(session: 3, sequence: 4), reason: "gone"),
            .freeObject(ObjectID(session: 3, sequence: 4)),
            .pullOrLocate(ObjectID(session: 3, sequence: 4)),
            .objectAt(
                ObjectLocation(id: ObjectID(session: 3, sequence: 4), holder: PeerID(3), host: "10.0.0.2", port: 7001, byteCount: 99)),
            .objectService(host: "node-b.local", port: 40_000),
        ]
        for message in messages {
            let frame = try WireFrame(decoding: message.frame().encoded())
            let decoded = try RuntimeMessage(frame: frame)
            #expect(decoded.frame() == message.frame())
        }
    }

    @Test("object locations that name the driver, no port, or a host with spaces are rejected")
    func badLocations() {
        let id = ObjectID(session: 3, sequence: 4)
        let bad: [RuntimeMessage] = [
            .objectAt(ObjectLocation(id: id, holder: .driver, host: "10.0.0.2", port: 7001, byteCount: 1)),
            .objectAt(ObjectLocation(id: id, holder: PeerID(2), host: "10.0.0.2", port: 0, byteCount: 1)),
            .objectAt(ObjectLocation(id: id, holder: PeerID(2), host: "evil host", port: 7001, byteCount: 1)),
            .objectService(host: "", port: 7001), .objectService(host: "h", port: 70_000),
            .objectService(host: String(repeating: "a", count: 300), port: 1),
            .spawnActor(ActorSpawn(actor: ActorIdentity(session: 1, sequence: 3), typeName: "main.Counter", maxConcurrency: 0)),
        ]
        for message in bad {
            #expect(throws: WireError.self) { try RuntimeMessage(frame: message.frame()) }
        }
    }

    @Test("the fuzz seed of a queued task assignment is current (regenerate with IOCOMPUTE_WRITE_SEEDS=1)")
    func queuedAssignmentSeed() throws {
        let message = RuntimeMessage.execute(
            TaskAssignment(
                taskID: 8, attempt: 0, functionName: "f", signature: "(Int) -> Int", arguments: [.inline(.value(4))],
                timeout: .milliseconds(5), resultID: ObjectID(session: 3, sequence: 6), after: 7))
        let bytes = message.frame().encoded()
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fuzz/Seeds/execute-queued")
        if ProcessInfo.processInfo.environment["IOCOMPUTE_WRITE_SEEDS"] != nil { try Data(bytes).write(to: url) }
        #expect([UInt8](try Data(contentsOf: url)) == bytes, "Fuzz/Seeds/execute-queued is stale")
        guard case .execute(let decoded) = try RuntimeMessage(frame: try WireFrame(decoding: bytes)) else {
            Issue.record("not an assignment")
            return
        }
        #expect(decoded.after == 7)
    }

    @Test("inputs the fuzzer found are rejected with typed errors (regressions)")
    func fuzzRegressions() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("FuzzRegressions")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(!names.isEmpty)
        for name in names {
            let bytes = [UInt8](try Data(contentsOf: folder.appendingPathComponent(name)))
            // The first one: a metadata count near Int.max made the error path overflow.
            #expect(throws: WireError.self, "\(name)") { try WireFrame(decoding: bytes) }
            WireFuzzing.decodeEverything(bytes)
        }
    }

    @Test("random bytes and random payloads are rejected with typed errors, never a crash")
    func garbage() {
        var generator = SplitMix(state: 2026)
        var rejected = 0
        for round in 0..<3000 {
            let length = Int(generator.next() % 96)
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            // Both decoders throw only WireError (typed throws); the test is that they return or
            // throw for every input rather than trap.
            do throws(WireError) {
                // Half the rounds get a valid frame around random payload bytes.
                let frame = round % 2 == 0 ? try WireFrame(decoding: bytes) : WireFrame(kind: UInt16(1 + round % 5), payload: bytes)
                _ = try RuntimeMessage(frame: frame)
            } catch {
                rejected += 1
            }
        }
        #expect(rejected > 2900)
    }
}
