import ArgumentParser
import TetherApp

/// The settings of DESIGN §8 as flags; each also reads its `TETHER_…` environment variable
/// (see `AppConfiguration`), and a flag given here wins.
struct SettingsOptions: ParsableArguments {
    @Option(name: .customLong("host"), help: "Address to bind (TETHER_HOST, default 127.0.0.1).")
    var host: String?
    @Option(name: .customLong("port"), help: "Port to bind (TETHER_PORT, default 8080).")
    var port: String?
    @Option(name: .customLong("data-dir"), help: "Data folder (TETHER_DATA_DIR, default ./.tether).")
    var dataDir: String?
    @Option(name: .customLong("agents-dir"), help: "Agent definitions folder (TETHER_AGENTS_DIR, default ./Agents).")
    var agentsDir: String?
    @Option(name: .customLong("llm"), help: "LLM provider: simulated or openai (TETHER_LLM, default simulated).")
    var llm: String?
    @Option(name: .customLong("simulated-latency-ms"), help: "Simulated LLM latency (TETHER_SIMULATED_LATENCY_MS, default 1500).")
    var simulatedLatencyMS: String?
    @Option(name: .customLong("llm-base-url"), help: "OpenAI-compatible base URL (TETHER_LLM_BASE_URL).")
    var llmBaseURL: String?
    @Option(name: .customLong("llm-model"), help: "Model name (TETHER_LLM_MODEL).")
    var llmModel: String?
    @Option(name: .customLong("llm-api-key"), help: "API key (TETHER_LLM_API_KEY).")
    var llmAPIKey: String?
    @Option(name: .customLong("llm-timeout-seconds"), help: "LLM call timeout (TETHER_LLM_TIMEOUT_SECONDS, default 120).")
    var llmTimeoutSeconds: String?
    @Option(name: .customLong("llm-connect-timeout-seconds"), help: "LLM connect timeout (TETHER_LLM_CONNECT_TIMEOUT_SECONDS, default 10).")
    var llmConnectTimeoutSeconds: String?
    @Option(name: .customLong("llm-retries"), help: "Retries of a refused connection, 429, 502-504 (TETHER_LLM_RETRIES, default 2).")
    var llmRetries: String?
    @Option(name: .customLong("llm-max-connections"), help: "Connections to the LLM's host at once (TETHER_LLM_MAX_CONNECTIONS, default 10000).")
    var llmMaxConnections: String?
    @Option(name: .customLong("max-runs"), help: "Root runs in flight at once (TETHER_MAX_RUNS, default 64).")
    var maxRuns: String?
    @Option(name: .customLong("max-depth"), help: "Nested agent calls (TETHER_MAX_DEPTH, default 8).")
    var maxDepth: String?
    @Option(name: .customLong("stop-grace-seconds"), help: "Seconds in stopping before force is offered (TETHER_STOP_GRACE_SECONDS, default 30).")
    var stopGraceSeconds: String?
    @Option(
        name: .customLong("cleanup-timeout-seconds"),
        help: "Seconds a forced or interrupted run has to unwind and clean up (TETHER_CLEANUP_TIMEOUT_SECONDS, default 10)."
    )
    var cleanupTimeoutSeconds: String?
    @Option(name: .customLong("api-token"), help: "Bearer token required off loopback (TETHER_API_TOKEN).")
    var apiToken: String?
    @Option(name: .customLong("retention-days"), help: "Days finished runs are kept (TETHER_RETENTION_DAYS, default forever).")
    var retentionDays: String?
    @Option(name: .customLong("max-subscribers-per-run"), help: "Event streams open at once per run (TETHER_MAX_SUBSCRIBERS_PER_RUN, default 1000).")
    var maxSubscribersPerRun: String?
    @Option(name: .customLong("max-subscribers"), help: "Event streams open at once in all (TETHER_MAX_SUBSCRIBERS, default 10000).")
    var maxSubscribers: String?
    @Option(
        name: .customLong("idle-timeout-seconds"),
        help: "Seconds an idle connection, or one still sending its request's head, is kept (TETHER_IDLE_TIMEOUT_SECONDS, default 60)."
    )
    var idleTimeoutSeconds: String?
    @Option(name: .customLong("database-url"), help: "postgres://… to share one database between instances (TETHER_DATABASE_URL, default SQLite).")
    var databaseURL: String?
    @Option(name: .customLong("instance-id"), help: "This instance's id on a shared database (TETHER_INSTANCE_ID, default generated).")
    var instanceID: String?
    @Option(name: .customLong("lease-seconds"), help: "Seconds an instance's lease lasts unrenewed (TETHER_LEASE_SECONDS, default 10).")
    var leaseSeconds: String?
    @Option(
        name: .customLong("cluster-poll-seconds"),
        help: "Seconds between re-reads of pending stops on a shared database (TETHER_CLUSTER_POLL_SECONDS, default 1)."
    )
    var clusterPollSeconds: String?
    @Option(
        name: .customLong("resume-interrupted"),
        help: "true to resume interrupted runs from their journals at start-up (TETHER_RESUME_INTERRUPTED, default false)."
    )
    var resumeInterrupted: String?
    @Option(
        name: .customLong("prices"),
        help: "A JSON file of prices per million prompt and completion tokens, by model, for runs' cost (TETHER_PRICES, default none)."
    )
    var prices: String?
    @Option(name: .customLong("budget-llm-calls"), help: "Default limit of LLM calls per run tree (TETHER_BUDGET_LLM_CALLS, default none).")
    var budgetLLMCalls: String?
    @Option(name: .customLong("budget-tokens"), help: "Default limit of tokens per run tree (TETHER_BUDGET_TOKENS, default none).")
    var budgetTokens: String?
    @Option(name: .customLong("budget-seconds"), help: "Default wall-time limit of a run tree, in seconds (TETHER_BUDGET_SECONDS, default none).")
    var budgetSeconds: String?
    @Option(
        name: .customLong("budget-cost"),
        help: "Default cost limit of a run tree, in the prices' unit; needs --prices (TETHER_BUDGET_COST, default none)."
    )
    var budgetCost: String?

