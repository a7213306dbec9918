/// Why the server answered a request with an error, and the HTTP status that carries it.
public enum ServeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The body is not valid JSON for the deployment's request type (400).
    case malformedRequest(String)
    /// The body is larger than ``DeploymentOptions/maxBodyBytes`` (413).
    case bodyTooLarge(limit: Int)
    /// The replica refused the request: a wrong shape, a value out of range (422).
    case rejected(String)
    /// Too many requests are queued already (503, retry later).
    case overloaded(queued: Int)
    /// The server is draining before it stops (503).
    case draining
    /// No replica could take the request: they died and were not replaced in time (503).
    case unavailable(String)
    /// The replica answered a batch with another number of responses than requests (500).
    case badBatch(requests: Int, responses: Int)

    /// The HTTP status code for this error.
    public var statusCode: Int {
        switch self {
        case .malformedRequest: 400
        case .bodyTooLarge: 413
        case .rejected: 422
        case .overloaded, .draining, .unavailable: 503
        case .badBatch: 500
        }
    }

    public var description: String {
        switch self {
        case .malformedRequest(let reason): "malformed request: \(reason)"
        case .bodyTooLarge(let limit): "the body is larger than \(limit) bytes"
        case .rejected(let reason): "the model rejected the request: \(reason)"
        case .overloaded(let queued): "overloaded: \(queued) requests are queued already; retry later"
        case .draining: "the server is shutting down"
        case .unavailable(let reason): "no replica is available: \(reason)"
        case .badBatch(let requests, let responses): "a replica answered \(requests) requests with \(responses) responses"
        }
    }
}
