/// The product version, shown by `--version` and the control interface.
public enum WaystationVersion {
    public static let string = "0.2.0"
}
