import CSharedMemory
import IORuntime
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A ring of message slots in shared memory through which a rank hands collective messages to
/// its next rank when both run on one host: the sender copies a message into a free slot and
/// announces it with a small frame on their TCP connection; the receiver copies it out at once
/// and gives the slot back. Two copies in user space replace the five of a trip through TCP (into
/// the send buffer, through the kernel twice, out of the receive buffer twice).
///
/// The sender owns the memory file (`memfd`); the receiver maps it read-only through
/// `/proc/<pid>/fd/<n>` after checking its name and a random tag the sender wrote at its start,
/// so a wrong or stale offer is refused rather than read. Where the mapping fails (another host,
/// a sandbox), messages stay on TCP.
final class SharedSlots: @unchecked Sendable {
    /// The memory file's name prefix in /proc listings.
    static let namePrefix = "iocompute-collective"
    /// The bytes before the first slot: the random tag.
    static let tagBytes = 16

    let base: UnsafeMutableRawPointer
    let byteCount: Int
    let slotCount: Int
    let slotBytes: Int
    /// The memory file, on the sender's side (-1 on the receiver's).
    let descriptor: Int32
    let tag: [UInt8]

    private init(base: UnsafeMutableRawPointer, byteCount: Int, slotCount: Int, slotBytes: Int, descriptor: Int32, tag: [UInt8]) {
        self.base = base
        self.byteCount = byteCount
        self.slotCount = slotCount
        self.slotBytes = slotBytes
        self.descriptor = descriptor
        self.tag = tag
    }

    deinit {
        munmap(base, byteCount)
        if descriptor >= 0 { close(descriptor) }
    }

    /// The start of slot `index`.
    func slot(_ index: Int) -> UnsafeMutableRawPointer { base + Self.tagBytes + index * slotBytes }

    /// A new ring of `slotCount` slots of `slotBytes` each, in a memory file of this process;
    /// nil where memory files are not available.
    static func create(slotCount: Int, slotBytes: Int) -> SharedSlots? {
        let byteCount = tagBytes + slotCount * slotBytes
        let descriptor = iocompute_memfd(namePrefix, byteCount)
        guard descriptor >= 0 else { return nil }
        guard let base = mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0), base != MAP_FAILED else {
            close(descriptor)
            return nil
        }
        let tag = (0..<tagBytes).map { _ in UInt8.random(in: 0...255) }
        base.copyMemory(from: tag, byteCount: tagBytes)
        return SharedSlots(base: base, byteCount: byteCount, slotCount: slotCount, slotBytes: slotBytes, descriptor: descriptor, tag: tag)
    }

    /// Maps the ring that `offer` describes, read-only; nil when it cannot be reached or is not
    /// what the offer says.
    static func map(_ offer: Offer) -> SharedSlots? {
        guard offer.slotCount > 0, offer.slotBytes > 0, offer.slotCount <= 1024, offer.slotBytes <= 1 << 30 else { return nil }
        let path = "/proc/\(offer.process)/fd/\(offer.descriptor)"
        var target = [CChar](repeating: 0, count: 256)
        let length = readlink(path, &target, target.count - 1)
        guard length > 0 else { return nil }
        let name = String(decoding: target[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard name.hasPrefix("/memfd:\(namePrefix)") else { return nil }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        let byteCount = tagBytes + offer.slotCount * offer.slotBytes
        var status = stat()
        guard fstat(descriptor, &status) == 0, Int(status.st_size) >= byteCount else { return nil }
        guard let base = mmap(nil, byteCount, PROT_READ, MAP_SHARED, descriptor, 0), base != MAP_FAILED else { return nil }
        let slots = SharedSlots(
            base: base, byteCount: byteCount, slotCount: offer.slotCount, slotBytes: offer.slotBytes, descriptor: -1, tag: offer.tag)
        // The same pid and descriptor number on another host, or a recycled pid, is not this ring.
        guard Array(UnsafeRawBufferPointer(start: base, count: tagBytes)) == offer.tag else { return nil }
        return slots
    }

    /// What the sender tells its next rank so that it can map the ring.
    struct Offer: Equatable {
        var process: Int32
        var descriptor: Int32
        var slotCount: Int
        var slotBytes: Int
        var tag: [UInt8]

        var bytes: [UInt8] {
            var encoder = WireEncoder()
            encoder.write(process)
            encoder.write(descriptor)
            encoder.write(UInt32(slotCount))
            encoder.write(UInt32(slotBytes))
            return encoder.bytes + tag
        }

        init(process: Int32, descriptor: Int32, slotCount: Int, slotBytes: Int, tag: [UInt8]) {
            (self.process, self.descriptor, self.slotCount, self.slotBytes, self.tag) = (process, descriptor, slotCount, slotBytes, tag)
        }

        init?(_ bytes: [UInt8]) {
            guard bytes.count == 16 + SharedSlots.tagBytes else { return nil }
            var decoder = WireDecoder(Array(bytes[..<16]))
            guard let process = try? decoder.read(Int32.self), let descriptor = try? decoder.read(Int32.self),
                let slotCount = try? decoder.read(UInt32.self), let slotBytes = try? decoder.read(UInt32.self)
            else { return nil }
            (self.process, self.descriptor, self.slotCount, self.slotBytes) = (process, descriptor, Int(slotCount), Int(slotBytes))
            tag = Array(bytes[16...])
        }
    }
}

/// The sender's free slots: taking one waits while every slot is in flight.
final class SlotCredits: Sendable {
    private struct State {
        var free: [Int]
        var waiters: [OneShot<Int>] = []
        var failure: CollectiveError?
    }

    private let state: Mutex<State>

    init(slotCount: Int) { state = Mutex(State(free: Array((0..<slotCount).reversed()))) }

    /// A free slot, waiting for one if needed.
    func take() async throws -> Int {
        if let ready = try state.withLock({ state -> Int? in
            if let failure = state.failure { throw failure }
            return state.free.popLast()
        }) {
            return ready
        }
        let waiter = OneShot<Int>()
        let outcome = state.withLock { state -> Result<Int, CollectiveError>? in
            if let failure = state.failure { return .failure(failure) }
            if let slot = state.free.popLast() { return .success(slot) }
            state.waiters.append(waiter)
            return nil
        }
        if let outcome { return try outcome.get() }
        return try await waiter.value()
    }

    /// Gives slot `index` back (the receiver copied its message out).
    func give(_ index: Int) {
        state.withLock { state in
            guard state.failure == nil else { return }
            // A cancelled taker does not get the slot: it goes to the next one, or back to the free list.
            while !state.waiters.isEmpty {
                if state.waiters.removeFirst().resume(returning: index) { return }
            }
            state.free.append(index)
        }
    }

    /// Fails the waiting and every later take.
    func fail(_ error: CollectiveError) {
        let waiters = state.withLock { state -> [OneShot<Int>] in
            if state.failure == nil { state.failure = error }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }
}
