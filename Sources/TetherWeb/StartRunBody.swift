import Foundation
import TetherCore

/// The body of `POST /runs`: `{agent, input, budget}` in JSON, or the run form
/// `agent=NAME&input[field]=…&budget[tokens]=…` (`URLEncodedFormDecoder` reads
/// `input[field]` as a `[String: String]`).
struct StartRunBody: Decodable, JSONBodyDecodable, Sendable {
    var agent: String
    var input: JSONValue
    /// Whether text may stand for numbers and booleans: a form sends every field as text.
    var coercesStrings: Bool
    /// The run's own limits (`budget`, ``TetherCore/RunBudget``); a form's empty Limits
    /// field leaves the agent's limit as it is.
    var budget = RunBudget.Override()
    /// The form's Limits fields as typed, to show them again with an error.
    var limitFields: [String: String] = [:]
    /// Why the form's Limits cannot be read: the form comes back with it.
    var budgetProblem: String?

    /// From JSON, with the API's messages.
    init(json body: JSONValue) throws {
        guard case .object(let members) = body else {
            throw APIError(.badRequest, "the body must be a JSON object {\"agent\", \"input\"}")
        }
        guard case .string(let agent)? = members["agent"], !agent.isEmpty else {
            throw APIError(.badRequest, "\"agent\" (the agent's name, as text) is required")
        }
        let input = members["input"] ?? .object([:])
        guard case .object = input else { throw APIError(.badRequest, "\"input\" must be a JSON object of fields") }
        self.agent = agent
        self.input = input
        coercesStrings = false
        if let budget = members["budget"], budget != .null {
            do { self.budget = try RunBudget.parse(budget) } catch { throw APIError(.badRequest, error.description) }
        }
    }

    /// From the run form (only ``BodyDecoder``'s form branch uses `Decodable`). A form field
    /// that is not `input[name]` is ignored, as the form's other fields (`csrf`) are.
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard let agent = try container.decodeIfPresent(String.self, forKey: .agent), !agent.isEmpty else {
            throw APIError(.badRequest, "the form names no agent")
        }
        let fields: [String: String]
        do {
            fields = try container.decodeIfPresent([String: String].self, forKey: .input) ?? [:]
        } catch {
            throw APIError(.badRequest, "the form's input fields could not be read (each is input[name]=text)")
        }
        self.agent = agent
        input = .object(fields.mapValues(JSONValue.string))
        coercesStrings = true
        do {
            limitFields = try container.decodeIfPresent([String: String].self, forKey: .budget) ?? [:]
        } catch {
            throw APIError(.badRequest, "the form's Limits could not be read (each is budget[limit]=number)")
        }
        let typed = limitFields.filter { !$0.value.trimmingCharacters(in: .whitespaces).isEmpty }
        do { budget = try RunBudget.parse(.object(typed.mapValues(JSONValue.string))) } catch {
            budgetProblem = error.description
        }
    }

    enum CodingKeys: String, CodingKey { case agent, input, budget }
}
