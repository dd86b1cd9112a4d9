package dev.kubejit.credentials.ssh;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.kubejit.credentials.Exec;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real OpenSSH sshd (Debian openssh-server, installed by scripts/test-deps.sh) started in the
 * foreground on 127.0.0.1 and a free port with its own host key, trusting one user CA and mapping
 * the login user to principals through AuthorizedPrincipalsFile. Every file it uses lives in the
 * directory it is given (the test's own temporary directory).
 *
 * <p>Run as root, sshd insists on its privilege-separation directory, a path compiled into the
 * binary ({@code /run/sshd} on Debian: "Missing privilege separation directory") that no option or
 * config keyword moves. Rather than create it on the host, the harness starts sshd in a private
 * mount namespace ({@code unshare --mount}) in which {@code dir/run} is bind-mounted on {@code
 * /run}: sshd finds {@code /run/sshd} in the test's directory, nothing outside it is touched, and
 * the mount disappears with the process. Without root, sshd needs no such directory.
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
    Path run = dir.resolve("run");
    if (root) {
      Files.createDirectories(run.resolve("sshd"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
      Exec probe = Exec.run(dir, "unshare", "--mount", "--propagation", "private", "--", "true");
      if (probe.exit != 0) {
        throw new AssertionError("running sshd as root needs a private mount namespace for its privilege-separation"
            + " directory, and unshare --mount failed (run the tests as a non-root user, or with CAP_SYS_ADMIN):\n" + probe);
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
          "PrintMotd no",
          "PrintLastLog no",
          "") );
      Files.deleteIfExists(log);
      List<String> command = root
          ? List.of("unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
              "mount -n --bind \"$1\" /run && exec \"$2\" -D -e -f \"$3\"", "sh", run.toString(), SSHD.toString(), config.toString())
          : List.of(SSHD.toString(), "-D", "-e", "-f", config.toString());
      Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
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
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        throw new AssertionError("sshd (pid " + process.pid() + ") did not exit after SIGKILL:\n" + logText());
      }
    }
  }
}
