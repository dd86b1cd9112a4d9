package dev.kubejit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Arrays;
import java.util.concurrent.Callable;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kubejit proxy}: lets kubectl use a grant whose private key lives in a PKCS#11 token.
 * client-go accepts only PEM keys, so kubectl talks plain HTTP to this loopback listener, and every
 * connection is forwarded byte for byte (HTTP/1.1, upgrades for exec and port-forward included)
 * over mutual TLS to the API server, authenticated with the grant's certificate (cached by {@code
 * kubejit activate --key}) and the key in the token, which signs each handshake inside it.
 *
 * <p>Design notes: the listener binds the loopback address only; anyone who can connect to it on
 * this machine acts with the grant while the proxy runs (as anyone who can read a PEM key could),
 * so it stops with the process and the grant's certificate bounds it in time. The upstream server
 * certificate is verified with host-name checking against the grant's cluster CA, which the broker
 * lists with the server URL ({@code GET /api/v1/clusters}, the lookup {@code kubejit kubeconfig}
 * makes); {@code --server} and {@code --certificate-authority} override them.
 */
@Command(name = "proxy", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Serve the API server on a loopback port for kubectl, doing mutual TLS upstream with a grant's",
        "certificate and its key in a PKCS#11 token (kubejit activate --key pkcs11:...). Runs until stopped."})
