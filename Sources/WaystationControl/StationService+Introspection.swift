import WaystationCore

extension StationService {
    /// `org.varlink.service`: GetInfo and GetInterfaceDescription.
    func introspect(_ call: VarlinkCall, _ replies: ReplySink) throws {
        switch call.member {
        case "GetInfo":
            replies.send(
                VarlinkServiceInterface.Info(
                    vendor: "Waystation", product: "waystationd", version: WaystationVersion.string,
                    url: "https://example.invalid/waystation",
                    interfaces: [VarlinkServiceInterface.name, StationInterface.name]))
        case "GetInterfaceDescription":
            guard let name = call.parameters["interface"]?.string else {
                throw VarlinkError.invalidParameter("interface")
            }
            switch name {
            case StationInterface.name: replies.send(["description": JSON.string(StationInterface.description)] as JSON)
            case VarlinkServiceInterface.name:
                replies.send(["description": JSON.string(VarlinkServiceInterface.description)] as JSON)
            default: throw VarlinkError.interfaceNotFound(name)
            }
        default:
            throw VarlinkError.methodNotFound(call.method)
        }
    }
}
