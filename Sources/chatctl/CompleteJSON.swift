import Foundation
import SwiftProtobuf

/// chatctl's `--json`: a response message in protobuf's JSON mapping with the
/// `.proto` field names and 64-bit integers as numbers, and with EVERY field
/// present: SwiftProtobuf leaves out fields at their default, so a script
/// would see `connections` come and go. The missing ones are filled from the
/// schema (spec/control.proto, embedded by tools/gen-proto): numbers 0,
/// strings "", booleans false, enums their zero value's name, repeated
/// fields [], maps {}, and an absent message null.
struct CompleteJSON {
    struct Field {
        var name: String
        var type: Google_Protobuf_FieldDescriptorProto.TypeEnum
        var repeated: Bool
        /// Fully qualified, without the leading dot (message and enum fields).
        var typeName: String
    }

    private var messages: [String: [Field]] = [:]
    private var mapEntries: Set<String> = []
    private var enumZero: [String: String] = [:]

    /// The schema embedded in chatctl.
    static let control: CompleteJSON? = {
        guard let data = Data(base64Encoded: controlDescriptorSet),
            let set = try? Google_Protobuf_FileDescriptorSet(serializedBytes: data)
        else { return nil }
        return CompleteJSON(set)
    }()

    init(_ set: Google_Protobuf_FileDescriptorSet) {
        for file in set.file {
            let prefix = file.package.isEmpty ? "" : file.package + "."
            for message in file.messageType { add(message, prefix: prefix) }
            for e in file.enumType { enumZero[prefix + e.name] = e.value.first { $0.number == 0 }?.name ?? "" }
        }
    }

    private mutating func add(_ message: Google_Protobuf_DescriptorProto, prefix: String) {
        let name = prefix + message.name
        if message.options.mapEntry { mapEntries.insert(name) }
        messages[name] = message.field.map {
            Field(
                name: $0.name, type: $0.type, repeated: $0.label == .repeated,
                typeName: $0.typeName.hasPrefix(".") ? String($0.typeName.dropFirst()) : $0.typeName)
        }
        for nested in message.nestedType { add(nested, prefix: name + ".") }
        for e in message.enumType { enumZero[name + "." + e.name] = e.value.first { $0.number == 0 }?.name ?? "" }
    }

    /// `message` as one line of JSON with every field (keys sorted).
    func render(_ message: some SwiftProtobuf.Message) throws -> String {
        var options = JSONEncodingOptions()
        options.alwaysPrintInt64sAsNumbers = true
        options.preserveProtoFieldNames = true
        let sparse = try message.jsonUTF8Data(options: options)
        let object = try JSONSerialization.jsonObject(with: sparse)
        let complete = fill(object, as: type(of: message).protoMessageName)
        let data = try JSONSerialization.data(withJSONObject: complete, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// Adds the missing fields of message `name` to `value`, recursively.
    func fill(_ value: Any, as name: String) -> Any {
        guard var object = value as? [String: Any], let fields = messages[name] else { return value }
        for field in fields {
            if let present = object[field.name] {
                object[field.name] = fillPresent(present, field)
            } else {
                object[field.name] = defaultValue(field)
            }
        }
        return object
    }

    private func fillPresent(_ value: Any, _ field: Field) -> Any {
        guard field.type == .message, !mapEntries.contains(field.typeName) else { return value }
        if field.repeated, let array = value as? [Any] { return array.map { fill($0, as: field.typeName) } }
        return fill(value, as: field.typeName)
    }

    private func defaultValue(_ field: Field) -> Any {
        if mapEntries.contains(field.typeName) { return [String: Any]() }
        if field.repeated { return [Any]() }
        switch field.type {
        case .message, .group: return NSNull()
        case .string, .bytes: return ""
        case .bool: return false
        case .enum: return enumZero[field.typeName] ?? 0
        case .double, .float: return 0.0
        default: return 0
        }
    }
}
