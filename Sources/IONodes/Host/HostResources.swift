import Foundation
import IOTensorOpenCL
import IOTransportTCP

#if canImport(Glibc)
    import Glibc
#endif

/// What this machine offers a cluster, as `iocompute start` detects it.
public enum HostResources {
    /// The online cores.
    public static var cpuCount: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// The machine's memory in bytes (`MemTotal` of `/proc/meminfo`).
    public static var memoryBytes: Int {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") })
        else { return 0 }
        let kibibytes = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kibibytes * 1024
    }

    /// The indices of the OpenCL devices that are GPUs (none when there is no OpenCL platform).
    public static var gpuDevices: [Int] {
        ((try? OpenCL.devices()) ?? []).filter { $0.kind == .gpu }.map(\.index)
    }

    /// A node's announcement with detected resources, overridden where given.
    public static func announcement(
        name: String, cpus: Double? = nil, memory: Double? = nil, gpus: Int? = nil, labels: [String: String] = [:], host: String = ""
    ) -> NodeAnnouncement {
        let devices = gpuDevices
        let gpuCount = gpus ?? devices.count
        var resources: [String: Double] = ["cpu": cpus ?? Double(cpuCount), "memory": memory ?? Double(memoryBytes)]
        if gpuCount > 0 { resources["gpu"] = Double(gpuCount) }
        return NodeAnnouncement(
            name: name, resources: resources, labels: labels, host: host, gpuDevices: Array(devices.prefix(gpuCount)))
    }

    /// Parses `key=value` labels.
    public static func labels(_ pairs: [String]) throws -> [String: String] {
        var labels: [String: String] = [:]
        for pair in pairs {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ControlError.malformed("the label \"\(pair)\" is not KEY=VALUE")
            }
            labels[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        return labels
    }
}

extension HostResources {
    /// The first IPv4 address of an interface that is up and not loopback, or `127.0.0.1`: what
    /// a head listening on every interface tells nodes to dial.
    public static var primaryAddress: String {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return "127.0.0.1" }
        defer { freeifaddrs(list) }
        var entry: UnsafeMutablePointer<ifaddrs>? = first
        while let current = entry {
            defer { entry = current.pointee.ifa_next }
            let flags = Int32(current.pointee.ifa_flags)
            guard flags & Int32(IFF_UP) != 0, flags & Int32(IFF_LOOPBACK) == 0, let address = current.pointee.ifa_addr,
                address.pointee.sa_family == sa_family_t(AF_INET)
            else { continue }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            let converted = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { ipv4 -> Bool in
                var bytes = ipv4.pointee.sin_addr
                return inet_ntop(AF_INET, &bytes, &text, socklen_t(text.count)) != nil
            }
            if converted { return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        }
        return "127.0.0.1"
    }

    /// This machine's host name, cut to a valid node name.
    public static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let cleaned = String(name.prefix(64).map { NodeCredentials.isValidName(String($0)) ? $0 : "-" })
        return cleaned.isEmpty ? "node" : cleaned
    }
}
