/// Environments by name, so that env runners in any process of a cluster build the same ones
/// (every process builds the same catalog, as it builds the same `Registry`).
///
/// ```swift
/// let catalog = EnvironmentCatalog.standard
///     .adding("GridWorld-v0") { try TimeLimit(GridWorld(), maxSteps: 100) }
/// var env = try catalog.make("CartPole-v1")
/// ```
public struct EnvironmentCatalog: Sendable {
    private var makers: [String: @Sendable () throws -> any Environment] = [:]

    /// An empty catalog.
    public init() {}

    /// CartPole-v1 (500 steps), Pendulum-v1 (200) and MountainCar-v0 (200), with Gymnasium's
    /// time limits.
    public static let standard = EnvironmentCatalog()
        .adding("CartPole-v1") { try TimeLimit(CartPole(), maxSteps: 500) }
        .adding("Pendulum-v1") { try TimeLimit(Pendulum(), maxSteps: 200) }
        .adding("MountainCar-v0") { try TimeLimit(MountainCar(), maxSteps: 200) }

    /// This catalog with `name` built by `make` (replacing any environment of that name).
    public func adding(_ name: String, _ make: @escaping @Sendable () throws -> any Environment) -> EnvironmentCatalog {
        var copy = self
        copy.makers[name] = make
        return copy
    }

    /// The names it holds, sorted.
    public var names: [String] { makers.keys.sorted() }

    /// A new environment registered as `name`.
    ///
    /// - Throws: ``EnvironmentError/unknownEnvironment(_:)``, or what the maker throws.
    public func make(_ name: String) throws -> any Environment {
        guard let make = makers[name] else { throw EnvironmentError.unknownEnvironment(name) }
        return try make()
    }
}
