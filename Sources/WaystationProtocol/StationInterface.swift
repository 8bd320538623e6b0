/// The control interface: its name, and its definition as the daemon returns it from
/// `org.varlink.service.GetInterfaceDescription` — the text of `io.waystation.Station.varlink` in
/// this directory, embedded at build time (the file is the only copy).
public enum StationInterface {
    public static let name = "io.waystation.Station"

    public static let description: String = {
        let text = String(decoding: PackageResources.io_waystation_Station_varlink, as: UTF8.self)
        var end = text.endIndex
        while end > text.startIndex, text[text.index(before: end)] == "\n" { end = text.index(before: end) }
        return String(text[..<end])
    }()

    /// `io.waystation.Station.<member>`.
    public static func method(_ member: String) -> String { "\(name).\(member)" }
}

/// `org.varlink.service`, which every varlink service provides.
public enum VarlinkServiceInterface {
    public static let name = "org.varlink.service"

    public static let description = """
        # The Varlink Service Interface is provided by every varlink service.
        interface org.varlink.service

        method GetInfo() -> (vendor: string, product: string, version: string, url: string, interfaces: []string)
        method GetInterfaceDescription(interface: string) -> (description: string)

        error InterfaceNotFound (interface: string)
        error MethodNotFound (method: string)
        error MethodNotImplemented (method: string)
        error InvalidParameter (parameter: string)
        error PermissionDenied ()
        error ExpectedMore ()
        """

    public struct Info: Codable, Sendable, Equatable {
        public var vendor: String
        public var product: String
        public var version: String
        public var url: String
        public var interfaces: [String]
        public init(vendor: String, product: String, version: String, url: String, interfaces: [String]) {
            self.vendor = vendor
            self.product = product
            self.version = version
            self.url = url
            self.interfaces = interfaces
        }
    }
}
