/// What this binary is: the project's version, and the git commit it was
/// built from with that commit's date (written by Plugins/BuildInfoPlugin at
/// build time; "-modified" when Sources/ or Package.swift had uncommitted
/// changes). Shown by `--version` of every binary, chatd's first log line,
/// `chatctl status` and the `chatd_build_info` metric.
public enum BuildInfo {
    /// The project's version (semantic versioning).
    public static let version = "0.3.0"
    public static let commit = generatedCommit
    /// ISO 8601 date of the commit, or "unknown".
    public static let commitDate = generatedCommitDate

    /// "0.3.0 (commit 0c830e31fd0f, 2026-12-02T03:50:00+00:00)"
    public static var description: String { "\(version) (commit \(commit), \(commitDate))" }
}
