import Configuration
import Foundation
import TetherCore
import TetherOpenAI
import TetherRuntime

/// Every setting of DESIGN §8, with its embedded default.
///
/// Each is an environment variable (`TETHER_PORT`) and a flag of the command
/// (`--port`); a flag wins. Values are read as text and checked here, so a bad value
/// (`TETHER_PORT=http`) stops start-up with a message naming the setting rather than falling
/// back to a default unnoticed.
public struct AppConfiguration: Sendable, Hashable {
    public enum LLMProvider: String, Sendable, Hashable, CaseIterable {
        case simulated
        case openai
    }

    public var host = "127.0.0.1"
    public var port = 8080
    public var dataDirectory = "./.tether"
    public var agentsDirectory = "./Agents"
    public var llm = LLMProvider.simulated
    public var simulatedLatency = Duration.milliseconds(1500)
    public var llmBaseURL: String?
    public var llmModel: String?
    public var llmAPIKey: String?
    public var llmTimeout = Duration.seconds(120)
    public var llmConnectTimeout = Duration.seconds(10)
    public var llmRetries = 2
    /// Connections to the LLM's host at once, one per call in flight; past them a call waits
    /// its turn (never failing for it) and its run logs that it waits for a connection.
    public var llmMaxConnections = OpenAIConfiguration.defaultMaxConnections
    public var maxRuns = 64
    public var maxDepth = 8
    public var stopGrace = Duration.seconds(30)
    public var cleanupTimeout = Duration.seconds(10)
    public var apiToken: String?
    /// Days finished runs are kept (`nil`: forever).
    public var retentionDays: Int?
    /// Event streams open at once per run tree, and in all.
    public var maxSubscribersPerRun = 1_000
    public var maxSubscribers = 10_000
    /// How long a connection may sit without a request in progress, or take to send its
    /// request's head, before it is closed (an event stream being answered never times out).
    public var idleTimeout = Duration.seconds(60)
    /// `postgres://…` to keep runs, events and the data store in PostgreSQL, shared by every
    /// instance on it; `nil` for SQLite in the data folder.
    public var databaseURL: String?
    /// This instance's id among those sharing a database, recorded in each run it executes
    /// (`nil`: one is generated at start, ``InstanceID/generated()``).
    public var instanceID: String?
    /// How long an instance's lease lasts without renewal before the others take over its runs.
    public var lease = Duration.seconds(10)
    /// How often an instance on a shared database re-reads its pending stops and looks for
    /// expired leases, whatever the notifications; the longest a lost notification delays.
    public var clusterPoll = Duration.seconds(1)
    /// Whether runs marked `interrupted` at start-up, or when another instance's lease
    /// expired, are resumed from their journals at once (each once).
    public var resumeInterrupted = false
    /// A JSON file of prices per model (`TETHER_PRICES`), read at start-up; `nil`: runs'
    /// usage has no cost.
    public var pricesFile: String?
    /// The limits of runs whose agent and request set none (`TETHER_BUDGET_LLM_CALLS`,
    /// `_TOKENS`, `_SECONDS`, `_COST`); empty: no limit.
    public var budget = RunBudget()

    public init() {}

    /// The settings, each with its key: `port` is `TETHER_PORT` and `--port`.
    public enum Key: String, CaseIterable, Sendable {
        case host, port
        case dataDir = "data.dir"
        case agentsDir = "agents.dir"
        case llm
        case simulatedLatencyMS = "simulated.latency.ms"
        case llmBaseURL = "llm.base.url"
        case llmModel = "llm.model"
        case llmAPIKey = "llm.api.key"
        case llmTimeoutSeconds = "llm.timeout.seconds"
        case llmConnectTimeoutSeconds = "llm.connect.timeout.seconds"
        case llmRetries = "llm.retries"
        case llmMaxConnections = "llm.max.connections"
        case maxRuns = "max.runs"
        case maxDepth = "max.depth"
        case stopGraceSeconds = "stop.grace.seconds"
        case cleanupTimeoutSeconds = "cleanup.timeout.seconds"
        case apiToken = "api.token"
        case retentionDays = "retention.days"
        case maxSubscribersPerRun = "max.subscribers.per.run"
        case maxSubscribers = "max.subscribers"
        case idleTimeoutSeconds = "idle.timeout.seconds"
        case databaseURL = "database.url"
        case instanceID = "instance.id"
        case leaseSeconds = "lease.seconds"
        case clusterPollSeconds = "cluster.poll.seconds"
        case resumeInterrupted = "resume.interrupted"
        case prices
        case budgetLLMCalls = "budget.llm.calls"
        case budgetTokens = "budget.tokens"
        case budgetSeconds = "budget.seconds"
        case budgetCost = "budget.cost"

