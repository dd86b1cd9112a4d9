package dev.kubejit.server;

import dev.kubejit.api.JitBroker;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.gateway.SshGateway;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Clock;
import java.util.Base64;
import java.util.Deque;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the SSH gateway ({@code gateway:} in kubejit.yaml) beside the HTTP API, on the same
 * broker and audit log, or alone ({@link KubeJitGateway}): it trusts user certificates of the
 * server's own SSH CA and runs commands
 * in the configured cluster, whose API server URL and CA come from that cluster's kubeconfig.
 */
final class GatewayWiring {
  private static final Logger log = LoggerFactory.getLogger(GatewayWiring.class);

  private GatewayWiring() {}

  /** Starts the gateway if configured; it is pushed on {@code opened} so that it stops with the server. */
  static Optional<SshGateway> start(ServerConfig config, JitBroker broker, AuditSink audit, String trustedUserCa,
      String caFingerprint, Clock clock, Deque<AutoCloseable> opened) {
    if (config.gateway().isEmpty()) {
      return Optional.empty();
    }
    ServerConfig.Gateway g = config.gateway().get();
    ClusterKubeconfig kc = ClusterKubeconfig.read(config.clusters().get(g.cluster()));
    if (kc.certificateAuthorityData().isEmpty()) {
      throw new IllegalArgumentException("gateway.cluster " + g.cluster() + ": its kubeconfig names no certificate authority;"
          + " the gateway verifies the API server with it");
    }
    String caPem = new String(Base64.getDecoder().decode(kc.certificateAuthorityData()), StandardCharsets.US_ASCII);
    String hostCertificate;
    try {
      hostCertificate = Files.readString(g.hostCertificateFile(), StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new IllegalArgumentException("gateway.hostCertificateFile " + g.hostCertificateFile() + " cannot be read ("
          + e.getClass().getSimpleName() + ")");
    }
    SshGateway gateway = SshGateway.builder().cluster(g.cluster()).broker(broker).auditSink(audit)
        .trustedUserCa(trustedUserCa).hostKeyFile(g.hostKeyFile()).hostCertificate(hostCertificate)
        .kubernetes(kc.server(), caPem).recordings(g.recordings()).listen(g.host(), g.port()).clock(clock)
        .checkInterval(g.checkInterval()).start();
    opened.push(gateway);
    log.info("SSH gateway on {}:{} for cluster {} (user certificates of the KubeJIT SSH CA {} only)", g.host(),
        gateway.port(), g.cluster(), caFingerprint);
    return Optional.of(gateway);
  }
}
