import CLibXML2
import Foundation
import Testing

/// A page parsed with libxml2's HTML parser, with every error and warning it reported, and
/// XPath queries over it.
final class HTMLPage {
    /// One element found by XPath: its attributes and text.
    struct Node {
        var name: String
        var attributes: [String: String]
        var text: String

        func has(_ attribute: String) -> Bool { attributes[attribute] != nil }
    }

    private let document: htmlDocPtr
    /// libxml2's messages: each is a failure of the page.
    let problems: [String]
    let source: String

    /// Parses `html`. The error handler is per thread, so it is installed, used and removed
    /// within this synchronous call.
    init(_ html: String) throws {
        final class Collector { var messages: [String] = [] }
        let collector = Collector()
        let context = Unmanaged.passUnretained(collector).toOpaque()
        xmlSetStructuredErrorFunc(context) { context, error in
            guard let context, let error else { return }
            let collector = Unmanaged<Collector>.fromOpaque(context).takeUnretainedValue()
            let message = error.pointee.message.map { String(cString: $0) } ?? "unknown problem"
            let level = error.pointee.level == XML_ERR_WARNING ? "warning" : "error"
            collector.messages.append("\(level) at line \(error.pointee.line): \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        defer { xmlSetStructuredErrorFunc(nil, nil) }
        let options = Int32(HTML_PARSE_NONET.rawValue)
        let parsed = html.withCString { pointer in
            htmlReadMemory(pointer, Int32(strlen(pointer)), "page.html", "UTF-8", options)
        }
        guard let parsed else { throw HTMLParseFailure(problems: collector.messages) }
        document = parsed
        problems = collector.messages
        source = html
    }

    deinit {
        xmlFreeDoc(document)
    }

    /// The elements (or attributes' parents) matching `xpath`.
    func nodes(_ xpath: String) -> [Node] {
        guard let context = xmlXPathNewContext(document) else { return [] }
        defer { xmlXPathFreeContext(context) }
        guard let result = xmlXPathEvalExpression(xpath, context) else { return [] }
        defer { xmlXPathFreeObject(result) }
        guard let set = result.pointee.nodesetval, set.pointee.nodeNr > 0, let table = set.pointee.nodeTab else { return [] }
        return (0..<Int(set.pointee.nodeNr)).compactMap { index in
            guard let node = table[index] else { return nil }
            var attributes: [String: String] = [:]
            var property = node.pointee.properties
            while let attribute = property {
                let name = String(cString: attribute.pointee.name)
                if let value = xmlGetProp(node, attribute.pointee.name) {
                    attributes[name] = String(cString: value)
                    free(value)
                } else {
                    attributes[name] = ""
                }
                property = attribute.pointee.next
            }
            var text = ""
            if let content = xmlNodeGetContent(node) {
                text = String(cString: content)
                free(content)
            }
            return Node(name: node.pointee.name.map { String(cString: $0) } ?? "", attributes: attributes, text: text)
        }
    }

    func node(_ xpath: String) -> Node? { nodes(xpath).first }

    func count(_ xpath: String) -> Int { nodes(xpath).count }
}

struct HTMLParseFailure: Error {
    var problems: [String]
}

/// Parses a page and records an issue for each libxml2 error or warning.
func checkedPage(_ html: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> HTMLPage {
    // libxml2 reads the page as a C string, up to its first NUL: one would hide the rest.
    #expect(!html.utf8.contains(0), "a NUL byte in the page", sourceLocation: sourceLocation)
    let page = try HTMLPage(html)
    #expect(page.problems.isEmpty, "libxml2 reported: \(page.problems)", sourceLocation: sourceLocation)
    #expect(page.count("/html/head/meta[@charset='utf-8']") == 1, "every page declares utf-8", sourceLocation: sourceLocation)
    return page
}