        /// `TETHER_SIMULATED_LATENCY_MS`.
        public var environmentVariable: String {
            "TETHER_" + rawValue.uppercased().replacingOccurrences(of: ".", with: "_")
        }

        /// `--simulated-latency-ms`.
        public var flag: String {
            "--" + rawValue.replacingOccurrences(of: ".", with: "-")
        }

        var configKey: ConfigKey { ConfigKey(rawValue.split(separator: ".").map(String.init)) }
    }

    /// Reads the settings from `flags` (given on the command line) over the environment.
    public init(flags: [Key: String], environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, value) in flags {
            values[AbsoluteConfigKey(key.configKey)] = ConfigValue(stringLiteral: value)
        }
        let reader = ConfigReader(providers: [
            InMemoryProvider(name: "flags", values: values),
            EnvironmentVariablesProvider(environmentVariables: environment).prefixKeys(with: "tether"),
        ])
        try self.init(reader: reader)
    }

    /// Reads the settings from `reader`, whose keys are ``Key``'s raw values.
    public init(reader: ConfigReader) throws(ConfigurationError) {
        func text(_ key: Key) -> String? {
            let value = reader.string(forKey: key.configKey, isSecret: key == .llmAPIKey || key == .apiToken || key == .databaseURL)
            return value?.isEmpty == true ? nil : value
        }
        func integer(_ key: Key, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
            guard let raw = text(key) else { return nil }
            guard let value = Int(raw.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
                throw ConfigurationError(key: key, value: raw, reason: "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return value
        }
        func seconds(_ key: Key, in range: ClosedRange<Double>) throws(ConfigurationError) -> Duration? {
            guard let raw = text(key) else { return nil }
            guard let value = Double(raw.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
                throw ConfigurationError(
                    key: key,
                    value: raw,
                    reason: "must be a number of seconds from \(Int(range.lowerBound)) to \(Int(range.upperBound))"
                )
            }
            return .milliseconds(Int64((value * 1000).rounded()))
        }

        if let host = text(.host) { self.host = host }
        if let port = try integer(.port, in: 0...65535) { self.port = port }
        if let directory = text(.dataDir) { dataDirectory = directory }
        if let directory = text(.agentsDir) { agentsDirectory = directory }
        if let raw = text(.llm) {
            guard let provider = LLMProvider(rawValue: raw.lowercased()) else {
                throw ConfigurationError(key: .llm, value: raw, reason: "must be simulated or openai")
            }
            llm = provider
        }
        if let latency = try integer(.simulatedLatencyMS, in: 0...600_000) { simulatedLatency = .milliseconds(latency) }
        llmBaseURL = text(.llmBaseURL)
        llmModel = text(.llmModel)
        llmAPIKey = text(.llmAPIKey)
        if let timeout = try seconds(.llmTimeoutSeconds, in: 1...3600) { llmTimeout = timeout }
        if let timeout = try seconds(.llmConnectTimeoutSeconds, in: 1...600) { llmConnectTimeout = timeout }
        if let retries = try integer(.llmRetries, in: 0...10) { llmRetries = retries }
        if let limit = try integer(.llmMaxConnections, in: 1...100_000) { llmMaxConnections = limit }
        if let limit = try integer(.maxRuns, in: 1...100_000) { maxRuns = limit }
        if let depth = try integer(.maxDepth, in: 0...64) { maxDepth = depth }
        if let grace = try seconds(.stopGraceSeconds, in: 0...3600) { stopGrace = grace }
        if let timeout = try seconds(.cleanupTimeoutSeconds, in: 0...3600) { cleanupTimeout = timeout }
        apiToken = text(.apiToken)
        retentionDays = try integer(.retentionDays, in: 1...36_500)
        if let limit = try integer(.maxSubscribersPerRun, in: 1...1_000_000) { maxSubscribersPerRun = limit }
        if let limit = try integer(.maxSubscribers, in: 1...1_000_000) { maxSubscribers = limit }
        if let timeout = try seconds(.idleTimeoutSeconds, in: 1...3600) { idleTimeout = timeout }
        if let url = text(.databaseURL) {
            guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
                throw ConfigurationError(key: .databaseURL, value: url, reason: "must be a postgres:// URL (leave it unset for SQLite)")
            }
            databaseURL = url
        }
        if let id = text(.instanceID) {
            guard InstanceID.isValid(id) else {
                throw ConfigurationError(key: .instanceID, value: id, reason: "must be 1 to 64 letters, digits, '-', '_' or '.'")
            }
            instanceID = id
        }
        if let lease = try seconds(.leaseSeconds, in: 1...3600) { self.lease = lease }
        if let poll = try seconds(.clusterPollSeconds, in: 0.05...3600) { clusterPoll = poll }
        pricesFile = text(.prices)
        let budgetKeys: [(Key, RunBudget.Limit)] = [
            (.budgetLLMCalls, .llmCalls), (.budgetTokens, .tokens), (.budgetSeconds, .seconds), (.budgetCost, .cost),
        ]
        for (key, limit) in budgetKeys {
            guard let raw = text(key) else { continue }
            do { budget[limit] = try RunBudget.value(.string(raw), of: limit) } catch {
                throw ConfigurationError(
                    key: key,
                    value: raw,
                    reason: limit == .llmCalls || limit == .tokens ? "must be a whole number above 0" : "must be a number above 0"
                )
            }
        }
        if let raw = text(.resumeInterrupted) {
            switch raw.trimmingCharacters(in: .whitespaces).lowercased() {
            case "true", "1", "yes", "on": resumeInterrupted = true
            case "false", "0", "no", "off": resumeInterrupted = false
            default: throw ConfigurationError(key: .resumeInterrupted, value: raw, reason: "must be true or false")
            }
        }

        if llm == .openai {
            guard let base = llmBaseURL else {
                throw ConfigurationError(key: .llmBaseURL, value: "", reason: "is required when TETHER_LLM is openai")
            }
            guard let url = URL(string: base), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw ConfigurationError(key: .llmBaseURL, value: base, reason: "must be an http:// or https:// URL")
            }
            guard llmModel != nil else {
                throw ConfigurationError(key: .llmModel, value: "", reason: "is required when TETHER_LLM is openai")
            }
        }
    }

    /// The supervisor's part of the settings.
    public var supervisor: SupervisorConfiguration {
        SupervisorConfiguration(
            maxRuns: maxRuns,
            maxDepth: maxDepth,
            stopGrace: stopGrace,
            cleanupTimeout: cleanupTimeout,
            resumesInterrupted: resumeInterrupted,
            budget: budget
        )
    }

    /// The `openai` provider's part of the settings, when it is the provider.
    public var openAI: OpenAIConfiguration? {
        guard llm == .openai, let base = llmBaseURL, let model = llmModel else { return nil }
        return OpenAIConfiguration(baseURL: base, model: model, apiKey: llmAPIKey, timeout: llmTimeout, retries: llmRetries)
    }
}

/// Instance ids (`TETHER_INSTANCE_ID`): short and plain, as they appear in records and logs.
public enum InstanceID {
    /// The host name and a random suffix, so that two instances on one host differ.
    public static func generated() -> String {
        // gethostname(2), not `ProcessInfo.hostName`, which may ask the resolver and stall
        // start-up on a host whose DNS is broken.
        var buffer = [CChar](repeating: 0, count: 256)
        let name =
            gethostname(&buffer, buffer.count - 1) == 0
            ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        let host = name.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }.prefix(40)
        let suffix = UUID().uuidString.prefix(8).lowercased()
        return host.isEmpty ? "tether-\(suffix)" : "\(host)-\(suffix)"
    }

    public static func isValid(_ id: String) -> Bool {
        (1...64).contains(id.count) && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }
}

/// A setting with a value Tether cannot use.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var key: AppConfiguration.Key
    public var value: String
    public var reason: String

    public var description: String {
        let shown = key == .llmAPIKey || key == .apiToken || key == .databaseURL ? "(hidden)" : "'\(value)'"
        return value.isEmpty
            ? "\(key.environmentVariable) (\(key.flag)) \(reason)"
            : "\(key.environmentVariable) (\(key.flag)) = \(shown) \(reason)"
    }
}
