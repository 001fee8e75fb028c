import Testing
import TetherApp
import TetherCore

@Suite struct AppConfigurationTests {
    @Test func theEmbeddedDefaultsApplyWithNothingSet() throws {
        let configuration = try AppConfiguration(flags: [:], environment: [:])
        #expect(configuration == AppConfiguration())
        #expect(configuration.host == "127.0.0.1" && configuration.port == 8080)
        #expect(configuration.dataDirectory == "./.tether" && configuration.agentsDirectory == "./Agents")
        #expect(configuration.llm == .simulated && configuration.simulatedLatency == .milliseconds(1500))
        #expect(configuration.llmTimeout == .seconds(120) && configuration.stopGrace == .seconds(30))
        #expect(configuration.maxRuns == 64 && configuration.maxDepth == 8 && configuration.retentionDays == nil)
        #expect(configuration.cleanupTimeout == .seconds(10))
    }

    @Test func everySettingReadsItsEnvironmentVariable() throws {
        let environment = [
            "TETHER_HOST": "0.0.0.0", "TETHER_PORT": "9090", "TETHER_DATA_DIR": "/tmp/d", "TETHER_AGENTS_DIR": "/tmp/a",
            "TETHER_LLM": "openai", "TETHER_SIMULATED_LATENCY_MS": "20", "TETHER_LLM_BASE_URL": "http://127.0.0.1:1/v1",
            "TETHER_LLM_MODEL": "m", "TETHER_LLM_API_KEY": "k", "TETHER_LLM_TIMEOUT_SECONDS": "7", "TETHER_MAX_RUNS": "3",
            "TETHER_MAX_DEPTH": "2", "TETHER_STOP_GRACE_SECONDS": "1.5", "TETHER_API_TOKEN": "t",
            "TETHER_RETENTION_DAYS": "30", "TETHER_CLEANUP_TIMEOUT_SECONDS": "4",
            "TETHER_MAX_SUBSCRIBERS_PER_RUN": "5", "TETHER_MAX_SUBSCRIBERS": "9",
            "TETHER_LLM_CONNECT_TIMEOUT_SECONDS": "3", "TETHER_LLM_RETRIES": "4", "TETHER_IDLE_TIMEOUT_SECONDS": "2.5",
            "TETHER_LLM_MAX_CONNECTIONS": "300", "TETHER_DATABASE_URL": "postgres://u:p@127.0.0.1:5433/tether",
            "TETHER_INSTANCE_ID": "web-1", "TETHER_LEASE_SECONDS": "4", "TETHER_CLUSTER_POLL_SECONDS": "0.5",
            "TETHER_RESUME_INTERRUPTED": "true", "TETHER_PRICES": "/tmp/prices.json",
            "TETHER_BUDGET_LLM_CALLS": "40", "TETHER_BUDGET_TOKENS": "200000", "TETHER_BUDGET_SECONDS": "600", "TETHER_BUDGET_COST": "2.5",
        ]
        #expect(Set(environment.keys) == Set(AppConfiguration.Key.allCases.map(\.environmentVariable)))
        let c = try AppConfiguration(flags: [:], environment: environment)
        #expect(c.host == "0.0.0.0" && c.port == 9090 && c.dataDirectory == "/tmp/d" && c.agentsDirectory == "/tmp/a")
        #expect(c.llm == .openai && c.simulatedLatency == .milliseconds(20))
        #expect(c.openAI?.baseURL == "http://127.0.0.1:1/v1" && c.openAI?.model == "m" && c.openAI?.apiKey == "k")
        #expect(c.llmTimeout == .seconds(7) && c.maxRuns == 3 && c.maxDepth == 2)
        #expect(c.stopGrace == .milliseconds(1500) && c.apiToken == "t" && c.retentionDays == 30)
        #expect(c.cleanupTimeout == .seconds(4) && c.supervisor.cleanupTimeout == .seconds(4))
        #expect(c.maxSubscribersPerRun == 5 && c.maxSubscribers == 9)
        #expect(c.llmConnectTimeout == .seconds(3) && c.llmRetries == 4 && c.openAI?.retries == 4)
        #expect(c.idleTimeout == .milliseconds(2500) && c.llmMaxConnections == 300)
        #expect(c.databaseURL == "postgres://u:p@127.0.0.1:5433/tether" && c.instanceID == "web-1" && c.lease == .seconds(4))
        #expect(c.clusterPoll == .milliseconds(500))
        #expect(c.resumeInterrupted && c.supervisor.resumesInterrupted)
        #expect(c.pricesFile == "/tmp/prices.json")
        #expect(c.budget == RunBudget(llmCalls: 40, tokens: 200_000, seconds: 600, cost: 2.5) && c.supervisor.budget == c.budget)
    }

    @Test func aDatabaseURLOrInstanceIDTetherCannotUseIsRefusedWithoutShowingTheURL() throws {
        #expect(throws: ConfigurationError.self) {
            try AppConfiguration(flags: [:], environment: ["TETHER_DATABASE_URL": "mysql://u:secret@h/db"])
        }
        do {
            _ = try AppConfiguration(flags: [:], environment: ["TETHER_DATABASE_URL": "mysql://u:secret@h/db"])
        } catch {
            #expect(error.description.contains("TETHER_DATABASE_URL") && !error.description.contains("secret"))
        }
        #expect(throws: ConfigurationError.self) { try AppConfiguration(flags: [:], environment: ["TETHER_INSTANCE_ID": "a b"]) }
        #expect(throws: ConfigurationError.self) { try AppConfiguration(flags: [:], environment: ["TETHER_LEASE_SECONDS": "0"]) }
        #expect(InstanceID.isValid(InstanceID.generated()))
    }

    @Test func aFlagWinsOverItsEnvironmentVariable() throws {
        let c = try AppConfiguration(flags: [.port: "7000", .simulatedLatencyMS: "0"], environment: ["TETHER_PORT": "9090"])
        #expect(c.port == 7000 && c.simulatedLatency == .zero)
        #expect(AppConfiguration.Key.simulatedLatencyMS.flag == "--simulated-latency-ms")
    }

    @Test(arguments: [
        (["TETHER_PORT": "http"], "TETHER_PORT (--port) = 'http' must be a whole number from 0 to 65535"),
        (["TETHER_LLM": "gpt"], "TETHER_LLM (--llm) = 'gpt' must be simulated or openai"),
        (["TETHER_LLM": "openai"], "TETHER_LLM_BASE_URL (--llm-base-url) is required when TETHER_LLM is openai"),
        (
            ["TETHER_LLM": "openai", "TETHER_LLM_BASE_URL": "ftp://x"],
            "TETHER_LLM_BASE_URL (--llm-base-url) = 'ftp://x' must be an http:// or https:// URL"
        ),
        (["TETHER_MAX_RUNS": "0"], "TETHER_MAX_RUNS (--max-runs) = '0' must be a whole number from 1 to 100000"),
        (["TETHER_RESUME_INTERRUPTED": "maybe"], "TETHER_RESUME_INTERRUPTED (--resume-interrupted) = 'maybe' must be true or false"),
    ])
    func aBadValueIsRefusedNamingTheSetting(environment: [String: String], message: String) {
        #expect(throws: ConfigurationError.self) { try AppConfiguration(flags: [:], environment: environment) }
        do {
            _ = try AppConfiguration(flags: [:], environment: environment)
        } catch {
            #expect(error.description == message)
        }
    }
}
