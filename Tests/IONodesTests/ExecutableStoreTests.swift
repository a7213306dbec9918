import Foundation
import IORuntime
import Testing

@testable import IONodes

@Suite("executables kept by their hash")
struct ExecutableStoreTests {
    @Test("an upload is kept only when its bytes hash to its name; names are hashes, not paths")
    func integrity() throws {
        let store = try ExecutableStore(directory: NSTemporaryDirectory() + "iocompute-store-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(atPath: store.directory) }
        let (hash, size) = try ExecutableStore.digest(ofFile: "/bin/true")
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: "/bin/true")))
        #expect(bytes.count == size)
        // Out of order, in two parts.
        try store.write(hash, offset: size / 2, bytes: Array(bytes[(size / 2)...]))
        try store.write(hash, offset: 0, bytes: Array(bytes[..<(size / 2)]))
        try store.seal(hash, size: size)
        let path = try #require(store.path(of: hash))
        #expect(FileManager.default.isExecutableFile(atPath: path))
        #expect(try store.read(hash, offset: 0, length: 16) == Array(bytes.prefix(16)))
        #expect(store.size(of: hash) == size)

        // Bytes that do not match the name they came under are refused and dropped.
        let forged = String(repeating: "ab", count: 32)
        try store.write(forged, offset: 0, bytes: bytes)
        #expect(throws: ControlError.self) { try store.seal(forged, size: size) }
        #expect(store.path(of: forged) == nil)
        #expect(!FileManager.default.fileExists(atPath: store.directory + "/\(forged).part"))

        for name in ["../../etc/passwd", "ABCDEF" + String(repeating: "0", count: 58), "", String(repeating: "a", count: 63)] {
            #expect(store.path(of: name) == nil)
            #expect(throws: ControlError.self) { try store.write(name, offset: 0, bytes: [1]) }
        }
        #expect(throws: ControlError.self) { try store.write(hash, offset: ExecutableStore.maximumSize, bytes: [1]) }
        #expect(throws: ControlError.self) { try store.write(hash, offset: -1, bytes: [1]) }
        #expect(throws: ControlError.self) { try store.read(forged, offset: 0, length: 1) }
    }
}

@Suite("executable parts on the wire")
struct ExecutablePartFrameTests {
    @Test("parts travel as raw bytes and come back equal; truncated, padded or oversized parts are malformed")
    func frames() throws {
        let bytes = Data((0..<(ControlMessage.maximumPart)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let hash = String(repeating: "0f", count: 32)
        let messages: [ControlMessage] = [
            .writeExecutable(request: 7, hash: hash, offset: 3 << 20, bytes: bytes), .bytes(request: 9, bytes), .bytes(request: 1, Data()),
        ]
        for message in messages {
            let frame = try message.frame()
            #expect(frame.kind != ControlMessage.frameKind)
            // Raw: a part costs a few bytes more than its contents, not base64's third.
            #expect(frame.payload.count <= bytes.count + 96)
            #expect(try ControlMessage(frame: frame) == message)
            for damaged in [Array(frame.payload.dropLast()), frame.payload + [0], Array(frame.payload.prefix(5))] {
                #expect(throws: ControlError.self) { try ControlMessage(frame: WireFrame(kind: frame.kind, payload: damaged)) }
            }
        }
        let oversized = ControlMessage.bytes(request: 2, bytes + Data([1]))
        #expect(throws: ControlError.self) { try ControlMessage(frame: oversized.frame()) }
        let farOffset = ControlMessage.writeExecutable(request: 2, hash: hash, offset: ExecutableStore.maximumSize + 1, bytes: Data([1]))
        #expect(throws: ControlError.self) { try ControlMessage(frame: farOffset.frame()) }
        // Everything else still goes as JSON.
        #expect(try ControlMessage.heartbeat(workers: 2).frame().kind == ControlMessage.frameKind)
    }
}
