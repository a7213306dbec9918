/// A serializable value whose large blocks stay in memory of its own while it lives, and which
/// writes them with ``WireEncoder/writeRawBytes(_:keptAliveBy:)``: a tensor, whose elements stay
/// in its buffer.
///
/// A large object of such a type that another machine pulls is sent in chunks read from those
/// blocks in place: only the small parts between them (a tensor's shape) are copied, instead of
/// the whole value being encoded into memory of its own before the first chunk can go.
public protocol WireLendingSerializable: WireSerializable {}
