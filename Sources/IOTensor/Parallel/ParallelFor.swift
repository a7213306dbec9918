import Dispatch
import Foundation

/// Splits data-parallel loops over the machine's cores.
///
/// Small loops run on the calling thread: handing work to other threads costs a few microseconds,
/// which only pays off above ``minimumParallelWork`` elements.
enum Parallel {
    /// The number of worker threads that loops are split over: the active processor count.
    static let threadCount: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Below this many elements of work (4 MiB of float32) a loop runs on one thread. Splitting
    /// smaller loops pays off only on an idle machine: between matrix products OpenBLAS's own
    /// threads spin for work, and a second thread of ours then competes with them for the core.
    /// Training steps ran up to 10 % faster with this bound than with 32 Ki elements.
    static let minimumParallelWork = 1 << 20

    /// Calls `body` with disjoint subranges that together cover `0..<count`, in parallel when
    /// `count × costPerElement` is large enough to be worth it.
    ///
    /// - Parameters:
    ///   - count: the number of items.
    ///   - costPerElement: a rough weight of one item relative to one elementwise operation
    ///     (a row of a softmax weighs its length).
    ///   - body: work on one subrange; it runs concurrently with the other subranges.
    static func forEachChunk(
        _ count: Int, costPerElement: Int = 1, _ body: (Range<Int>) -> Void
    ) {
        guard count > 0 else { return }
        let work = count.multipliedReportingOverflow(by: max(costPerElement, 1))
        let chunks = min(threadCount, count)
        if chunks <= 1 || (!work.overflow && work.partialValue < minimumParallelWork) {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { escapable in
            // Sound because `concurrentPerform` returns only after every iteration has finished,
            // and each iteration works on its own range.
            let shared = UncheckedSendable(escapable)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let start = count * chunk / chunks
                let end = count * (chunk + 1) / chunks
                shared.value(start..<end)
            }
        }
    }
}

/// A pointer that loop bodies running on several threads may share.
///
/// `@unchecked Sendable` is sound here because every parallel loop in this module gives each
/// thread a disjoint range of elements to write, and the pointee outlives the loop that uses it.
struct SharedPointer<Pointee>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Pointee>
    init(_ base: UnsafeMutablePointer<Pointee>) { self.base = base }
    init(_ base: UnsafePointer<Pointee>) { self.base = UnsafeMutablePointer(mutating: base) }
}

/// Carries a value into a `@Sendable` closure whose execution the caller bounds and synchronizes
/// itself (see ``Parallel/forEachChunk(_:costPerElement:_:)``).
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
