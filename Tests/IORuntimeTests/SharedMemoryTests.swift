import CSharedMemory
import Foundation
import IORuntimeTensor
import IOTensor
import Synchronization
import Testing

@testable import IORuntime

@Suite("shared memory objects", .timeLimit(.minutes(3)))
struct SharedMemoryTests {
    let id = ObjectID(session: 7, sequence: 1)
    let reader = PeerID(2)

    /// A loan of `payload` from a fresh segment of `pool`, and the segment.
    func lend(_ payload: Payload, from pool: SharedMemoryPool) throws -> (SharedSegment, SharedObject) {
        let segment = try pool.store(payload)
        return (segment, pool.lend(segment, object: id, typeName: payload.typeName, to: reader))
    }

    @Test("a lent object maps read-only with the same bytes from a sealed segment; release and drop unmap it")
    func lendMapRelease() throws {
        let pool = SharedMemoryPool()
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let (segment, loan) = try lend(.bytes(typeName: "[UInt8]", bytes), from: pool)
        #expect(loan.byteCount == bytes.count && loan.process == getpid())
        let released = Mutex<[UInt64]>([])
        do {
            let mapped = try SharedBytes.map(loan) { released.withLock { $0.append(loan.segment) } }
            #expect(Array(mapped.bytes) == bytes)
            #expect(mapped.bytes.baseAddress != UnsafeRawPointer(segment.base), "a second mapping, not the lender's")
        }
        #expect(released.withLock { $0 } == [loan.segment], "unmapping tells the lender once")
        pool.release(loan.segment, from: reader)
        #expect(pool.counts == (1, 0), "the store still holds it")
        pool.drop(segment)
        #expect(pool.counts == (0, 0), "a sealed segment cannot take another object")
        let again = try pool.store(.bytes(typeName: "[UInt8]", [UInt8](repeating: 9, count: 200_000)))
        #expect(again !== segment && again.length == 200_000 && again.isSealed)
        #expect(pool.counts == (1, 0))
    }

