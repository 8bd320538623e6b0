/// Stable `MESSAGE_ID=` values of the daemon's journal entries (128-bit, hex, as journalctl's
/// `MESSAGE_ID=` filter and `journalctl --list-catalog` take them). Log one by putting it under the
/// `message_id` metadata key. Never change a value: operators' filters and alerting rely on it.
public enum JournalMessageID {
    /// A device went between online, degraded and offline (fields DEVICE=, CAUSE=).
    public static let deviceStateChanged = "d15fa1fafe684c5eb95ff58512d6ae65"
    /// An interlock switched a charging slot off (fields SLOT=, REASON=).
    public static let interlockCutSlot = "ed69e312b107424db5045bcf13789053"
}
