/// The version every tool prints with `--version`, and the man pages carry.
public enum ToolVersion {
    public static let current = "0.4.0"
}
