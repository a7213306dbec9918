/// The name of a schedulable resource: `cpu`, `gpu`, `memory` (bytes), or a custom label.
public struct ResourceName: Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The name as written in options and status reports.
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }
    /// Processor cores.
    public static let cpu = ResourceName("cpu")
    /// Accelerators.
    public static let gpu = ResourceName("gpu")
    /// Memory in bytes.
    public static let memory = ResourceName("memory")
    public var description: String { rawValue }
}

/// Amounts of resources, fractional where useful (`[.cpu: 0.5, "tpu-slice": 1]`).
public struct ResourceSet: Sendable, Equatable, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    /// The amount of each named resource; absent names count as zero.
    public private(set) var amounts: [ResourceName: Double]

    /// Below this, a remainder counts as zero (fractions such as 0.1 do not add up exactly).
    static let tolerance = 1e-9

    public init(_ amounts: [ResourceName: Double] = [:]) {
        self.amounts = amounts.filter { $0.value != 0 }
    }

    public init(dictionaryLiteral elements: (ResourceName, Double)...) {
        self.init(Dictionary(elements, uniquingKeysWith: +))
    }

    /// The amount of `name`.
    public subscript(name: ResourceName) -> Double { amounts[name] ?? 0 }

    /// Whether every amount here is available in `available`.
    public func fits(in available: ResourceSet) -> Bool {
        amounts.allSatisfy { available[$0.key] + Self.tolerance >= $0.value }
    }

    /// Every amount is non-negative and finite.
    var isValid: Bool { amounts.values.allSatisfy { $0 >= 0 && $0.isFinite } }

    mutating func subtract(_ other: ResourceSet) {
        for (name, amount) in other.amounts { amounts[name] = self[name] - amount }
    }

    mutating func add(_ other: ResourceSet) {
        for (name, amount) in other.amounts { amounts[name] = self[name] + amount }
    }

    public var description: String {
        "[" + amounts.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "]"
    }
}

/// Where a task may run.
public enum Placement: Sendable, Hashable {
    /// Wherever resources allow, preferring the worker that holds the task's largest input.
    case automatic
    /// On the least-loaded worker, to spread tasks out.
    case spread
    /// On the given worker; when `strict` is false, elsewhere if that worker can never fit it.
    case worker(Int, strict: Bool)
    /// Inside bundle `index` of a placement group, drawing on its reservation
    /// (see ``PlacementGroup/bundle(_:)``).
    case bundle(group: UInt64, index: Int)
}

/// Options that every submission accepts.
public struct TaskOptions: Sendable {
    /// The resources the task holds while it runs (one CPU by default).
    public var resources: ResourceSet
    /// How many times to run the task again after a retryable failure: the loss of its worker
    /// always, an error it throws when ``retryOnThrownErrors`` is set. Three by default, as in Ray.
    public var maxRetries: Int
    /// Whether an error the task's function throws is retryable (worker loss always is).
    public var retryOnThrownErrors: Bool
    /// The longest the task may run; past it, it is cancelled and its result fails with
    /// ``ClusterError/timedOut(task:seconds:)``.
    public var timeout: Duration?
    /// Where the task may run.
    public var placement: Placement
    /// Whether the task's result is pinned to the worker that makes it — data that must stay
    /// where it was loaded, such as a hospital's records in a federation. A pinned object never
    /// leaves its worker's process, whatever its size:
    ///
    /// - tasks that take it as an argument, and actors spawned from it, run on that worker (a task
    ///   whose placement names another worker, or whose pinned inputs are on two workers, fails
    ///   with ``ClusterError/pinned(object:worker:reason:)``);
    /// - reading it with ``ObjectRef/get()`` — on the driver, or through a ``BorrowedRef`` in an
    ///   actor call — fails with that error, and so does any pull of it by another process;
    /// - it is not rebuilt elsewhere when its worker is lost: it fails with that error.
    ///
    /// Choose the worker with ``placement`` (`.worker(i, strict: true)`), since that is where the
    /// data is loaded. The same rules hold in process, so a program tried on an in-process cluster
    /// behaves the same on processes and hosts.
    public var pinsResult: Bool

    public init(
        resources: ResourceSet = [.cpu: 1], maxRetries: Int = 3, retryOnThrownErrors: Bool = false,
        timeout: Duration? = nil, placement: Placement = .automatic, pinsResult: Bool = false
    ) {
        self.resources = resources
        self.maxRetries = maxRetries
        self.retryOnThrownErrors = retryOnThrownErrors
        self.timeout = timeout
        self.placement = placement
        self.pinsResult = pinsResult
    }
}
