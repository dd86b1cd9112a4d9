package dev.kubejit.cli;

import dev.kubejit.server.KubeJitGateway;
import dev.kubejit.server.ServerConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kubejit gateway serve --config FILE}: the SSH gateway alone, without the broker's HTTP API. */
@Command(name = "gateway", mixinStandardHelpOptions = true,
    description = "The SSH gateway as a service of its own (docs/gateway.md).",
    subcommands = {GatewayCommand.Serve.class})
final class GatewayCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Runs the gateway of kubejit.yaml's {@code gateway:} section until SIGTERM or SIGINT. */
  @Command(name = "serve", mixinStandardHelpOptions = true,
      description = {"Run only the SSH gateway of kubejit.yaml's gateway: section, on the store the broker",
          "(kubejit serve) shares, with /healthz, /readyz and /metrics on gateway.healthAddress.",
          "Stops cleanly on SIGTERM or Ctrl-C."})
  static final class Serve implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "The kubejit.yaml to serve.")
    Path config;

    @Override
    public Integer call() {
      return CredentialCommand.guarded(spec, () -> {
        ServerConfig c = ServerConfig.load(config);
        KubeJitGateway gateway = KubeJitGateway.start(c);
        CountDownLatch stopped = Shutdown.closeOnShutdown(gateway::close, "kubejit-gateway-shutdown");
        PrintWriter out = spec.commandLine().getOut();
        out.println("kubejit gateway serve: SSH on port " + gateway.sshPort() + " for cluster "
            + c.gateway().orElseThrow().cluster() + "; store " + c.store());
        out.println("  health: " + gateway.healthUri() + "/healthz   ready: " + gateway.healthUri() + "/readyz   metrics: "
            + gateway.healthUri() + "/metrics");
        out.flush();
        stopped.await();
        return 0;
      });
    }
  }
}
