/// File path arithmetic on strings, as NSString's path methods did it (without their crash on a
/// one-letter relative path): no file system access, no normalisation beyond trailing slashes.
public enum PathText {
    /// The directory part: `/a/b` → `/a`, `/a` → `/`, `a` → ``, `a/b/` → `a`.
    public static func parent(_ path: String) -> String {
        let trimmed = path.trimmingTrailingSlashes
        guard !trimmed.isEmpty else { return path.hasPrefix("/") ? "/" : "" }
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        let parent = trimmed[..<slash].trimmingTrailingSlashes
        return parent.isEmpty ? "/" : parent
    }

    /// The last component: `/a/b` → `b`, `/a/b/` → `b`, `/` → `/`.
    public static func lastComponent(_ path: String) -> String {
        let trimmed = path.trimmingTrailingSlashes
        guard !trimmed.isEmpty else { return path.hasPrefix("/") ? "/" : "" }
        guard let slash = trimmed.lastIndex(of: "/") else { return trimmed }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// `component` appended with one `/` between: `a` + `b` → `a/b`, `a/` + `b` → `a/b`.
    public static func appending(_ path: String, _ component: String) -> String {
        if component.isEmpty { return path }
        if path.isEmpty { return component }
        return path.hasSuffix("/") ? path + component : path + "/" + component
    }
}

extension StringProtocol {
    fileprivate var trimmingTrailingSlashes: String {
        var end = endIndex
        while end > startIndex, self[index(before: end)] == "/" { end = index(before: end) }
        return String(self[..<end])
    }
}
