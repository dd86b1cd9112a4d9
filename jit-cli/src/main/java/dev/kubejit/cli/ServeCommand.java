package dev.kubejit.cli;

import dev.kubejit.server.KubeJitServer;
import dev.kubejit.server.ServerConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kubejit serve --config FILE}: runs the broker service until SIGTERM or SIGINT, then stops
 * serving and closes the store and the audit log cleanly.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = {"Run the broker service (HTTP API under /api/v1) configured by kubejit.yaml.",
        "Stops cleanly on SIGTERM or Ctrl-C. See docs/server.md."})
final class ServeCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--config", required = true, paramLabel = "FILE", description = "The kubejit.yaml to serve.")
  Path config;

  @Override
  public Integer call() {
    return CredentialCommand.guarded(spec, () -> {
      ServerConfig c = ServerConfig.load(config);
      KubeJitServer server = KubeJitServer.start(c);
      CountDownLatch stopped = Shutdown.closeOnShutdown(server::close, "kubejit-serve-shutdown");
      PrintWriter out = spec.commandLine().getOut();
      out.println("kubejit serve: listening on " + server.uri() + " (" + mode(c) + ")");
      out.println("  OpenAPI: " + server.uri() + "/api/v1/openapi.json   health: " + server.uri() + "/healthz");
      if (c.authentication().mode() == ServerConfig.Authentication.Mode.DEV_HEADER) {
        PrintWriter err = spec.commandLine().getErr();
        err.println("kubejit: WARNING: development mode: the identity is taken from header "
            + c.authentication().header().orElseThrow() + " without any proof. Loopback only; never in production.");
        err.flush();
      }
      if (!server.isTls()) {
        spec.commandLine().getErr().println("kubejit: WARNING: plain HTTP (loopback only); configure listen.tls.");
        spec.commandLine().getErr().flush();
      }
      out.flush();
      stopped.await();
      return 0;
    });
  }

  private static String mode(ServerConfig c) {
    switch (c.authentication().mode()) {
      case DEV_HEADER:
        return "authentication: development header " + c.authentication().header().orElseThrow();
      case MTLS:
        return "authentication: client certificates (mutual TLS)";
      default:
        return "authentication: OIDC, issuer " + c.authentication().issuer().orElseThrow();
    }
  }
}
