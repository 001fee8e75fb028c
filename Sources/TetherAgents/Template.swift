import TetherCore

/// Text with `{{name}}` or `{{name.field}}` references, substituted verbatim: no HTML
/// escaping ever happens here (prompts are not HTML, and swift-mustache would escape).
public struct Template: Sendable, Hashable, CustomStringConvertible {
    enum Part: Sendable, Hashable {
        case text(String)
        case reference(VariablePath)
    }

    let parts: [Part]
    /// The template as written.
    public let description: String

    /// Parses `text`.
    /// - Throws: a reason, when a `{{` is not closed or does not hold a variable name.
    init(parsing text: String) throws(TemplateSyntaxError) {
        description = text
        var parts: [Part] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { parts.append(.text(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw TemplateSyntaxError(reason: "a '{{' is not closed by '}}'")
            }
            let inside = rest[open.upperBound..<close.lowerBound].trimmingSpaces
            guard let path = VariablePath(inside) else {
                throw TemplateSyntaxError(reason: "'{{\(rest[open.upperBound..<close.lowerBound])}}' does not name a variable")
            }
            parts.append(.reference(path))
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        self.parts = parts
    }

    /// The variables the template reads.
    var references: [VariablePath] {
        parts.compactMap { if case .reference(let path) = $0 { path } else { nil } }
    }

    /// When the template is exactly one reference (`"{{outline}}"`), that reference: its
    /// value is passed on as it is (a list stays a list) rather than as text.
    var soleReference: VariablePath? {
        if parts.count == 1, case .reference(let path) = parts[0] { return path }
        return nil
    }
}

/// Why a template could not be read.
struct TemplateSyntaxError: Error, Sendable, Hashable {
    var reason: String
}

/// A variable name with optional member names: `outline`, `input.topic`, `entry.value`.
public struct VariablePath: Sendable, Hashable, CustomStringConvertible {
    public let components: [String]

    /// `nil` unless `text` is dot-separated identifiers.
    init?(_ text: some StringProtocol) {
        let components = String(text).split(separator: Character("."), omittingEmptySubsequences: false).map(String.init)
        guard !components.isEmpty, components.allSatisfy(Identifier.isValid) else { return nil }
        self.components = components
    }

    public var root: String { components[0] }
    public var description: String { components.joined(separator: ".") }
}

/// Names of variables (`as`) and the parts of a variable path.
enum Identifier {
    static func isValid(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else {
            return false
        }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var text = self
        while text.first?.isWhitespace == true { text.removeFirst() }
        while text.last?.isWhitespace == true { text.removeLast() }
        return text
    }
}
