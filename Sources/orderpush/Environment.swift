import Glibc

/// `ORDERPUSH_*` environment variables: each option `--some-name` may also be given as
/// `ORDERPUSH_SOME_NAME`; a flag on the command line wins.
enum Environment {
    static func variableName(for option: String) -> String {
        "ORDERPUSH_" + option.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    static func value(for option: String) -> String? {
        guard let raw = getenv(variableName(for: option)) else { return nil }
        return String(cString: raw)
    }

    static func flag(_ option: String) -> Bool {
        guard let v = value(for: option)?.lowercased() else { return false }
        return ["1", "true", "yes", "on"].contains(v)
    }
}

extension String {
    func replacingOccurrences(of target: Character, with replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
}