    @Test("the driver's pool reuses its warm segments unsealed; only a reader that trusts its lender maps them")
    func driverPoolReuses() throws {
        let pool = SharedMemoryPool(sealsSegments: false)
        let (segment, loan) = try lend(.bytes(typeName: "[UInt8]", [UInt8](repeating: 5, count: 300_000)), from: pool)
        #expect(!segment.isSealed)
        #expect(throws: SharedMemoryError.self, "a worker's kind of loan must be sealed for the driver") {
            _ = try SharedBytes.map(loan) {}
        }
        do {
            let mapped = try SharedBytes.map(loan, requiringSeal: false) {}
            #expect(mapped.bytes.allSatisfy { $0 == 5 })
        }
        pool.release(loan.segment, from: reader)
        pool.drop(segment)
        #expect(pool.counts == (0, 1))
        // The next object of a size that fits reuses the idle segment, pages and all.
        let again = try pool.store(.bytes(typeName: "[UInt8]", [UInt8](repeating: 9, count: 200_000)))
        #expect(again === segment && again.length == 200_000)
        #expect(pool.counts == (1, 0))
    }

    @Test("a lender cannot write to, grow or shrink a segment once it is lent")
    func sealedAgainstTheLender() throws {
        let pool = SharedMemoryPool()
        let (segment, loan) = try lend(.bytes(typeName: "[UInt8]", [UInt8](repeating: 4, count: 100_000)), from: pool)
        #expect(segment.isSealed)
        let path = "/proc/\(loan.process)/fd/\(loan.descriptor)"
        // Every way in that writes is closed by the kernel: a writable mapping, a write, a resize.
        let writable = open(path, O_RDWR)
        #expect(writable >= 0)
        defer { close(writable) }
        let mapping = mmap(nil, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, writable, 0)
        #expect(mapping == MAP_FAILED && errno == EPERM, "a writable shared mapping is refused")
        #expect([UInt8](repeating: 0, count: 16).withUnsafeBytes { pwrite(writable, $0.baseAddress, 16, 0) } == -1 && errno == EPERM)
        #expect(ftruncate(writable, 0) == -1 && errno == EPERM, "a shrink (SIGBUS for readers) is refused")
        #expect(ftruncate(writable, 1 << 30) == -1 && errno == EPERM)
        let mapped = try SharedBytes.map(loan) {}
        #expect(mapped.bytes.allSatisfy { $0 == 4 })
    }

    @Test("a loan of a segment that is not sealed is refused: its lender could still write to it")
    func unsealedLoanRefused() throws {
        // A memory file with the right name but no seals, as a hostile peer would lend.
        let descriptor = iocompute_memfd(SharedSegment.namePrefix, 8192)
        #expect(descriptor >= 0)
        defer { close(descriptor) }
        let loan = SharedObject(
            id: id, typeName: "[UInt8]", process: getpid(), descriptor: descriptor, segment: 1, byteCount: 4096)
        do {
            _ = try SharedBytes.map(loan) {}
            Issue.record("an unsealed segment was mapped")
        } catch {
            guard case .invalidLoan(_, let reason) = error else { Issue.record("\(error)"); return }
            #expect(reason.contains("not sealed"))
        }
    }

    @Test("values encode straight into a segment, which grows when the estimate was short")
    func encodeIntoSegment() throws {
        let pool = SharedMemoryPool()
        let strings = (0..<20_000).map { "string number \($0)" }  // wireByteCount underestimates these
        let segment = try pool.store(.value(strings))
        #expect(segment.length == strings.wireEncoded().count)
        let view = pool.view(segment)
        #expect(try Payload.shared(typeName: [String].wireTypeName, view).value(as: [String].self) == strings)
    }

    @Test("a lost peer's loans end, and idle segments beyond the cap are unmapped")
    func peerLostAndCap() throws {
        let pool = SharedMemoryPool(idleCapacity: 0)
        let (segment, loan) = try lend(.bytes(typeName: "[UInt8]", [UInt8](repeating: 1, count: 5000)), from: pool)
        _ = pool.lend(segment, object: id, typeName: "[UInt8]", to: reader)  // Lent twice to the same peer.
        pool.drop(segment)
        #expect(pool.counts == (1, 0))
        pool.release(loan.segment, from: PeerID(3))  // Not this peer's loan: ignored.
        #expect(pool.counts == (1, 0))
        pool.peerLost(reader)
        #expect(pool.counts == (0, 0), "no idle room: unmapped")
    }

    @Test("loans that do not name an IOCompute segment, a live process or enough bytes are refused")
    func refusedLoans() throws {
        let pool = SharedMemoryPool()
        let (_, loan) = try lend(.bytes(typeName: "[UInt8]", [UInt8](repeating: 1, count: 5000)), from: pool)
        func map(_ change: (inout SharedObjectFields) -> Void) -> SharedMemoryError? {
            var fields = SharedObjectFields(loan)
            change(&fields)
            do {
                _ = try SharedBytes.map(fields.loan) {}
                return nil
            } catch {
                return error
            }
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("iocompute-not-a-segment-\(getpid())")
        try Data(repeating: 0, count: 100_000).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let plain = open(file.path, O_RDONLY)
        defer { close(plain) }

        guard case .invalidLoan(_, let reason) = map({ $0.descriptor = plain }) else { Issue.record("mapped a plain file"); return }
        #expect(reason.contains("not an IOCompute segment"))
        guard case .invalidLoan = map({ $0.byteCount = 1 << 30 }) else { Issue.record("mapped past the end"); return }
        guard case .invalidLoan = map({ $0.byteCount = 0 }) else { Issue.record("mapped nothing"); return }
        guard case .cannotOpen = map({ $0.descriptor = 9999 }) else { Issue.record("mapped a closed descriptor"); return }
        guard case .cannotOpen = map({ $0.process = Int32.max }) else { Issue.record("mapped from no process"); return }
    }

    @Test("a tensor decoded from shared memory borrows its elements and copies before a write")
    func tensorBorrows() throws {
        let pool = SharedMemoryPool()
        let original = try Tensor<Float>.randomNormal([3, 1001], seed: 5)
        let segment = try pool.store(.value(original))
        #expect(segment.length < original.count * 4 + 80, "encoded straight in, elements once")
        var decoded = try Payload.shared(typeName: Tensor<Float>.wireTypeName, pool.view(segment)).value(as: Tensor<Float>.self)
        #expect(decoded == original)
        let elements = decoded.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress!) }
        #expect(elements >= UnsafeRawPointer(segment.base) && elements < UnsafeRawPointer(segment.base) + segment.length, "borrowed")
        #expect(Int(bitPattern: elements) % 64 == 0)
        decoded.withUnsafeMutableBufferPointer { $0[0] = 1e9 }
        let stillThere = try Payload.shared(typeName: Tensor<Float>.wireTypeName, pool.view(segment)).value(as: Tensor<Float>.self)
        #expect(stillThere == original, "the write went to a private copy")
        #expect(decoded[0, 0] == 1e9)
    }
}

/// The fields of a loan, editable for tests.
struct SharedObjectFields {
    var id: ObjectID, typeName: String, process: Int32, descriptor: Int32, segment: UInt64, byteCount: Int
    init(_ loan: SharedObject) {
        (id, typeName, process, descriptor, segment, byteCount) =
            (loan.id, loan.typeName, loan.process, loan.descriptor, loan.segment, loan.byteCount)
    }
    var loan: SharedObject {
        SharedObject(id: id, typeName: typeName, process: process, descriptor: descriptor, segment: segment, byteCount: byteCount)
    }
}

/// Waits until `condition` holds: the test's time limit, not a guess at a delay, bounds it.
func waitUntil(_ condition: () -> Bool) async throws {
    while !condition() { try await Task.sleep(for: .milliseconds(2)) }
}