    /// The flags given, by setting.
    var given: [AppConfiguration.Key: String] {
        let pairs: [(AppConfiguration.Key, String?)] = [
            (.host, host), (.port, port), (.dataDir, dataDir), (.agentsDir, agentsDir), (.llm, llm),
            (.simulatedLatencyMS, simulatedLatencyMS), (.llmBaseURL, llmBaseURL), (.llmModel, llmModel),
            (.llmAPIKey, llmAPIKey), (.llmTimeoutSeconds, llmTimeoutSeconds),
            (.llmConnectTimeoutSeconds, llmConnectTimeoutSeconds), (.llmRetries, llmRetries), (.llmMaxConnections, llmMaxConnections),
            (.maxRuns, maxRuns),
            (.maxDepth, maxDepth), (.stopGraceSeconds, stopGraceSeconds), (.cleanupTimeoutSeconds, cleanupTimeoutSeconds), (.apiToken, apiToken),
            (.retentionDays, retentionDays), (.maxSubscribersPerRun, maxSubscribersPerRun), (.maxSubscribers, maxSubscribers),
            (.idleTimeoutSeconds, idleTimeoutSeconds), (.databaseURL, databaseURL), (.instanceID, instanceID), (.leaseSeconds, leaseSeconds),
            (.clusterPollSeconds, clusterPollSeconds), (.resumeInterrupted, resumeInterrupted), (.prices, prices),
            (.budgetLLMCalls, budgetLLMCalls), (.budgetTokens, budgetTokens), (.budgetSeconds, budgetSeconds), (.budgetCost, budgetCost),
        ]
        return Dictionary(uniqueKeysWithValues: pairs.compactMap { key, value in value.map { (key, $0) } })
    }

    /// The configuration, or a validation error naming the bad setting.
    func configuration() throws -> AppConfiguration {
        do {
            return try AppConfiguration(flags: given)
        } catch {
            throw ValidationError(error.description)
        }
    }
}
