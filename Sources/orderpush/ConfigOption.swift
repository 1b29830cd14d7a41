import ArgumentParser
import OrderPushServer

/// One row of `serve`'s option table: where an option's value comes from (the flag, else
/// `ORDERPUSH_<NAME>`) and which `ServerConfig` field it sets.
struct ConfigOption {
    let apply: (inout ServerConfig) throws -> Void

    /// A valued option; the variable is parsed like the flag, and a bad value is an error
    /// that names the variable.
    init<Value: LosslessStringConvertible>(_ name: String, _ flag: Value?,
                                           _ field: WritableKeyPath<ServerConfig, Value>) {
        apply = { config in
            if let value = try flag ?? Self.fromEnvironment(name) { config[keyPath: field] = value }
        }
    }

    /// A valued option whose field is optional (no default: absent means "not configured").
    init<Value: LosslessStringConvertible>(_ name: String, _ flag: Value?,
                                           _ field: WritableKeyPath<ServerConfig, Value?>) {
        apply = { config in
            if let value = try flag ?? Self.fromEnvironment(name) { config[keyPath: field] = value }
        }
    }

    /// An on/off flag; the variable turns it on with 1, true, yes or on.
    init(flag name: String, _ given: Bool, set: @escaping (inout ServerConfig) -> Void) {
        apply = { config in
            if given || Environment.flag(name) { set(&config) }
        }
    }

    private static func fromEnvironment<Value: LosslessStringConvertible>(_ name: String) throws -> Value? {
        guard let text = Environment.value(for: name) else { return nil }
        guard let value = Value(text) else {
            throw ValidationError("\(Environment.variableName(for: name)) is not a valid value: \(text)")
        }
        return value
    }
}
