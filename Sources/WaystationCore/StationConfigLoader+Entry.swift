#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The ways into the loader: a file, a text (tests) or the bytes a file holds (the fuzzer).
extension StationConfigLoader {
    /// Loads a config; throws `ConfigErrors` listing every problem found.
    public static func load(path: String, extraProfilePaths: [String] = defaultProfilePaths) throws(ConfigErrors)
        -> StationConfig
    {
        let source: TOMLSource
        do { source = try TOMLSource(path: path) } catch { throw ConfigErrors([error]) }
        return try load(source: source, extraProfilePaths: extraProfilePaths)
    }

    /// Loads a config from text (tests); `path` is used for messages and relative paths.
    public static func load(text: String, path: String, extraProfilePaths: [String] = []) throws(ConfigErrors)
        -> StationConfig
    {
        let source: TOMLSource
        do { source = try TOMLSource(path: path, text: text) } catch { throw ConfigErrors([error]) }
        return try load(source: source, extraProfilePaths: extraProfilePaths)
    }

    /// Loads a config from bytes as a file holds them (the fuzzer feeds these).
    public static func load(bytes: [UInt8], path: String, extraProfilePaths: [String] = []) throws(ConfigErrors)
        -> StationConfig
    {
        let source: TOMLSource
        do { source = try TOMLSource(path: path, bytes: bytes) } catch { throw ConfigErrors([error]) }
        return try load(source: source, extraProfilePaths: extraProfilePaths)
    }
}