@Suite("pulling shared objects", .timeLimit(.minutes(3)))
struct SharedPullTests {
    @Test("a pull asks for a loan, maps it, and releases it when the payload goes")
    func pullsLoan() async throws {
        let pool = SharedMemoryPool()
        let id = ObjectID(session: 8, sequence: 1)
        let bytes = [UInt8](repeating: 7, count: 400_000)
        let asked = Mutex<[Bool]>([])
        let released = Mutex<[UInt64]>([])
        let puller = ObjectPuller(
            sharedMemory: true, request: { _, _, shared in asked.withLock { $0.append(shared) } },
            release: { segment, _ in released.withLock { $0.append(segment) } }, lenderProcess: { _ in getpid() })
        let segment = try pool.store(.value(bytes))
        let loan = pool.lend(segment, object: id, typeName: [UInt8].wireTypeName, to: .driver)
        do {
            let pull = Task { try await puller.pull(id, from: PeerID(1)) }
            try await waitUntil { asked.withLock { $0.count } == 1 }
            puller.receive(
                SharedObject(id: ObjectID(session: 8, sequence: 2), typeName: "", process: 1, descriptor: 1, segment: 77, byteCount: 1),
                from: PeerID(1))
            #expect(released.withLock { $0 } == [77], "a loan nobody asked for is handed straight back")
            puller.receive(loan, from: PeerID(1))
            let payload = try await pull.value
            #expect(try payload.value(as: [UInt8].self) == bytes)
            #expect(released.withLock { $0 } == [77])
        }
        #expect(released.withLock { $0 } == [77, loan.segment])
        #expect(asked.withLock { $0 } == [true])
    }

    @Test("a loan that cannot be mapped is released and the object asked for again in chunks")
    func fallsBackToChunks() async throws {
        let id = ObjectID(session: 8, sequence: 3)
        let asked = Mutex<[Bool]>([])
        let released = Mutex<[UInt64]>([])
        let puller = ObjectPuller(
            sharedMemory: true, request: { _, _, shared in asked.withLock { $0.append(shared) } },
            release: { segment, _ in released.withLock { $0.append(segment) } }, lenderProcess: { _ in getpid() })
        let pull = Task { try await puller.pull(id, from: PeerID(1)) }
        try await waitUntil { asked.withLock { $0.count } == 1 }
        puller.receive(
            SharedObject(id: id, typeName: "[UInt8]", process: getpid(), descriptor: 0, segment: 5, byteCount: 10), from: PeerID(1))
        #expect(asked.withLock { $0 } == [true, false])
        #expect(released.withLock { $0 } == [5])
        let bytes = [UInt8](repeating: 3, count: 1000)
        for chunk in try await ObjectTransferTests.chunks(of: bytes, id: id) { puller.receive(chunk, from: PeerID(1)) }
        guard case .shared(_, let received) = try await pull.value, !received.isLoan else { Issue.record("not chunks"); return }
        #expect(Array(received.bytes) == bytes)
        // Later pulls go straight to chunks.
        let next = Task { try await puller.pull(ObjectID(session: 8, sequence: 4), from: PeerID(1)) }
        try await waitUntil { asked.withLock { $0.count } == 3 }
        #expect(asked.withLock { $0 } == [true, false, false])
        puller.fail(ObjectID(session: 8, sequence: 4), ClusterError.shutDown)
        _ = await next.result
    }

    @Test("a loan that names another process than the holder's fails the pull and is handed back")
    func loanFromAnotherProcess() async throws {
        let pool = SharedMemoryPool()
        let id = ObjectID(session: 8, sequence: 5)
        let released = Mutex<[UInt64]>([])
        let puller = ObjectPuller(
            sharedMemory: true, request: { _, _, _ in }, release: { segment, _ in released.withLock { $0.append(segment) } },
            lenderProcess: { _ in getpid() + 1 })
        let segment = try pool.store(.value([UInt8](repeating: 1, count: 200_000)))
        let loan = pool.lend(segment, object: id, typeName: [UInt8].wireTypeName, to: .driver)
        let pull = Task { try await puller.pull(id, from: PeerID(1)) }
        try await waitUntil { puller.isPulling(id) }
        puller.receive(loan, from: PeerID(1))
        await #expect(throws: ClusterError.self) { try await pull.value }
        #expect(released.withLock { $0 } == [loan.segment])
    }

    @Test("a cancelled pull frees its caller at once; the transfer goes on for the others")
    func cancelledPull() async throws {
        let id = ObjectID(session: 8, sequence: 6)
        let puller = ObjectPuller(request: { _, _, _ in })
        let first = Task { try await puller.pull(id, from: PeerID(1), expectedBytes: 1000) }
        let second = Task { try await puller.pull(id, from: PeerID(1), expectedBytes: 1000) }
        try await waitUntil { puller.isPulling(id) }
        first.cancel()
        await #expect(throws: CancellationError.self) { try await first.value }
        let bytes = [UInt8](repeating: 3, count: 1000)
        for chunk in try await ObjectTransferTests.chunks(of: bytes, id: id) { puller.receive(chunk, from: PeerID(1)) }
        guard case .shared(_, let received) = try await second.value else { Issue.record("not assembled"); return }
        #expect(Array(received.bytes) == bytes)
    }
}
