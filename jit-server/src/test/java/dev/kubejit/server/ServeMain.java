package dev.kubejit.server;

import java.nio.file.Path;

/**
 * {@code kubejit serve} in a child JVM for crash tests: starts the service from the kubejit.yaml in
 * {@code args[0]}, prints {@code READY} and its URI on stdout, and runs until killed.
 */
final class ServeMain {
  private ServeMain() {}

  public static void main(String[] args) throws Exception {
    KubeJitServer server = KubeJitServer.start(ServerConfig.load(Path.of(args[0])));
    System.out.println("READY " + server.uri());
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
