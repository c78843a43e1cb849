import ArgumentParser
import HoopFrames

/// `--config`, as every stage and tool takes it: the gateway configuration (JSON),
/// else $HOOP_CONFIG, else var/hoop.json (GatewayConfig.load). Each program reads the
/// sections it needs; the file is one.
public struct ConfigOption: ParsableArguments {
    @Option(name: .customLong("config"),
            help: "The gateway configuration (JSON; default $HOOP_CONFIG, else var/hoop.json).")
    public var path: String?

    public init() {}

    public func load() throws -> GatewayConfig { try GatewayConfig.load(path) }
}
