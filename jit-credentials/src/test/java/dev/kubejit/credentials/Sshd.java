package dev.kubejit.credentials;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;

/**
 * A real OpenSSH sshd (Debian openssh-server, installed by scripts/test-deps.sh) started in the
 * foreground on 127.0.0.1 and a free port with its own host key, trusting one user CA and mapping
 * the login user to principals through AuthorizedPrincipalsFile.
 */
final class Sshd implements AutoCloseable {
  static final Path SSHD = Path.of("/usr/sbin/sshd");
  final Path dir;
  final int port;
  final String user;
  final Path log;
  private final Process process;

  private Sshd(Path dir, int port, String user, Path log, Process process) {
    this.dir = dir;
    this.port = port;
    this.user = user;
    this.log = log;
    this.process = process;
  }

  /** Starts sshd trusting {@code caLine} and letting the current OS user log in with a certificate naming one of {@code principals}. */
  static Sshd start(Path dir, String caLine, String... principals) throws Exception {
    if (!Files.isExecutable(SSHD)) {
      throw new AssertionError(SSHD + " is missing: run scripts/test-deps.sh (installs openssh-server)");
    }
    String user = System.getProperty("user.name");
    boolean root = "root".equals(user);
    if (root) {
      // sshd running as root insists on its privilege-separation directory.
      Path privsep = Path.of("/run/sshd");
      if (!Files.isDirectory(privsep)) {
        Files.createDirectories(privsep, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
      }
    }
    Exec.ok(dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir.resolve("host_ed25519").toString());
    Files.writeString(dir.resolve("user_ca.pub"), caLine + "\n");
    Path principalsDir = Files.createDirectories(dir.resolve("principals"));
    Files.writeString(principalsDir.resolve(user), String.join("\n", principals) + "\n");
    Path log = dir.resolve("sshd.log");
    for (int attempt = 0; attempt < 3; attempt++) {
      int port;
      try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
        port = s.getLocalPort();
      }
      Path config = dir.resolve("sshd_config");
      Files.writeString(config, String.join("\n",
          "Port " + port,
          "ListenAddress 127.0.0.1",
          "HostKey " + dir.resolve("host_ed25519"),
          "PidFile none",
          "UsePAM no",
          "StrictModes no",
          "PermitRootLogin " + (root ? "prohibit-password" : "no"),
          "PubkeyAuthentication yes",
          "PasswordAuthentication no",
          "KbdInteractiveAuthentication no",
          "AuthorizedKeysFile none",
          "TrustedUserCAKeys " + dir.resolve("user_ca.pub"),
          "AuthorizedPrincipalsFile " + principalsDir + "/%u",
          "LogLevel VERBOSE",
          "MaxStartups 50",
          "") );
      Files.deleteIfExists(log);
      Process p = new ProcessBuilder(SSHD.toString(), "-D", "-e", "-f", config.toString())
          .redirectErrorStream(true).redirectOutput(log.toFile()).start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
      while (System.nanoTime() < deadline) {
        String text = Files.exists(log) ? Files.readString(log, UTF_8) : "";
        if (text.contains("Server listening on 127.0.0.1 port " + port)) {
          return new Sshd(dir, port, user, log, p);
        }
        if (!p.isAlive()) {
          break;
        }
        Thread.sleep(50);
      }
      p.destroyForcibly();
      String text = Files.exists(log) ? Files.readString(log, UTF_8) : "";
      if (!text.contains("Address already in use")) {
        throw new AssertionError("sshd did not start:\n" + text);
      }
    }
    throw new AssertionError("sshd could not bind a free port");
  }

  /** Runs {@code ssh} with the key and certificate as {@link #user} on this server. */
  Exec ssh(Path key, Path cert, String command) {
    return Exec.run(dir, "ssh", "-F", "/dev/null", "-i", key.toString(), "-o", "CertificateFile=" + cert,
        "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "PreferredAuthentications=publickey",
        "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", "-p", String.valueOf(port), user + "@127.0.0.1", command);
  }

  String logText() {
    try {
      return Files.readString(log, UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  @Override
  public void close() throws Exception {
    process.destroy();
    if (!process.waitFor(5, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