final class ProxyCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ClientCommands.HomeOption home;

  @Option(names = "--grant", required = true, paramLabel = "ID", description = "The grant activated with --key.")
  String grant;

  @Option(names = "--key", required = true, paramLabel = "pkcs11:URI", description = "The same PKCS#11 URI as at activation.")
  String key;

  @Option(names = "--server", paramLabel = "URL",
      description = "Override: the API server, https://host:port (default: the grant's cluster in the broker's /api/v1/clusters).")
  URI server;

  @Option(names = "--certificate-authority", paramLabel = "FILE",
      description = "Override: PEM CA bundle that verifies the API server (default: the grant's cluster's CA from the broker).")
  Path caFile;

  @Option(names = "--port", defaultValue = "0", description = "Loopback port to listen on (default: a free one).")
  int port;

  @Override
  public Integer call() throws Exception {
    String g = ClientCommands.grantId(grant);
    if (server != null && (!"https".equals(server.getScheme()) || server.getHost() == null)) {
      throw new CliException("--server must be an https URL: " + CredentialCommand.oneLine(server.toString()), 64);
    }
    ClientHome h = home.resolve();
    URI upstream = server;
    String caPem = caFile == null ? null : readCa(caFile);
    if (upstream == null || caPem == null) {
      // the same lookup as kubejit kubeconfig: the grant must be active, its cluster listed by the broker
      BrokerClient broker = BrokerClient.open(h);
      JsonNode cluster = ClientCommands.KubeconfigCmd.clusterOf(broker, ClientCommands.KubeconfigCmd.activeGrant(broker, g));
      upstream = upstream != null ? upstream : ClientCommands.KubeconfigCmd.apiServer(cluster);
      caPem = caPem != null ? caPem : ClientCommands.KubeconfigCmd.caPem(cluster);
    }
    X509Certificate cert = new GrantCredentials(h, Clock.systemUTC()).cachedCertificate(g);
    Pkcs11Key token = Pkcs11Key.open(key);
    if (!Arrays.equals(cert.getPublicKey().getEncoded(), token.publicKey().getEncoded())) {
      throw new CliException("the certificate of grant " + g + " is not for the key " + token
          + "; activate with the same --key", 64);
    }
    SSLContext tls = context(token.privateKey(), cert, caPem, caFile == null ? "the broker's CA for the cluster" : caFile.toString());
    URI target = upstream;
    int upstreamPort = target.getPort() < 0 ? 443 : target.getPort();
    try (ServerSocket listener = new ServerSocket(port, 50, InetAddress.getLoopbackAddress())) {
      PrintWriter out = spec.commandLine().getOut();
      out.println("kubejit proxy: http://127.0.0.1:" + listener.getLocalPort() + " -> " + target + " as grant " + g
          + " (certificate until " + cert.getNotAfter().toInstant() + ")");
      out.flush();
      while (true) {
        Socket client = listener.accept();
        Thread t = new Thread(() -> serve(client, tls, target.getHost(), upstreamPort), "kubejit-proxy");
        t.setDaemon(true);
        t.start();
      }
    }
  }

  private static void serve(Socket client, SSLContext tls, String host, int port) {
    try (client; SSLSocket up = (SSLSocket) tls.getSocketFactory().createSocket(host, port)) {
      SSLParameters params = up.getSSLParameters();
      params.setEndpointIdentificationAlgorithm("HTTPS");
      params.setApplicationProtocols(new String[] {"http/1.1"});
      up.setSSLParameters(params);
      up.startHandshake();
      Thread back = new Thread(() -> pump(up, client), "kubejit-proxy-down");
      back.setDaemon(true);
      back.start();
      pump(client, up);
      back.join();
    } catch (IOException e) {
      System.err.println("kubejit proxy: upstream connection failed: " + CredentialCommand.oneLine(String.valueOf(e.getMessage())));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void pump(Socket from, Socket to) {
    byte[] buf = new byte[16384];
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      for (int n; (n = in.read(buf)) >= 0; ) {
        out.write(buf, 0, n);
        out.flush();
      }
    } catch (IOException closed) {
      // one side went away; close both below
    } finally {
      try {
        if (to instanceof SSLSocket) {
          to.close();
        } else {
          to.shutdownOutput();
        }
      } catch (IOException ignored) {
        // already closed
      }
    }
  }

  private static String readCa(Path file) {
    try {
      return java.nio.file.Files.readString(file, java.nio.charset.StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new CliException("cannot read " + file + ": " + e.getMessage(), 64);
    }
  }

  private static SSLContext context(PrivateKey key, X509Certificate cert, String caPem, String caSource)
      throws GeneralSecurityException {
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    try {
      trust.load(null, null);
      int i = 0;
      for (var c : CertificateFactory.getInstance("X.509").generateCertificates(
          new java.io.ByteArrayInputStream(caPem.getBytes(java.nio.charset.StandardCharsets.US_ASCII)))) {
        trust.setCertificateEntry("ca-" + i++, c);
      }
      if (i == 0) {
        throw new CliException("no certificate in " + caSource, 64);
      }
    } catch (IOException | java.security.cert.CertificateException e) {
      throw new CliException("cannot read the CA certificates of " + caSource + ": " + e.getMessage(), 64);
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(new javax.net.ssl.KeyManager[] {new TokenKeyManager(key, cert)}, tmf.getTrustManagers(), null);
    return ctx;
  }

  /** Offers exactly one client identity: the grant's certificate with the token's key. */
  private static final class TokenKeyManager extends X509ExtendedKeyManager {
    private static final String ALIAS = "grant";
    private final PrivateKey key;
    private final X509Certificate cert;

    TokenKeyManager(PrivateKey key, X509Certificate cert) {
      this.key = key;
      this.cert = cert;
    }

    private String match(String[] keyTypes) {
      String alg = cert.getPublicKey().getAlgorithm();
      if (keyTypes == null) {
        return ALIAS;
      }
      for (String t : keyTypes) {
        if (t.equals(alg) || ("EC".equals(alg) && t.startsWith("EC"))) {
          return ALIAS;
        }
      }
      return null;
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return match(keyType);
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
      return match(keyType);
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return match(new String[] {keyType}) == null ? null : new String[] {ALIAS};
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return ALIAS.equals(alias) ? new X509Certificate[] {cert} : null;
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return ALIAS.equals(alias) ? key : null;
    }
  }
}
