import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Freed tensor memory kept for the next allocation of the same size.
///
/// A training step allocates the same large buffers every time (activations, gradients, BLAS
/// outputs). Handed back to `free`, glibc returns them to the kernel and the next step faults
/// every page in afresh, which cost training steps of a 1024-sample batch about 20 % of their
/// time. The cache keeps up to ``limitBytes`` of freed buffers from ``minimumBytes`` up, reuses
/// one of exactly the same size, and frees the oldest when full. Smaller buffers stay with malloc,
/// which already recycles them cheaply.
enum BufferCache {
    /// Buffers below this size go straight to malloc and free.
    static let minimumBytes = 64 << 10
    /// The most freed memory the cache holds.
    static let limitBytes = 256 << 20

    /// A cached buffer; its address is kept as an integer so that the state is `Sendable`.
    private struct Entry: Sendable {
        let byteCount: Int
        let address: UInt

        var pointer: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: address)! }
    }

    private struct State: ~Copyable {
        /// Oldest first.
        var entries: [Entry] = []
        var cachedBytes = 0
    }

    private static let state = Mutex(State())

    /// A cached buffer of exactly `byteCount` bytes, or nil.
    static func take(byteCount: Int) -> UnsafeMutableRawPointer? {
        guard byteCount >= minimumBytes else { return nil }
        let entry = state.withLock { state -> Entry? in
            guard let index = state.entries.lastIndex(where: { $0.byteCount == byteCount }) else { return nil }
            state.cachedBytes -= byteCount
            return state.entries.remove(at: index)
        }
        return entry?.pointer
    }

    /// Keeps `pointer` (allocated for `byteCount` bytes) for reuse, freeing the oldest buffers
    /// when the cache would grow past its limit; frees small or oversized buffers at once.
    static func give(_ pointer: UnsafeMutableRawPointer, byteCount: Int) {
        guard byteCount >= minimumBytes, byteCount <= limitBytes / 4 else {
            free(pointer)
            return
        }
        let kept = Entry(byteCount: byteCount, address: UInt(bitPattern: pointer))
        let evicted = state.withLock { state -> [Entry] in
            state.entries.append(kept)
            state.cachedBytes += byteCount
            var evicted: [Entry] = []
            while state.cachedBytes > limitBytes {
                let oldest = state.entries.removeFirst()
                state.cachedBytes -= oldest.byteCount
                evicted.append(oldest)
            }
            return evicted
        }
        for entry in evicted { free(entry.pointer) }
    }

    /// Frees every cached buffer (tests, and callers that need the memory back now).
    static func empty() {
        let all = state.withLock { state -> [Entry] in
            defer { (state.entries, state.cachedBytes) = ([], 0) }
            return state.entries
        }
        for entry in all { free(entry.pointer) }
    }

    /// The bytes the cache holds now.
    static var cachedBytes: Int { state.withLock { $0.cachedBytes } }
}
